//! The handles passed to user functions: [`Getter`] for read functions, [`Setter`] for write
//! functions, and [`MountContext`] for mount hooks.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use stateloom_core::Subscription;

use crate::atom::Atom;
use crate::handle::{Marker, Readable, Writable};
use crate::registry::{AtomKey, DynWrite};
use crate::scope::AtomScope;
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

    /// The scope being evaluated, for work that must reach it later (keep it as a
    /// [`WeakAtomScope`](crate::WeakAtomScope) so it does not keep the scope alive).
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, derived_with_equals};
    ///
    /// let which = derived_with_equals(|get| get.scope(), |a, b| a == b);
    /// let scope = AtomScope::new();
    /// assert_eq!(scope.get(which), scope);
    /// ```
    pub fn scope(&self) -> AtomScope {
        AtomScope::from_inner(self.scope.rc())
    }

    /// Returns a clone of `atom`'s value in this scope and records the dependency.
    ///
    /// # Examples
    /// See [`Getter`].
    ///
    /// # Panics
    /// If `atom` was removed from its family and is not mounted in the scope, or reading it
    /// is a cycle.
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

/// Reads and writes atoms from inside a write function, in one scope.
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

    /// The scope being written, for work that must reach it later (keep it as a
    /// [`WeakAtomScope`](crate::WeakAtomScope) so it does not keep the scope alive).
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom, write_only_atom};
    ///
    /// let log = atom(Vec::<bool>::new());
    /// let check = write_only_atom(move |set, expected: AtomScope| {
    ///     set.update(log, |l| l.push(set.scope() == expected));
    /// });
    /// let scope = AtomScope::new();
    /// scope.write(check, scope.clone());
    /// assert_eq!(scope.get(log), [true]);
    /// ```
    pub fn scope(&self) -> AtomScope {
        AtomScope::from_inner(self.scope.rc())
    }

    /// Returns a clone of `atom`'s current value.
    ///
    /// # Examples
    /// See [`Setter`].
    ///
    /// # Panics
    /// If `atom` was removed from its family and is not mounted in the scope, or reading it
    /// is a cycle.
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
    /// If `atom` was removed from its family and is not mounted in the scope.
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
    /// If `atom` was removed from its family and is not mounted in the scope.
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
    /// If `atom` was removed from its family and is not mounted in the scope.
    #[track_caller]
    pub fn write<A, R>(&self, atom: impl Writable<A, R>, arg: A) -> R {
        atom.write_in(self, arg)
    }

    /// The scope this setter writes.
    pub(crate) fn inner(&self) -> &ScopeInner {
        self.scope
    }

    #[track_caller]
    pub(crate) fn set_key<T: 'static>(&self, key: AtomKey, value: T) {
        self.scope.node_or_panic::<T>(key).signal().set(value);
    }
}

/// What a mount hook gets: its atom's scope, to read any atom, write any writable atom and
/// subscribe there, and its own atom, to write (Jotai's `setAtom`).
///
/// A context is bound to the scope where the atom was mounted: a hook mounted in two scopes
/// runs once in each, with a context for each. It can be cloned and kept (by a timer, a
/// callback of an external source, the cleanup the hook returns) and used later. Once the
/// scope is disposed, or while it is being disposed (its cleanups run then), every method
/// does nothing and returns `None`.
///
/// For a base atom the context is a `MountContext<T>`: [`set`](Self::set) takes a value. For
/// a [`WritableAtom<T, A, R>`](crate::WritableAtom) it is a `MountContext<T, A, R>`: `set`
/// calls the write function with an argument `A` and returns its `R`.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomScope, atom};
///
/// let mounted = atom(false);
/// let polls = atom(0);
/// let feed = atom(Vec::<String>::new()).on_mount(move |ctx| {
///     ctx.write(mounted, true); // a sibling atom
///     ctx.set_with(|items| [items.clone(), vec!["hello".to_string()]].concat()); // updater
///     let watch = ctx.sub(polls, |n| assert!(*n > 0)); // subscribe in the same scope
///     let ctx = ctx.clone();
///     move || {
///         if let Some(watch) = watch {
///             watch.unsubscribe();
///         }
///         ctx.write(mounted, false);
///     }
/// });
/// let scope = AtomScope::new();
/// let sub = scope.sub(feed, |_| {});
/// assert!(scope.get(mounted));
/// assert_eq!(scope.get(feed), ["hello"]);
/// assert!(scope.is_mounted(polls));
/// sub.unsubscribe();
/// assert!(!scope.get(mounted) && !scope.is_mounted(polls));
/// ```
pub struct MountContext<T, A = T, R = ()> {
    scope: Weak<ScopeInner>,
    key: AtomKey,
    write: Rc<DynWrite<A, R>>,
    _marker: Marker<T>,
}

