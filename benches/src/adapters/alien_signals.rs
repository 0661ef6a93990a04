//! `alien_signals`: the `alien-signals` crate (0.1.4), a Rust port of stackblitz/alien-signals.
//!
//! Its nodes live in a process-global arena that only ever grows: disposing an effect scope
//! unlinks the effects in it (so they stop running and stop holding their sources), but no
//! signal, computed, effect or link is ever freed or reused. Repeated build/dispose rounds
//! (cellx, the creation groups) therefore keep allocating fresh memory, and the memory bench
//! reports what stays behind as `leaked_per_item`.
//!
//! The global arena also means the library must only be used from one thread at a time; the
//! benches and the memory bench never use it from two threads at once.

use std::cell::RefCell;
use std::rc::Rc;

use crate::framework::{Framework, Value};

/// The `alien_signals` library (`alien-signals` 0.1.4).
///
/// A root is an [`alien_signals::EffectScope`]: effects created inside it are linked to it and
/// disposing it stops them. Batches are `start_batch`/`end_batch`; effects run synchronously
/// at the end of the outermost batch. The library has no borrowing read, so
/// [`Framework::with`] clones the value (the workloads only store cheap-to-clone values).
///
/// # Examples
/// ```
/// use stateloom_benches::{Framework, adapters::AlienSignals};
///
/// let (s, root) = AlienSignals::root(|| AlienSignals::signal(1_i64));
/// assert_eq!(AlienSignals::get(&s), 1);
/// AlienSignals::dispose(root);
/// ```
#[derive(Debug)]
pub enum AlienSignals {}

impl Framework for AlienSignals {
    const NAME: &'static str = "alien_signals";
    type Signal<T: Value> = alien_signals::Signal<T>;
    type Computed<T: Value> = alien_signals::Computed<T>;
    type Root = alien_signals::EffectScope;

    #[inline]
    fn signal<T: Value>(value: T) -> Self::Signal<T> {
        alien_signals::signal(value)
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
        alien_signals::computed(move |_previous: Option<&T>| f())
    }

    #[inline]
    fn read<T: Value>(computed: &Self::Computed<T>) -> T {
        computed.get()
    }

    #[inline]
    fn with<T: Value, R>(computed: &Self::Computed<T>, f: impl FnOnce(&T) -> R) -> R {
        f(&computed.get())
    }

    #[inline]
    fn effect(f: impl Fn() + 'static) {
        // Dropping the handle does not stop the effect: the enclosing scope owns it.
        drop(alien_signals::effect(f));
    }

    #[inline]
    fn batch(f: impl FnOnce()) {
        alien_signals::start_batch();
        f();
        alien_signals::end_batch();
    }

    fn root<R: 'static>(f: impl FnOnce() -> R + 'static) -> (R, Self::Root) {
        // `effect_scope` takes a `FnOnce() + 'static` without a return value.
        let out = Rc::new(RefCell::new(None));
        let slot = Rc::clone(&out);
        let scope = alien_signals::effect_scope(move || *slot.borrow_mut() = Some(f()));
        let value = out.borrow_mut().take().expect("the scope ran its closure");
        (value, scope)
    }

    fn dispose(root: Self::Root) {
        root.dispose();
    }
}
