//! What every atom handle shares: an id, and the traits that say whether it can be read or
//! written.

use std::fmt;

use crate::context::Setter;
use crate::registry::AtomKey;

/// The identity of an atom on this thread: `Copy`, hashable and ordered.
///
/// Ids of removed atoms are never handed out again (the registry uses generational keys), so
/// a stale id fails cleanly instead of naming another atom.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomHandle, atom};
///
/// let a = atom(1);
/// let b = atom(1);
/// assert_eq!(a.id(), a.id());
/// assert_ne!(a.id(), b.id());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AtomId(pub(crate) AtomKey);

impl fmt::Debug for AtomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use slotmap::Key;
        write!(f, "AtomId({:?})", self.0.data())
    }
}

/// Any atom handle: a `Copy` key with an [`AtomId`].
///
/// Implemented by [`Atom`](crate::Atom), [`Derived`](crate::Derived) and
/// [`WritableAtom`](crate::WritableAtom); the trait is sealed.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomHandle, atom};
///
/// fn describe(handle: impl AtomHandle) -> String {
///     format!("{:?}", handle.id())
/// }
/// let n = atom(1);
/// assert!(describe(n).starts_with("AtomId"));
/// ```
pub trait AtomHandle: Copy + 'static + sealed::Sealed {
    /// The atom's id.
    fn id(&self) -> AtomId;
}

/// An atom whose value of type `T` can be read: every atom kind.
///
/// Generic APIs take `impl Readable<T>`: [`Getter::get`](crate::Getter::get),
/// [`AtomScope::get`](crate::AtomScope::get), [`AtomScope::sub`](crate::AtomScope::sub).
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomScope, Readable, atom, derived};
///
/// fn read_twice<A: Readable<i32>>(scope: &AtomScope, a: A) -> i32 {
///     scope.get(a) * 2
/// }
/// let n = atom(2);
/// let square = derived(move |get| get.get(n) * get.get(n));
/// let scope = AtomScope::new();
/// assert_eq!(read_twice(&scope, n), 4);
/// assert_eq!(read_twice(&scope, square), 8);
/// ```
pub trait Readable<T>: AtomHandle {
    /// Whether the atom's value is stored in a signal (a base atom), so a read can skip the
    /// check for a computed.
    #[doc(hidden)]
    const STORED: bool = false;
}

/// An atom that can be written with an argument of type `A`, returning `R`: a base
/// [`Atom<T>`](crate::Atom) (`A = T`, `R = ()`) or a [`WritableAtom<T, A, R>`](crate::WritableAtom).
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomScope, Writable, atom, atom_with_reducer};
///
/// fn put_five(scope: &AtomScope, target: impl Writable<i32>) {
///     scope.write(target, 5);
/// }
/// let n = atom(0);
/// let total = atom_with_reducer(1, |sum: &i32, add: i32| sum + add);
/// let scope = AtomScope::new();
/// put_five(&scope, n);
/// put_five(&scope, total);
/// assert_eq!((scope.get(n), scope.get(total)), (5, 6));
/// ```
pub trait Writable<A, R = ()>: AtomHandle {
    /// Performs the write through `setter`; called by [`AtomScope::write`](crate::AtomScope::write)
    /// and [`Setter::write`], which batch it.
    #[doc(hidden)]
    fn write_in(self, setter: &Setter<'_>, arg: A) -> R;
}

pub(crate) mod sealed {
    /// Keeps the handle traits closed: only this crate's handles implement them.
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

/// The marker inside typed handles: `Copy`, covariant in `T`, and neither `Send` nor `Sync`,
/// because an atom's config lives in one thread's registry.
pub(crate) type Marker<T> = std::marker::PhantomData<(fn() -> T, *const ())>;

/// Implements `Clone`, `Copy`, `PartialEq`, `Eq`, `Hash`, `Debug`, `AtomHandle` and `Sealed`
/// for a handle type without bounds on its type parameters.
macro_rules! handle_impls {
    ($name:ident < $($p:ident),* >) => {
        impl<$($p),*> Clone for $name<$($p),*> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<$($p),*> Copy for $name<$($p),*> {}

        impl<$($p),*> PartialEq for $name<$($p),*> {
            fn eq(&self, other: &Self) -> bool {
                self.key == other.key
            }
        }

        impl<$($p),*> Eq for $name<$($p),*> {}

        impl<$($p),*> std::hash::Hash for $name<$($p),*> {
            fn hash<HH: std::hash::Hasher>(&self, state: &mut HH) {
                self.key.hash(state);
            }
        }

        impl<$($p),*> std::fmt::Debug for $name<$($p),*> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                use slotmap::Key;
                write!(f, concat!(stringify!($name), "({:?})"), self.key.data())
            }
        }

        impl<$($p: 'static),*> $crate::handle::sealed::Sealed for $name<$($p),*> {}

        impl<$($p: 'static),*> $crate::handle::AtomHandle for $name<$($p),*> {
            fn id(&self) -> $crate::handle::AtomId {
                $crate::handle::AtomId(self.key)
            }
        }
    };
}

pub(crate) use handle_impls;
