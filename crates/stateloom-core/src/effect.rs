//! Effects: consumers that run a side effect now and again whenever what they read changes.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::panic::Location;

use crate::graph::{Flags, NodeKind, NodeOps, Payload};
use crate::runtime::{NodeRef, try_with_runtime, with_runtime};

/// Creates an effect: runs `f` once now, tracking what it reads, and again after any of it
/// changes, at the end of the batch that changed it.
///
/// Within one flush effects run in creation order, each at most once. An effect owns the
/// nodes its run creates; they are disposed before it runs again. Register cleanups with
/// [`on_cleanup`](crate::on_cleanup): they run before the next run and on disposal.
///
/// # Examples
/// ```
/// use stateloom_core::{effect, on_cleanup, signal};
/// use std::{cell::RefCell, rc::Rc};
///
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let count = signal(0);
/// let l = log.clone();
/// let e = effect(move || {
///     let n = count.get();
///     l.borrow_mut().push(format!("run {n}"));
///     let l = l.clone();
///     on_cleanup(move || l.borrow_mut().push(format!("cleanup {n}")));
/// });
/// count.set(1);
/// e.dispose();
/// assert_eq!(*log.borrow(), ["run 0", "cleanup 0", "run 1", "cleanup 1"]);
/// ```
#[track_caller]
pub fn effect(f: impl FnMut() + 'static) -> Effect {
    create_effect(f, Flags::DIRTY, Location::caller())
}

/// Creates the effect of a subscription: `f` reads one source, tracked, and hands the value
/// to a callback, untracked. Such an effect may run without tracking once its first run has
/// linked it to the source (see `Runtime::run_watcher`), and a committed write to a signal it
/// is the only subscriber of calls it directly (see `Runtime::signal_changed`).
///
/// `f` must read the same single source on every run, and nothing else tracked.
pub(crate) fn watch_effect(
    f: impl FnMut() + 'static,
    location: &'static Location<'static>,
) -> Effect {
    create_effect(f, Flags::DIRTY | Flags::WATCH, location)
}

fn create_effect(
    f: impl FnMut() + 'static,
    flags: Flags,
    location: &'static Location<'static>,
) -> Effect {
    let data = EffectData { f: RefCell::new(f) };
    with_runtime(|rt| {
        let payload = Payload::new(&rt.blocks, data);
        let node = rt.create(NodeKind::Effect, flags, payload, location);
        rt.run_consumer(node.index);
        rt.flush_if_idle();
        Effect { node }
    })
}

/// A handle to an effect, used to dispose it.
///
/// # Examples
/// ```
/// use stateloom_core::{effect, signal};
/// use std::{cell::Cell, rc::Rc};
///
/// let s = signal(0);
/// let runs = Rc::new(Cell::new(0));
/// let r = runs.clone();
/// let e = effect(move || { s.get(); r.set(r.get() + 1); });
/// e.dispose();
/// s.set(1);
/// assert_eq!(runs.get(), 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Effect {
    pub(crate) node: NodeRef,
}

struct EffectData<F> {
    f: RefCell<F>,
}

impl<F: FnMut() + 'static> NodeOps for EffectData<F> {
    fn value(&self) -> &dyn Any {
        &()
    }

    fn update(&self) -> bool {
        let mut f = self
            .f
            .try_borrow_mut()
            .expect("an effect never runs inside its own run");
        f();
        false
    }
}

impl Effect {
    /// Disposes the effect: its cleanups run, what it created is disposed, and it never runs
    /// again. Idempotent. An effect that disposes itself while running stops after that run.
    ///
    /// # Examples
    /// ```
    /// let e = stateloom_core::effect(|| {});
    /// e.dispose();
    /// e.dispose();
    /// assert!(!e.is_alive());
    /// ```
    pub fn dispose(self) {
        try_with_runtime(|rt| rt.dispose(self.node));
    }

    /// Whether the effect has not been disposed.
    ///
    /// # Examples
    /// ```
    /// assert!(stateloom_core::effect(|| {}).is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        with_runtime(|rt| rt.is_live(self.node))
    }
}

impl fmt::Debug for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Effect({:?}, {})", self.node, self.node.origin())
    }
}
