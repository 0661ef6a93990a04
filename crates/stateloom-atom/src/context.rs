//! The handles passed to user functions: [`Getter`] for read functions, [`Setter`] for write
//! functions, and [`SetSelf`] for mount hooks.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use crate::atom::Atom;
use crate::handle::{Readable, Writable};
use crate::registry::{AtomKey, DynWrite};
use crate::scope::inner::ScopeInner;

/// Reads atoms from inside a derived atom's read function, in the scope being evaluated.
///
/// Every atom read through the getter becomes a dependency: the derived atom recomputes when
/// it changes, and while the derived atom is mounted, so is the dependency. Kernel signals
/// and computeds read directly inside a read function are tracked too.
///
/// # Examples
/// ```
/// use stateloom_atom::{atom, derived};
///
/// let first = atom("Ada".to_string());
/// let last = atom("Lovelace".to_string());
/// let full = derived(move |get| format!("{} {}", get.get(first), get.get(last)));
/// let initial = derived(move |get| get.with(first, |name| name.chars().next()));
/// assert_eq!(full.get(), "Ada Lovelace");
/// assert_eq!(initial.get(), Some('A'));
/// ```
pub struct Getter<'a> {
    scope: &'a ScopeInner,
    deps: RefCell<Vec<AtomKey>>,
}

impl<'a> Getter<'a> {
    pub(crate) fn new(scope: &'a ScopeInner) -> Self {
        Self {
            scope,
            deps: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn into_deps(self) -> Vec<AtomKey> {
        self.deps.into_inner()
    }

    /// Returns a clone of `atom`'s value in this scope and records the dependency.
    ///
    /// # Examples
    /// See [`Getter`].
    ///
    /// # Panics
    /// If `atom` was removed from its family, or reading it is a cycle.
    #[track_caller]
    pub fn get<T: Clone + 'static>(&self, atom: impl Readable<T>) -> T {
        self.with(atom, T::clone)
    }

    /// Calls `f` with a reference to `atom`'s value (no clone) and records the dependency.
    ///
    /// # Examples
    /// See [`Getter`].
    ///
    /// # Panics
    /// As [`get`](Self::get).
    #[track_caller]
    pub fn with<T: 'static, R>(&self, atom: impl Readable<T>, f: impl FnOnce(&T) -> R) -> R {
        let key = atom.id().0;
        self.deps.borrow_mut().push(key);
        self.scope.read(key, f)
    }
}

/// Reads and writes atoms from inside a write function or a mount hook, in one scope.
///
/// Everything written through one setter call of [`AtomScope::write`](crate::AtomScope::write)
/// is one batch: subscribers run once, after the write function returns, and see the final
/// values. Reads see the values written so far and are not tracked.
///
/// # Examples
/// ```
/// use stateloom_atom::{atom, write_only_atom};
///
/// let a = atom(1);
/// let b = atom(2);
/// let swap = write_only_atom(move |set, ()| {
///     let (x, y) = (set.get(a), set.get(b));
///     set.set(a, y);
///     set.set(b, x);
/// });
/// swap.write(());
/// assert_eq!((a.get(), b.get()), (2, 1));
/// ```
pub struct Setter<'a> {
    scope: &'a ScopeInner,
}

impl<'a> Setter<'a> {
    pub(crate) fn new(scope: &'a ScopeInner) -> Self {
        Self { scope }
    }

