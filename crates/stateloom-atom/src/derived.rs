//! Derived atoms: [`derived`], [`select_atom`] and the read-only [`Derived`] handle.

use std::rc::Rc;

use stateloom_core::{Subscribable, Subscription};

use crate::context::Getter;
use crate::error::Result;
use crate::handle::{Marker, Readable, handle_impls};
use crate::registry::{self, AtomKey, DerivedConfig, Entry};
use crate::scope::with_default;

/// Creates a derived atom: its value is `read` applied to a [`Getter`] that reads other
/// atoms from the scope where the derived atom is used. A recomputed value equal to the
/// previous one (by `PartialEq`) does not notify.
///
/// The read function runs lazily, the first time the value is needed in a scope and again
/// after one of the atoms it read changed; which atoms it reads may change from run to run.
///
/// # Examples
/// ```
/// use stateloom_atom::{atom, derived};
///
/// let count = atom(2);
/// let double = derived(move |get| get.get(count) * 2);
/// assert_eq!(double.get(), 4);
/// count.set(5);
/// assert_eq!(double.get(), 10);
/// ```
pub fn derived<T: PartialEq + 'static>(read: impl Fn(&Getter<'_>) -> T + 'static) -> Derived<T> {
    derived_with_equals(read, T::eq)
}

/// Creates a derived atom that uses `equals` to decide whether a recomputed value changed.
///
/// # Examples
/// ```
/// use stateloom_atom::{atom, derived_with_equals};
///
/// let x = atom(1.0_f64);
/// let rough = derived_with_equals(move |get| get.get(x), |a, b| (a - b).abs() < 0.5);
/// assert_eq!(rough.get(), 1.0);
/// x.set(1.2); // within 0.5: `rough` keeps 1.0
/// assert_eq!(rough.get(), 1.0);
/// ```
pub fn derived_with_equals<T: 'static>(
    read: impl Fn(&Getter<'_>) -> T + 'static,
    equals: fn(&T, &T) -> bool,
) -> Derived<T> {
    let key = registry::register(|_| Entry::new(Rc::new(DerivedConfig { read, equals })));
    Derived::from_key(key)
}

/// Creates a derived atom holding a slice of `source`'s value, as chosen by `selector`.
/// Subscribers of the slice are only notified when `equals` says the slice changed, however
/// often the source changes.
///
/// `selector` sees the source's value by reference, so large values are not cloned.
///
/// # Examples
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use stateloom_atom::{atom, select_atom};
///
/// #[derive(Clone, PartialEq)]
/// struct User { name: String, visits: u32 }
///
/// let user = atom(User { name: "Ada".into(), visits: 0 });
/// let name = select_atom(user, |u: &User| u.name.clone(), |a, b| a == b);
/// let renames = Rc::new(Cell::new(0));
/// let r = renames.clone();
/// let _sub = name.subscribe(move |_| r.set(r.get() + 1));
/// user.update(|u| u.visits += 1); // the name did not change
/// user.update(|u| u.name = "Grace".into());
/// assert_eq!(renames.get(), 1);
/// ```
pub fn select_atom<T: 'static, U: 'static>(
    source: impl Readable<T>,
    selector: impl Fn(&T) -> U + 'static,
    equals: fn(&U, &U) -> bool,
) -> Derived<U> {
    derived_with_equals(move |get| get.with(source, &selector), equals)
}

/// A read-only atom whose value is derived from other atoms.
///
/// `Copy`, `Eq` and `Hash`, not `Send`. The methods here use this thread's
/// [default scope](crate::default_scope).
///
/// # Examples
/// ```
/// use stateloom_atom::{Derived, atom, derived};
///
/// let items = atom(vec![3, 1, 2]);
/// let total: Derived<i32> = derived(move |get| get.with(items, |v| v.iter().sum()));
/// assert_eq!(total.get(), 6);
/// ```
pub struct Derived<T> {
    pub(crate) key: AtomKey,
    _marker: Marker<T>,
}

handle_impls!(Derived<T>);

impl<T: 'static> Readable<T> for Derived<T> {}

impl<T: 'static> Derived<T> {
    pub(crate) fn from_key(key: AtomKey) -> Self {
        Self {
            key,
            _marker: std::marker::PhantomData,
        }
    }

    /// Calls `f` with a reference to the up-to-date value in the default scope, tracked.
    ///
    /// # Examples
    /// ```
    /// let n = stateloom_atom::atom(3);
    /// let zeros = stateloom_atom::derived(move |get| vec![0; get.get(n)]);
    /// assert_eq!(zeros.with(|v| v.len()), 3);
    /// ```
    ///
    /// # Panics
    /// If the atom was removed from its family and is not mounted in the default scope, or
    /// it reads itself.
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        with_default(|s| s.with(*self, f))
    }

    /// Calls `callback` with each new value in the default scope (not the current one).
    ///
    /// # Examples
    /// See [`select_atom`].
    ///
    /// # Panics
    /// As [`AtomScope::sub`](crate::AtomScope::sub).
    #[track_caller]
    pub fn subscribe(&self, callback: impl FnMut(&T) + 'static) -> Subscription {
        with_default(|s| s.sub(*self, callback))
    }
}

impl<T: Clone + 'static> Derived<T> {
    /// Returns a clone of the up-to-date value in the default scope, tracked.
    ///
    /// # Examples
    /// See [`derived`].
    ///
    /// # Panics
    /// If the atom was removed from its family and is not mounted in the default scope, or
    /// it reads itself.
    #[track_caller]
    pub fn get(&self) -> T {
        with_default(|s| s.get(*self))
    }

    /// Returns a clone of the up-to-date value in the default scope, or an error.
    ///
    /// # Examples
    /// ```
    /// let d = stateloom_atom::derived(|_| 2);
    /// assert_eq!(d.try_get(), Ok(2));
    /// ```
    ///
    /// # Errors
    /// [`Error::Removed`](crate::Error::Removed) for a removed atom,
    /// [`Error::Core`](crate::Error::Core) with a cycle if it reads itself.
    pub fn try_get(&self) -> Result<T> {
        with_default(|s| s.try_get(*self))
    }
}

impl<T: Clone + 'static> Subscribable<T> for Derived<T> {
    fn get(&self) -> T {
        Derived::get(self)
    }

    fn subscribe(&self, callback: Box<dyn FnMut(&T)>) -> Subscription {
        Derived::subscribe(self, callback)
    }
}
