//! egui repaints when reactive values change (feature `egui`).
//!
//! egui redraws when something asks it to. A UI that reads StateLoom values redraws when
//! input arrives, but a value changed by something else (a timer, a worker, the network)
//! would show only at the next input. [`repaint_on_change`](crate::egui::repaint_on_change) asks egui to repaint whenever a
//! value changes, whoever changed it.

use stateloom_core::{Subscribable, Subscription};

/// Asks `ctx` to repaint whenever `source` changes: a signal, a computed, an atom's value,
/// a store selector, a worker mirror, anything [`Subscribable`].
///
/// Subscribe each value the UI shows once, when the UI is built, not in every frame. The
/// returned subscription stops with [`Subscription::unsubscribe`] or when its owner (the
/// enclosing root) is disposed. A batch of writes asks for one repaint; writing an equal
/// value asks for none.
///
/// # Examples
/// ```
/// use stateloom::core::signal;
/// use stateloom::egui::repaint_on_change;
///
/// let ctx = egui::Context::default();
/// let count = signal(0);
/// let _repaint = repaint_on_change(&ctx, &count);
///
/// let frame = |ctx: &egui::Context| {
///     ctx.run(egui::RawInput::default(), |ctx| {
///         egui::CentralPanel::default().show(ctx, |ui| ui.label(format!("count: {}", count.get())));
///     })
/// };
/// frame(&ctx);
/// frame(&ctx); // egui settles: nothing asks for another frame
/// assert!(!ctx.has_requested_repaint());
///
/// count.set(1); // from a timer, a worker, another thread's message...
/// assert!(ctx.has_requested_repaint());
/// ```
pub fn repaint_on_change<T: 'static>(
    ctx: &egui::Context,
    source: &(impl Subscribable<T> + ?Sized),
) -> Subscription {
    let ctx = ctx.clone();
    source.subscribe(Box::new(move |_: &T| ctx.request_repaint()))
}
