//! Writable atoms: [`writable_atom`], [`write_only_atom`], [`atom_with_reducer`] and the
//! [`WritableAtom`] handle, whose writes run a write function.

use std::rc::Rc;

use stateloom_core::{Subscribable, Subscription};

use crate::context::{Getter, MountContext, Setter};
use crate::error::{Error, Result};
use crate::handle::{AtomId, Marker, Readable, Writable, handle_impls};
use crate::registry::{self, AtomKey, BaseConfig, DerivedConfig, Entry, MountFn, WriteFn};
use crate::scope::with_default;

/// Creates a writable atom: its value is derived by `read` (like [`derived`](crate::derived)),
/// and writing it with an argument of type `A` calls `write` with a [`Setter`], returning
/// `R`. Everything `write` sets is one batch.
///
/// # Examples
/// ```
/// use stateloom_atom::{atom, writable_atom};
///
/// let celsius = atom(100.0_f64);
/// let fahrenheit = writable_atom(
///     move |get| get.get(celsius) * 9.0 / 5.0 + 32.0,
///     move |set, f: f64| set.set(celsius, (f - 32.0) * 5.0 / 9.0),
/// );
/// assert_eq!(fahrenheit.get(), 212.0);
/// fahrenheit.write(32.0);
/// assert_eq!(celsius.get(), 0.0);
/// ```
pub fn writable_atom<T: PartialEq + 'static, A: 'static, R: 'static>(
    read: impl Fn(&Getter<'_>) -> T + 'static,
    write: impl Fn(&Setter<'_>, A) -> R + 'static,
) -> WritableAtom<T, A, R> {
    let key = registry::register(|_| {
        Entry::writable(
            Rc::new(DerivedConfig {
                read,
                equals: T::eq,
            }),
            Some(Rc::new(WriteFn(Box::new(write)))),
        )
    });
    WritableAtom::from_key(key)
}

/// Creates a write-only atom: an action. Its value is always `()`; writing it calls `write`.
///
/// # Examples
/// ```
/// use stateloom_atom::{atom, write_only_atom};
///
/// let count = atom(0);
/// let add = write_only_atom(move |set, n: i32| set.set(count, set.get(count) + n));
/// add.write(2);
/// add.write(3);
/// assert_eq!(count.get(), 5);
/// ```
pub fn write_only_atom<A: 'static, R: 'static>(
    write: impl Fn(&Setter<'_>, A) -> R + 'static,
) -> WritableAtom<(), A, R> {
    let key = registry::register(|_| {
        Entry::writable(
            Rc::new(BaseConfig::partial_eq(())),
            Some(Rc::new(WriteFn(Box::new(write)))),
        )
    });
    WritableAtom::from_key(key)
}

/// Creates an atom holding a value that changes by actions: writing an action `a` sets the
/// value to `reducer(&current, a)`.
///
/// # Examples
/// ```
/// use stateloom_atom::atom_with_reducer;
///
/// enum Action { Increment, Reset }
/// let count = atom_with_reducer(0, |n: &i32, action: Action| match action {
///     Action::Increment => n + 1,
///     Action::Reset => 0,
/// });
/// count.write(Action::Increment);
/// count.write(Action::Increment);
/// assert_eq!(count.get(), 2);
/// count.write(Action::Reset);
/// assert_eq!(count.get(), 0);
/// ```
pub fn atom_with_reducer<T: Clone + PartialEq + 'static, A: 'static>(
    init: T,
    reducer: impl Fn(&T, A) -> T + 'static,
) -> WritableAtom<T, A> {
    let key = registry::register(|key| {
        let reduce = move |set: &Setter<'_>, action: A| {
            let this = WritableAtom::<T, A>::from_key(key);
            let next = set.with(this, |current| reducer(current, action));
            set.set_key(key, next);
        };
        Entry::writable(
            Rc::new(BaseConfig::partial_eq(init)),
            Some(Rc::new(WriteFn(Box::new(reduce)))),
        )
    });
    WritableAtom::from_key(key)
}

/// A writable atom: readable as `T`, written with an argument `A`, a write returning `R`.
///
/// Made by [`writable_atom`], [`write_only_atom`] (`T = ()`) and [`atom_with_reducer`].
/// `Copy`, `Eq` and `Hash`, not `Send`. The methods here use this thread's
/// [default scope](crate::default_scope).
///
/// # Examples
/// ```
/// use stateloom_atom::{WritableAtom, atom, writable_atom};
///
/// let items = atom(Vec::<String>::new());
/// let add: WritableAtom<usize, String, usize> = writable_atom(
///     move |get| get.with(items, Vec::len),
///     move |set, item: String| {
///         set.update(items, |v| v.push(item));
///         set.with(items, Vec::len)
///     },
/// );
/// assert_eq!(add.write("milk".into()), 1);
/// assert_eq!(add.get(), 1);
/// ```
pub struct WritableAtom<T, A, R = ()> {
    pub(crate) key: AtomKey,
    _marker: Marker<(T, A, R)>,
}

handle_impls!(WritableAtom<T, A, R>);

impl<T: 'static, A: 'static, R: 'static> Readable<T> for WritableAtom<T, A, R> {}

impl<T: 'static, A: 'static, R: 'static> Writable<A, R> for WritableAtom<T, A, R> {
    #[track_caller]
    fn write_in(self, setter: &Setter<'_>, arg: A) -> R {
        // A removed atom is written only where it lives on (where it is still mounted).
        let write = match registry::write_fn(self.key) {
            Some((write, retired)) if !retired || setter.inner().holds(self.key) => write,
            _ => panic!(
                "{}",
                Error::Removed {
                    id: AtomId(self.key)
                }
            ),
        };
        let write = write
            .downcast_ref::<WriteFn<A, R>>()
            .expect("a writable atom's handle matches its write function");
        (write.0)(setter, arg)
    }
}

