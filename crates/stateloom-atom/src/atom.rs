//! Base atoms: [`atom`] and the [`Atom`] handle, a value that can be read and set.

use std::rc::Rc;

use stateloom_core::{Subscribable, Subscription};

use crate::context::{MountContext, Setter};
use crate::error::Result;
use crate::handle::{Marker, Readable, Writable, handle_impls};
use crate::lifecycle;
use crate::registry::{self, AtomKey, BaseConfig, Entry, MountFn};
use crate::scope::{default_signal, default_take_pending, with_default};

/// Creates a base atom with an initial value. Setting an equal value (by `PartialEq`) is
/// not a change.
///
/// The atom holds no state: each [`AtomScope`](crate::AtomScope) starts it at a clone of
/// `init` the first time it is used there.
///
/// # Examples
/// ```
/// use stateloom_atom::atom;
///
/// let count = atom(0);
/// count.set(1);
/// count.update(|n| *n += 1);
/// assert_eq!(count.get(), 2);
/// ```
pub fn atom<T: Clone + PartialEq + 'static>(init: T) -> Atom<T> {
    let key = registry::register(|_| Entry::new(Rc::new(BaseConfig::partial_eq(init))));
    Atom::from_key(key)
}

/// Creates a base atom that uses `equals` to decide whether a write changes its value.
///
/// # Examples
/// ```
/// use stateloom_atom::atom_with_equals;
///
/// // Every write notifies, even of an equal value.
/// let ping = atom_with_equals((), |_, _| false);
/// ping.set(());
/// ```
pub fn atom_with_equals<T: Clone + 'static>(init: T, equals: fn(&T, &T) -> bool) -> Atom<T> {
    let key = registry::register(|_| Entry::new(Rc::new(BaseConfig::with_equals(init, equals))));
    Atom::from_key(key)
}

/// A base atom: a handle to a value that lives in each scope, readable and settable.
///
/// `Copy`, `Eq` and `Hash` (by identity), and not `Send`: atoms belong to the thread that
/// created them. The methods here use this thread's [default scope](crate::default_scope);
/// [`AtomScope`](crate::AtomScope) has the same methods for an explicit scope.
///
/// # Examples
/// ```
/// use stateloom_atom::{Atom, atom};
///
/// let name: Atom<String> = atom("Ada".to_string());
/// name.set("Grace".into());
/// assert_eq!(name.get(), "Grace");
/// ```
pub struct Atom<T> {
    pub(crate) key: AtomKey,
    _marker: Marker<T>,
}

handle_impls!(Atom<T>);

impl<T: 'static> Readable<T> for Atom<T> {
    const STORED: bool = true;
}

impl<T: 'static> Writable<T> for Atom<T> {
    fn write_in(self, setter: &Setter<'_>, arg: T) {
        setter.set(self, arg);
    }
}