    /// Returns a clone of `atom`'s current value.
    ///
    /// # Examples
    /// See [`Setter`].
    ///
    /// # Panics
    /// If `atom` was removed from its family, or reading it is a cycle.
    #[track_caller]
    pub fn get<T: Clone + 'static>(&self, atom: impl Readable<T>) -> T {
        self.scope.read(atom.id().0, T::clone)
    }

    /// Calls `f` with a reference to `atom`'s current value.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{atom, write_only_atom};
    ///
    /// let names = atom(vec!["Ada".to_string()]);
    /// let count = atom(0);
    /// let recount = write_only_atom(move |set, ()| set.set(count, set.with(names, Vec::len)));
    /// recount.write(());
    /// assert_eq!(count.get(), 1);
    /// ```
    ///
    /// # Panics
    /// As [`get`](Self::get).
    #[track_caller]
    pub fn with<T: 'static, R>(&self, atom: impl Readable<T>, f: impl FnOnce(&T) -> R) -> R {
        self.scope.read(atom.id().0, f)
    }

    /// Sets a base atom's value.
    ///
    /// # Examples
    /// See [`Setter`].
    ///
    /// # Panics
    /// If `atom` was removed from its family.
    #[track_caller]
    pub fn set<T: 'static>(&self, atom: Atom<T>, value: T) {
        self.set_key(atom.key, value);
    }

    /// Changes a base atom's value in place (always counts as a change).
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{atom, write_only_atom};
    ///
    /// let list = atom(vec![1]);
    /// let push = write_only_atom(move |set, item: i32| set.update(list, |l| l.push(item)));
    /// push.write(2);
    /// assert_eq!(list.get(), [1, 2]);
    /// ```
    ///
    /// # Panics
    /// If `atom` was removed from its family.
    #[track_caller]
    pub fn update<T: 'static>(&self, atom: Atom<T>, f: impl FnOnce(&mut T)) {
        self.scope.node_or_panic::<T>(atom.key).signal().update(f);
    }

    /// Writes any writable atom: sets a base atom, or calls a writable atom's write function
    /// (inside the same batch).
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{atom, writable_atom, write_only_atom};
    ///
    /// let celsius = atom(0.0_f64);
    /// let fahrenheit = writable_atom(
    ///     move |get| get.get(celsius) * 9.0 / 5.0 + 32.0,
    ///     move |set, f: f64| set.set(celsius, (f - 32.0) * 5.0 / 9.0),
    /// );
    /// let boil = write_only_atom(move |set, ()| set.write(fahrenheit, 212.0));
    /// boil.write(());
    /// assert_eq!(celsius.get(), 100.0);
    /// ```
    ///
    /// # Panics
    /// If `atom` was removed from its family.
    #[track_caller]
    pub fn write<A, R>(&self, atom: impl Writable<A, R>, arg: A) -> R {
        atom.write_in(self, arg)
    }

    #[track_caller]
    pub(crate) fn set_key<T: 'static>(&self, key: AtomKey, value: T) {
        self.scope.node_or_panic::<T>(key).signal().set(value);
    }
}

/// Writes the atom whose mount hook received it, in the scope where it was mounted.
///
/// It can be kept (in a timer, a callback of an external source) and called later; once the
/// scope is disposed, [`set`](Self::set) does nothing and returns `None`.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomScope, atom};
///
/// let ticks = atom(0).on_mount(|set| {
///     set.set(100); // e.g. start a timer that keeps `set`
///     || ()
/// });
/// let scope = AtomScope::new();
/// let _sub = scope.sub(ticks, |_| {});
/// assert_eq!(scope.get(ticks), 100);
/// ```
pub struct SetSelf<A, R = ()> {
    scope: Weak<ScopeInner>,
    write: Rc<DynWrite<A, R>>,
}

impl<A, R> SetSelf<A, R> {
    pub(crate) fn new(scope: Weak<ScopeInner>, write: Rc<DynWrite<A, R>>) -> Self {
        Self { scope, write }
    }

    /// Writes the atom (as one batch) and returns the write's result, or `None` if the scope
    /// was disposed.
    ///
    /// # Examples
    /// See [`SetSelf`].
    pub fn set(&self, arg: A) -> Option<R> {
        let scope = self.scope.upgrade()?;
        if !scope.is_live() {
            return None;
        }
        Some(scope.write_with(|setter| (self.write)(setter, arg)))
    }
}

impl<A, R> Clone for SetSelf<A, R> {
    fn clone(&self) -> Self {
        Self {
            scope: self.scope.clone(),
            write: self.write.clone(),
        }
    }
}

impl<A, R> std::fmt::Debug for SetSelf<A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetSelf")
            .field(
                "scope_live",
                &self.scope.upgrade().is_some_and(|s| s.is_live()),
            )
            .finish()
    }
}