impl<T: 'static, A: 'static, R: 'static> WritableAtom<T, A, R> {
    pub(crate) fn from_key(key: AtomKey) -> Self {
        Self {
            key,
            _marker: std::marker::PhantomData,
        }
    }

    /// Writes the atom in the default scope: calls its write function, as one batch.
    ///
    /// # Examples
    /// See [`writable_atom`].
    ///
    /// # Panics
    /// If the atom was removed from its family and is not mounted in the default scope.
    #[track_caller]
    pub fn write(&self, arg: A) -> R {
        with_default(|s| s.write(*self, arg))
    }

    /// Calls `f` with a reference to the value in the default scope, tracked.
    ///
    /// # Examples
    /// ```
    /// let n = stateloom_atom::atom_with_reducer(vec![1], |v: &Vec<i32>, x: i32| [v.clone(), vec![x]].concat());
    /// n.write(2);
    /// assert_eq!(n.with(|v| v.len()), 2);
    /// ```
    ///
    /// # Panics
    /// If the atom was removed from its family and is not mounted in the default scope.
    #[track_caller]
    pub fn with<Out>(&self, f: impl FnOnce(&T) -> Out) -> Out {
        with_default(|s| s.with(*self, f))
    }

    /// Calls `callback` with each new value in the default scope (not the current one).
    ///
    /// # Examples
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let n = stateloom_atom::atom_with_reducer(0, |n: &i32, d: i32| n + d);
    /// let last = Rc::new(Cell::new(0));
    /// let l = last.clone();
    /// let _sub = n.subscribe(move |v| l.set(*v));
    /// n.write(4);
    /// assert_eq!(last.get(), 4);
    /// ```
    ///
    /// # Panics
    /// As [`AtomScope::sub`](crate::AtomScope::sub).
    #[track_caller]
    pub fn subscribe(&self, callback: impl FnMut(&T) + 'static) -> Subscription {
        with_default(|s| s.sub(*self, callback))
    }

    /// Sets the atom's mount hook and returns the atom; see [`Atom::on_mount`](crate::Atom::on_mount).
    /// The hook's [`MountContext`] writes this atom through its write function: its
    /// [`set`](MountContext::set) takes an argument `A` and returns the write's `R`.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom_with_reducer};
    ///
    /// let count = atom_with_reducer(0, |n: &i32, d: i32| n + d).on_mount(|ctx| {
    ///     ctx.set(10);
    ///     || ()
    /// });
    /// let scope = AtomScope::new();
    /// let _sub = scope.sub(count, |_| {});
    /// assert_eq!(scope.get(count), 10);
    /// ```
    pub fn on_mount<C: FnOnce() + 'static>(
        self,
        hook: impl Fn(&MountContext<T, A, R>) -> C + 'static,
    ) -> Self {
        let atom = self;
        let mount: MountFn = Rc::new(move |scope| {
            let ctx = MountContext::new(
                scope,
                atom.key,
                Rc::new(move |setter: &Setter<'_>, arg: A| atom.write_in(setter, arg)),
            );
            Box::new(hook(&ctx))
        });
        registry::set_on_mount(self.key, mount);
        self
    }
}

impl<T: Clone + 'static, A: 'static, R: 'static> WritableAtom<T, A, R> {
    /// Returns a clone of the value in the default scope, tracked.
    ///
    /// # Examples
    /// See [`writable_atom`].
    ///
    /// # Panics
    /// If the atom was removed from its family and is not mounted in the default scope.
    #[track_caller]
    pub fn get(&self) -> T {
        with_default(|s| s.get(*self))
    }

    /// Returns a clone of the value in the default scope, or an error.
    ///
    /// # Examples
    /// ```
    /// let n = stateloom_atom::atom_with_reducer(1, |n: &i32, d: i32| n + d);
    /// assert_eq!(n.try_get(), Ok(1));
    /// ```
    ///
    /// # Errors
    /// As [`AtomScope::try_get`](crate::AtomScope::try_get).
    pub fn try_get(&self) -> Result<T> {
        with_default(|s| s.try_get(*self))
    }
}

impl<T: Clone + 'static, A: 'static, R: 'static> Subscribable<T> for WritableAtom<T, A, R> {
    fn get(&self) -> T {
        WritableAtom::get(self)
    }

    fn subscribe(&self, callback: Box<dyn FnMut(&T)>) -> Subscription {
        WritableAtom::subscribe(self, callback)
    }
}
