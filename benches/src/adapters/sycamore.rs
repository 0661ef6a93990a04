//! `sycamore`: `sycamore-reactive` 0.9.4, the reactive core of the Sycamore UI library.

use sycamore_reactive::{NodeHandle, ReadSignal, RootHandle, Signal};

use crate::framework::{Framework, Value};

thread_local! {
    /// One reactive root per thread, as a Sycamore app has one: `create_root` leaks its root by
    /// design, so each bench root is a child scope of this one instead of a new leaked root.
    static ROOT: RootHandle = sycamore_reactive::create_root(|| {});
}

/// The `sycamore` library (`sycamore-reactive` 0.9.4).
///
/// A bench root is a child scope (`create_child_scope`) of one per-thread root and is disposed
/// with `NodeHandle::dispose`. Computeds are `create_selector` memos, which compare with
/// `PartialEq` like every other library here (`create_memo` would never cut off). Sycamore
/// memos and effects are eager and run synchronously at the end of the batch; signal writes
/// always propagate (Sycamore has no equality check on `set`).
///
/// # Examples
/// ```
/// use stateloom_benches::{Framework, adapters::Sycamore};
///
/// let (s, root) = Sycamore::root(|| Sycamore::signal(1_i64));
/// assert_eq!(Sycamore::get(&s), 1);
/// Sycamore::dispose(root);
/// ```
#[derive(Debug)]
pub enum Sycamore {}

impl Framework for Sycamore {
    const NAME: &'static str = "sycamore";
    // Memos recompute when a dependency changes, read or not.
    const LAZY: bool = false;
    type Signal<T: Value> = Signal<T>;
    type Computed<T: Value> = ReadSignal<T>;
    type Root = NodeHandle;

    #[inline]
    fn signal<T: Value>(value: T) -> Self::Signal<T> {
        sycamore_reactive::create_signal(value)
    }

    #[inline]
    fn get<T: Value>(signal: &Self::Signal<T>) -> T {
        signal.get_clone()
    }

    #[inline]
    fn set<T: Value>(signal: &Self::Signal<T>, value: T) {
        signal.set(value);
    }

    #[inline]
    fn computed<T: Value>(f: impl Fn() -> T + 'static) -> Self::Computed<T> {
        sycamore_reactive::create_selector(f)
    }

    #[inline]
    fn read<T: Value>(computed: &Self::Computed<T>) -> T {
        computed.get_clone()
    }

    #[inline]
    fn with<T: Value, R>(computed: &Self::Computed<T>, f: impl FnOnce(&T) -> R) -> R {
        computed.with(f)
    }

    #[inline]
    fn effect(f: impl Fn() + 'static) {
        sycamore_reactive::create_effect(f);
    }

    #[inline]
    fn batch(f: impl FnOnce()) {
        // `batch` looks up the thread's current root, which is only set inside `run_in`.
        ROOT.with(|root| root.run_in(|| sycamore_reactive::batch(f)));
    }

    fn root<R: 'static>(f: impl FnOnce() -> R + 'static) -> (R, Self::Root) {
        ROOT.with(|root| {
            root.run_in(|| {
                let mut out = None;
                let scope = sycamore_reactive::create_child_scope(|| out = Some(f()));
                (out.expect("the scope ran its closure"), scope)
            })
        })
    }

    fn dispose(root: Self::Root) {
        root.dispose();
    }
}
