//! `stateloom`: StateLoom's own kernel, `stateloom-core`, through its public API only.

use crate::framework::{Framework, Value};

/// The `stateloom` library (`stateloom-core`).
///
/// Roots are [`stateloom_core::create_root`] roots; reads use `get`/`with`, writes `set`, and
/// batches [`stateloom_core::batch`]. Effects run synchronously, so nothing needs flushing.
///
/// # Examples
/// ```
/// use stateloom_benches::{Framework, adapters::Stateloom};
///
/// let (s, root) = Stateloom::root(|| Stateloom::signal(1_i64));
/// assert_eq!(Stateloom::get(&s), 1);
/// Stateloom::dispose(root);
/// ```
#[derive(Debug)]
pub enum Stateloom {}

impl Framework for Stateloom {
    const NAME: &'static str = "stateloom";
    type Signal<T: Value> = stateloom_core::Signal<T>;
    type Computed<T: Value> = stateloom_core::Computed<T>;
    type Root = stateloom_core::Root;

    #[inline]
    fn signal<T: Value>(value: T) -> Self::Signal<T> {
        stateloom_core::signal(value)
    }

    #[inline]
    fn get<T: Value>(signal: &Self::Signal<T>) -> T {
        signal.get()
    }

    #[inline]
    fn set<T: Value>(signal: &Self::Signal<T>, value: T) {
        signal.set(value);
    }

    #[inline]
    fn computed<T: Value>(f: impl Fn() -> T + 'static) -> Self::Computed<T> {
        stateloom_core::computed(f)
    }

    #[inline]
    fn read<T: Value>(computed: &Self::Computed<T>) -> T {
        computed.get()
    }

    #[inline]
    fn with<T: Value, R>(computed: &Self::Computed<T>, f: impl FnOnce(&T) -> R) -> R {
        computed.with(f)
    }

    #[inline]
    fn effect(f: impl Fn() + 'static) {
        // The root owns the effect; the handle is only needed to dispose it early.
        let _ = stateloom_core::effect(f);
    }

    #[inline]
    fn batch(f: impl FnOnce()) {
        stateloom_core::batch(f);
    }

    fn root<R: 'static>(f: impl FnOnce() -> R + 'static) -> (R, Self::Root) {
        stateloom_core::create_root(f)
    }

    fn dispose(root: Self::Root) {
        root.dispose();
    }
}
