//! Batches, untracked sections and cleanups: the functions that shape when work happens.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::runtime::with_runtime;

/// Runs `f` as one batch and returns its value: effects run once, when the outermost batch
/// ends, however many signals `f` writes. Reads inside the batch see the new values,
/// computeds included. A batch whose writes end where they started runs nothing.
///
/// If `f` panics, the effects its writes scheduled still run, then the panic continues.
///
/// # Examples
/// ```
/// use stateloom_core::{batch, effect, signal};
/// use std::{cell::Cell, rc::Rc};
///
/// let a = signal(1);
/// let b = signal(2);
/// let runs = Rc::new(Cell::new(0));
/// let r = runs.clone();
/// effect(move || { a.get(); b.get(); r.set(r.get() + 1); });
/// let sum = batch(|| {
///     a.set(10);
///     b.set(20);
///     a.get() + b.get()
/// });
/// assert_eq!((sum, runs.get()), (30, 2));
/// ```
pub fn batch<R>(f: impl FnOnce() -> R) -> R {
    with_runtime(|rt| {
        rt.batch_depth.set(rt.batch_depth.get() + 1);
        let result = catch_unwind(AssertUnwindSafe(f));
        rt.batch_depth.set(rt.batch_depth.get() - 1);
        match result {
            Ok(value) => {
                rt.flush_if_idle();
                value
            }
            Err(payload) => {
                // The body's panic wins; an effect's panic during this flush is dropped.
                let _ = catch_unwind(AssertUnwindSafe(|| rt.flush_if_idle()));
                resume_unwind(payload)
            }
        }
    })
}

/// Runs `f` without tracking its reads: the enclosing computed or effect does not depend on
/// what `f` reads.
///
/// # Examples
/// ```
/// use stateloom_core::{computed, signal, untrack};
///
/// let a = signal(1);
/// let b = signal(10);
/// let c = computed(move || a.get() + untrack(|| b.get()));
/// assert_eq!(c.get(), 11);
/// b.set(20); // not tracked: `c` keeps its cached value
/// assert_eq!(c.get(), 11);
/// a.set(2);
/// assert_eq!(c.get(), 22);
/// ```
pub fn untrack<R>(f: impl FnOnce() -> R) -> R {
    with_runtime(|rt| rt.untracked(false, f))
}

/// Registers `f` to run when the current owner is cleaned up: before the enclosing effect or
/// computed runs again, or when it or the enclosing [`Root`](crate::Root) is disposed.
/// Cleanups of one owner run newest first, after those of the nodes it owns.
///
/// Returns `false`, and never calls `f`, when there is no owner.
///
/// # Examples
/// ```
/// use stateloom_core::{create_root, on_cleanup};
/// use std::{cell::Cell, rc::Rc};
///
/// let cleaned = Rc::new(Cell::new(false));
/// let c = cleaned.clone();
/// let ((), root) = create_root(move || { on_cleanup(move || c.set(true)); });
/// root.dispose();
/// assert!(cleaned.get());
/// assert!(!on_cleanup(|| {})); // no owner here
/// ```
pub fn on_cleanup(f: impl FnOnce() + 'static) -> bool {
    with_runtime(|rt| rt.on_cleanup(Box::new(f)))
}