impl<T: 'static> Atom<T> {
    pub(crate) fn from_key(key: AtomKey) -> Self {
        Self {
            key,
            _marker: std::marker::PhantomData,
        }
    }

    /// Calls `f` with a reference to the value in the default scope (no clone), tracked.
    ///
    /// # Examples
    /// ```
    /// let names = stateloom_atom::atom(vec!["Ada"]);
    /// assert_eq!(names.with(|n| n.len()), 1);
    /// ```
    ///
    /// # Panics
    /// If the atom was removed from its family and is not mounted in the default scope.
    #[inline(always)]
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        match default_signal::<T>(self.key) {
            // What `AtomScope::with` does, without a reference count on the scope.
            Some(signal) => {
                let result = signal.with(f);
                if default_take_pending() {
                    lifecycle::drain();
                }
                result
            }
            None => self.with_slow(f),
        }
    }

    /// [`with`](Self::with) when the default scope has no node for the atom yet (or does
    /// not exist yet). Out of line, so the fast path keeps its values in registers.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn with_slow<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        with_default(|s| s.with(*self, f))
    }

    /// Sets the value in the default scope.
    ///
    /// # Examples
    /// See [`Atom`].
    ///
    /// # Panics
    /// If the atom was removed from its family and is not mounted in the default scope.
    #[inline(always)]
    #[track_caller]
    pub fn set(&self, value: T) {
        match default_signal::<T>(self.key) {
            // What `AtomScope::set` does, without a reference count on the scope.
            Some(signal) => {
                signal.set(value);
                lifecycle::drain();
            }
            None => self.set_slow(value),
        }
    }

    /// [`set`](Self::set) when the default scope has no node for the atom yet.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn set_slow(&self, value: T) {
        with_default(|s| s.set(*self, value));
    }

    /// Changes the value in the default scope in place (always counts as a change).
    ///
    /// # Examples
    /// See [`atom`].
    ///
    /// # Panics
    /// If the atom was removed from its family and is not mounted in the default scope.
    #[track_caller]
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        with_default(|s| s.update(*self, f));
    }

    /// Calls `callback` with each new value in the default scope (not the current one).
    ///
    /// # Examples
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let n = stateloom_atom::atom(0);
    /// let last = Rc::new(Cell::new(0));
    /// let l = last.clone();
    /// let sub = n.subscribe(move |v| l.set(*v));
    /// n.set(7);
    /// assert_eq!(last.get(), 7);
    /// sub.unsubscribe();
    /// ```
    ///
    /// # Panics
    /// As [`AtomScope::sub`](crate::AtomScope::sub).
    #[track_caller]
    pub fn subscribe(&self, callback: impl FnMut(&T) + 'static) -> Subscription {
        with_default(|s| s.sub(*self, callback))
    }

    /// Sets the atom's mount hook and returns the atom, for chaining after [`atom`].
    ///
    /// In each scope, `hook` runs when the atom becomes mounted (its first subscriber
    /// arrives, or a mounted atom starts depending on it) with a [`MountContext`] bound to
    /// that scope: it sets the atom (by value or from its current value), reads, writes and
    /// subscribes to other atoms there, and may be kept. The cleanup `hook` returns runs when
    /// the atom is unmounted there (the last subscriber leaves, or the scope is disposed);
    /// capture a clone of the context to write from it. Set the hook before the atom is first
    /// used: scopes that already hold it keep the previous one.
    ///
    /// Hooks run after the subscription, write or read that mounted the atom, never inside a
    /// read function. The hooks and cleanups one operation sets off run in one batch, so
    /// subscribers see what they wrote together, once.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use stateloom_atom::{AtomScope, atom};
    ///
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// let (l1, l2) = (log.clone(), log.clone());
    /// let clock = atom(0).on_mount(move |ctx| {
    ///     l1.borrow_mut().push("start");
    ///     ctx.set(1);
    ///     let l2 = l2.clone();
    ///     move || l2.borrow_mut().push("stop")
    /// });
    /// let scope = AtomScope::new();
    /// let sub = scope.sub(clock, |_| {});
    /// assert_eq!(scope.get(clock), 1);
    /// sub.unsubscribe();
    /// assert_eq!(*log.borrow(), ["start", "stop"]);
    /// ```
    pub fn on_mount<C: FnOnce() + 'static>(
        self,
        hook: impl Fn(&MountContext<T>) -> C + 'static,
    ) -> Self {
        let atom = self;
        let mount: MountFn = Rc::new(move |scope| {
            let ctx = MountContext::new(
                scope,
                atom.key,
                Rc::new(move |setter: &Setter<'_>, value: T| setter.set(atom, value)),
            );
            Box::new(hook(&ctx))
        });
        registry::set_on_mount(self.key, mount);
        self
    }
}

impl<T: Clone + 'static> Atom<T> {
    /// Returns a clone of the value in the default scope, tracked.
    ///
    /// # Examples
    /// See [`Atom`].
    ///
    /// # Panics
    /// If the atom was removed from its family and is not mounted in the default scope
    /// ([`try_get`](Self::try_get) returns an error).
    #[inline(always)]
    #[track_caller]
    pub fn get(&self) -> T {
        self.with(T::clone)
    }

    /// Returns a clone of the value in the default scope, or an error.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stateloom_atom::atom(1).try_get(), Ok(1));
    /// ```
    ///
    /// # Errors
    /// [`Error::Removed`](crate::Error::Removed) if the atom was removed from its family and
    /// is not mounted in the default scope.
    pub fn try_get(&self) -> Result<T> {
        with_default(|s| s.try_get(*self))
    }
}

impl<T: Clone + 'static> Subscribable<T> for Atom<T> {
    fn get(&self) -> T {
        Atom::get(self)
    }

    fn subscribe(&self, callback: Box<dyn FnMut(&T)>) -> Subscription {
        Atom::subscribe(self, callback)
    }
}