impl<T: 'static, A, R> MountContext<T, A, R> {
    pub(crate) fn new(scope: Weak<ScopeInner>, key: AtomKey, write: Rc<DynWrite<A, R>>) -> Self {
        Self {
            scope,
            key,
            write,
            _marker: std::marker::PhantomData,
        }
    }

    /// The scope the atom was mounted in, while it is live: everything an [`AtomScope`] does
    /// ([`bind`](AtomScope::bind), [`update`](AtomScope::update), ...).
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom};
    ///
    /// let list = atom(vec![1]);
    /// let watched = atom(0).on_mount(move |ctx| {
    ///     if let Some(scope) = ctx.scope() {
    ///         scope.update(list, |l| l.push(2));
    ///     }
    ///     || ()
    /// });
    /// let scope = AtomScope::new();
    /// let _sub = scope.sub(watched, |_| {});
    /// assert_eq!(scope.get(list), [1, 2]);
    /// ```
    pub fn scope(&self) -> Option<AtomScope> {
        let scope = self.scope.upgrade()?;
        scope.is_live().then(|| AtomScope::from_inner(scope))
    }

    /// Writes the hook's own atom (as one batch) and returns the write's result: sets a base
    /// atom to `arg`, or calls a writable atom's write function with it.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom};
    ///
    /// let ticks = atom(0).on_mount(|ctx| {
    ///     ctx.set(100); // e.g. start a timer that keeps a clone of `ctx`
    ///     || ()
    /// });
    /// let scope = AtomScope::new();
    /// let _sub = scope.sub(ticks, |_| {});
    /// assert_eq!(scope.get(ticks), 100);
    /// ```
    pub fn set(&self, arg: A) -> Option<R> {
        let scope = self.scope()?;
        Some(scope.inner().write_with(|setter| (self.write)(setter, arg)))
    }

    /// Writes the hook's own atom with what `f` makes of its current value (Jotai's
    /// `setAtom(prev => next)`), as one batch.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom, atom_with_reducer};
    ///
    /// let visits = atom(0).on_mount(|ctx| {
    ///     ctx.set_with(|n| n + 1);
    ///     || ()
    /// });
    /// // A reducer atom's value is its state and its argument an action.
    /// let total = atom_with_reducer(10, |sum: &i32, add: i32| sum + add).on_mount(|ctx| {
    ///     ctx.set_with(|sum| *sum); // doubles it
    ///     || ()
    /// });
    /// let scope = AtomScope::new();
    /// let _a = scope.sub(visits, |_| {});
    /// let _b = scope.sub(total, |_| {});
    /// assert_eq!((scope.get(visits), scope.get(total)), (1, 20));
    /// ```
    ///
    /// # Panics
    /// If reading the atom panics (a derived read side that panics or reads itself).
    #[track_caller]
    pub fn set_with(&self, f: impl FnOnce(&T) -> A) -> Option<R> {
        let scope = self.scope()?;
        let key = self.key;
        Some(scope.inner().write_with(|setter| {
            let arg = setter.inner().read(key, f);
            (self.write)(setter, arg)
        }))
    }

    /// Returns a clone of `atom`'s value in the scope, as [`AtomScope::get`].
    ///
    /// # Examples
    /// See [`with`](Self::with).
    ///
    /// # Panics
    /// As [`AtomScope::get`].
    #[track_caller]
    pub fn get<U: Clone + 'static>(&self, atom: impl Readable<U>) -> Option<U> {
        Some(self.scope()?.get(atom))
    }

    /// Calls `f` with a reference to `atom`'s value in the scope, as [`AtomScope::with`].
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom, derived};
    ///
    /// let names = atom(vec!["Ada".to_string()]);
    /// let count = derived(move |get| get.with(names, Vec::len));
    /// let greeting = atom(String::new()).on_mount(move |ctx| {
    ///     let first = ctx.with(names, |n| n[0].clone()).unwrap_or_default();
    ///     let n = ctx.get(count).unwrap_or(0);
    ///     ctx.set(format!("hello {first} and {} more", n - 1));
    ///     || ()
    /// });
    /// let scope = AtomScope::new();
    /// let _sub = scope.sub(greeting, |_| {});
    /// assert_eq!(scope.get(greeting), "hello Ada and 0 more");
    /// ```
    ///
    /// # Panics
    /// As [`AtomScope::with`].
    #[track_caller]
    pub fn with<U: 'static, O>(
        &self,
        atom: impl Readable<U>,
        f: impl FnOnce(&U) -> O,
    ) -> Option<O> {
        Some(self.scope()?.with(atom, f))
    }

    /// Writes any writable atom in the scope, as [`AtomScope::write`]: sets a base atom, or
    /// calls a writable atom's write function.
    ///
    /// # Examples
    /// See [`MountContext`].
    ///
    /// # Panics
    /// As [`AtomScope::write`].
    #[track_caller]
    pub fn write<A2, R2>(&self, atom: impl Writable<A2, R2>, arg: A2) -> Option<R2> {
        Some(self.scope()?.write(atom, arg))
    }

    /// Writes a writable atom in the scope with what `f` makes of its current value (the
    /// updater form of [`write`](Self::write)), as one batch.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom};
    ///
    /// let open_views = atom(0);
    /// let view = atom(()).on_mount(move |ctx| {
    ///     ctx.write_with(open_views, |n| n + 1);
    ///     let ctx = ctx.clone();
    ///     move || {
    ///         ctx.write_with(open_views, |n| n - 1);
    ///     }
    /// });
    /// let scope = AtomScope::new();
    /// let sub = scope.sub(view, |_| {});
    /// assert_eq!(scope.get(open_views), 1);
    /// sub.unsubscribe();
    /// assert_eq!(scope.get(open_views), 0);
    /// ```
    ///
    /// # Panics
    /// As [`AtomScope::write`].
    #[track_caller]
    pub fn write_with<U: 'static, A2, R2, W>(&self, atom: W, f: impl FnOnce(&U) -> A2) -> Option<R2>
    where
        W: Readable<U> + Writable<A2, R2>,
    {
        let scope = self.scope()?;
        Some(scope.inner().write_with(|setter| {
            let arg = setter.with(atom, f);
            atom.write_in(setter, arg)
        }))
    }

    /// Subscribes `callback` to `atom` in the scope, as [`AtomScope::sub`]: the subscription
    /// mounts `atom` there and ends at [`unsubscribe`](Subscription::unsubscribe) (in the
    /// cleanup, typically) or when the scope is disposed.
    ///
    /// # Examples
    /// See [`MountContext`].
    ///
    /// # Panics
    /// As [`AtomScope::sub`].
    #[track_caller]
    pub fn sub<U: 'static>(
        &self,
        atom: impl Readable<U>,
        callback: impl FnMut(&U) + 'static,
    ) -> Option<Subscription> {
        Some(self.scope()?.sub(atom, callback))
    }
}

impl<T, A, R> Clone for MountContext<T, A, R> {
    fn clone(&self) -> Self {
        Self {
            scope: self.scope.clone(),
            key: self.key,
            write: self.write.clone(),
            _marker: std::marker::PhantomData,
        }
    }
}

impl<T, A, R> std::fmt::Debug for MountContext<T, A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use slotmap::Key;
        f.debug_struct("MountContext")
            .field("atom", &self.key.data())
            .field(
                "scope_live",
                &self.scope.upgrade().is_some_and(|s| s.is_live()),
            )
            .finish()
    }
}
