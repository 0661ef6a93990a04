//! The one contract every readable value implements, and subscriptions.

use std::fmt;

use crate::effect::{Effect, watch_effect};
use crate::runtime::with_runtime;

/// A value that can be read (tracked, inside computeds and effects) and subscribed to.
///
/// Signals and computeds implement it here; atoms, store selectors, worker mirrors and async
/// results implement it in their crates, so adapters can be written once against this trait.
/// The trait is object safe.
///
/// # Examples
/// ```
/// use stateloom_core::{Subscribable, computed, signal};
///
/// fn describe(source: &dyn Subscribable<i32>) -> String {
///     format!("value is {}", source.get())
/// }
/// let s = signal(2);
/// let double = computed(move || s.get() * 2);
/// assert_eq!(describe(&s), "value is 2");
/// assert_eq!(describe(&double), "value is 4");
/// ```
pub trait Subscribable<T> {
    /// The current value, tracked by the enclosing computed or effect.
    fn get(&self) -> T;

    /// Calls `callback` with each new value after it changes; not with the current value.
    fn subscribe(&self, callback: Box<dyn FnMut(&T)>) -> Subscription;
}

/// A subscription made with `subscribe`. Call [`unsubscribe`](Subscription::unsubscribe) to
/// stop it; dropping it keeps it running until its owner (the enclosing root, effect or
/// computed) is disposed.
///
/// # Examples
/// ```
/// let s = stateloom_core::signal(0);
/// let sub = s.subscribe(|_| {});
/// assert!(sub.is_active());
/// sub.unsubscribe();
/// ```
#[must_use = "a subscription runs until `unsubscribe` or until its owner is disposed"]
pub struct Subscription {
    effect: Effect,
}

impl Subscription {
    /// Stops the subscription. The callback is not called again.
    pub fn unsubscribe(self) {
        self.effect.dispose();
    }

    /// Whether the subscription is still running.
    pub fn is_active(&self) -> bool {
        self.effect.is_alive()
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("effect", &self.effect)
            .finish()
    }
}

/// Subscribes `callback` to the value read by `read`: an effect that reads (tracked) and calls
/// the callback, untracked, on every run but the first.
#[track_caller]
pub(crate) fn subscribe_to<T: ?Sized + 'static>(
    read: impl Fn(&mut dyn FnMut(&T)) + 'static,
    mut callback: impl FnMut(&T) + 'static,
) -> Subscription {
    let mut first = true;
    let effect = watch_effect(
        move || {
            read(&mut |value| {
                if first {
                    first = false;
                } else {
                    with_runtime(|rt| rt.notify_untracked(|| callback(value)));
                }
            })
        },
        std::panic::Location::caller(),
    );
    Subscription { effect }
}
