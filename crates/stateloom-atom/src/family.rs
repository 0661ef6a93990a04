//! Atom families: [`atom_family`] memoizes one atom per parameter; removing a parameter drops
//! its atom from the family and frees it once no scope has it mounted.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::rc::Rc;

/// The Fx hash from `rustc-hash`, for [`atom_family_with_hasher`].
///
/// Faster than [`DefaultHashBuilder`] for the small keys families are looked up by (integers,
/// short strings), but unseeded: whoever chooses the parameters can choose ones that all
/// collide and make every lookup walk one long chain. Use it only for parameters the program
/// itself makes (indices, ids it allocated); see `docs/benchmarks.md` for both hashers' figures.
///
/// # Examples
/// ```
/// use stateloom_atom::{FxBuildHasher, atom, atom_family_with_hasher};
///
/// let rows = atom_family_with_hasher(FxBuildHasher, |row: &usize| atom(*row * 2));
/// assert_eq!(rows.get(&21).get(), 42);
/// ```
pub use rustc_hash::FxBuildHasher;

/// The default hasher of [`AtomFamily`]: aHash with random keys.
///
/// Each [`atom_family`] gets its own keys (from a seed the operating system's random source
/// gives once per process, mixed with a per-family counter), so parameters that come from
/// outside the program (user names, request paths, ids in a message) cannot be picked to
/// collide. For parameters the program makes itself, [`FxBuildHasher`] is faster.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomFamily, Atom, DefaultHashBuilder, atom, atom_family};
///
/// // The third parameter of `AtomFamily` defaults to this hasher.
/// let users: AtomFamily<String, Atom<usize>, DefaultHashBuilder> =
///     atom_family(|name: &String| atom(name.len()));
/// assert_eq!(users.get("ada").get(), 3);
/// ```
pub type DefaultHashBuilder = ahash::RandomState;

use crate::handle::AtomHandle;
use crate::scope::inner::retire_atom;

/// Creates an atom family: `family.get(&param)` returns the atom `factory` made for
/// `param`, calling it only the first time.
///
/// `factory` must create a new atom for each parameter (the family owns it).
/// [`remove`](AtomFamily::remove) and [`retain`](AtomFamily::retain) drop atoms from the
/// family, as Jotai's `remove` does: where a removed atom is mounted (it has a subscriber, or
/// a mounted atom reads it), it keeps working until it is unmounted; everywhere else, and
/// once it is unmounted everywhere, its nodes and its config are freed, and a handle kept
/// from before fails cleanly ([`Error::Removed`](crate::Error::Removed)). So a
/// create/remove loop does not leak. Dropping the family keeps its atoms; call
/// [`clear`](AtomFamily::clear) to remove them all.
///
/// Parameters are hashed with [`DefaultHashBuilder`] (aHash with random keys), which resists
/// parameters chosen to collide; see [`atom_family_with_hasher`] for another hasher.
///
/// # Examples
/// ```
/// use stateloom_atom::{atom, atom_family};
///
/// #[derive(Clone, PartialEq)]
/// struct Todo { text: String, done: bool }
///
/// let todos = atom_family(|id: &u32| atom(Todo { text: format!("todo {id}"), done: false }));
/// let first = todos.get(&1);
/// assert_eq!(todos.get(&1), first); // memoized
/// first.update(|t| t.done = true);
/// assert!(todos.get(&1).get().done);
/// assert!(todos.remove(&1));
/// assert!(first.try_get().is_err()); // not mounted anywhere: freed, the old handle is stale
/// assert!(!todos.get(&1).get().done); // a fresh atom
/// ```
pub fn atom_family<P, H>(factory: impl Fn(&P) -> H + 'static) -> AtomFamily<P, H>
where
    P: Hash + Eq + Clone + 'static,
    H: AtomHandle,
{
    atom_family_with_hasher(DefaultHashBuilder::new(), factory)
}

/// Like [`atom_family`], hashing parameters with `hasher`: [`FxBuildHasher`] for parameters
/// the program makes itself, or any other [`BuildHasher`].
///
/// # Examples
/// ```
/// use std::collections::hash_map::RandomState;
/// use stateloom_atom::{FxBuildHasher, atom, atom_family_with_hasher};
///
/// let cells = atom_family_with_hasher(FxBuildHasher, |(x, y): &(u32, u32)| atom(x * y));
/// assert_eq!(cells.get(&(6, 7)).get(), 42);
/// let users = atom_family_with_hasher(RandomState::new(), |name: &String| atom(name.len()));
/// assert_eq!(users.get("ada").get(), 3);
/// ```
pub fn atom_family_with_hasher<P, H, S>(
    hasher: S,
    factory: impl Fn(&P) -> H + 'static,
) -> AtomFamily<P, H, S>
where
    P: Hash + Eq + Clone + 'static,
    H: AtomHandle,
    S: BuildHasher,
{
    AtomFamily {
        inner: Rc::new(FamilyInner {
            factory: Box::new(factory),
            members: RefCell::new(HashMap::with_hasher(hasher)),
        }),
    }
}

/// A memoized map from parameters to atoms, made by [`atom_family`].
///
/// A cheap `Clone` handle to shared state; not `Send`.
///
/// # Examples
/// See [`atom_family`].
pub struct AtomFamily<P, H, S = DefaultHashBuilder> {
    inner: Rc<FamilyInner<P, H, S>>,
}

struct FamilyInner<P, H, S> {
    factory: Box<dyn Fn(&P) -> H>,
    members: RefCell<HashMap<P, H, S>>,
}

impl<P, H, S> AtomFamily<P, H, S>
where
    P: Hash + Eq + Clone + 'static,
    H: AtomHandle,
    S: BuildHasher,
{
    /// Returns the atom for `param`, creating it with the factory on first use.
    ///
    /// The factory runs with the family released, so it may use the family itself.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{atom, atom_family};
    ///
    /// let names = atom_family(|id: &String| atom(id.to_uppercase()));
    /// assert_eq!(names.get("ada").get(), "ADA"); // look up by `&str`
    /// ```
    #[inline]
    pub fn get<Q>(&self, param: &Q) -> H
    where
        P: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = P> + ?Sized,
    {
        if let Some(handle) = self.inner.members.borrow().get(param) {
            return *handle;
        }
        self.create(param.to_owned())
    }

    #[cold]
    fn create(&self, param: P) -> H {
        let handle = (self.inner.factory)(&param);
        let mut members = self.inner.members.borrow_mut();
        match members.entry(param) {
            Entry::Vacant(slot) => {
                slot.insert(handle);
                handle
            }
            Entry::Occupied(slot) => {
                // The factory asked for its own parameter: keep the first atom, drop this one.
                let existing = *slot.get();
                drop(members);
                retire_atom(handle.id().0);
                existing
            }
        }
    }

    /// Removes `param`'s atom from the family. Returns whether there was one. A later
    /// [`get`](Self::get) creates a fresh atom.
    ///
    /// In each scope where the removed atom is mounted, it keeps working (its subscribers are
    /// notified, it can be read, written and subscribed to there) until it is unmounted; then
    /// its mount cleanup runs and its node is freed. In every other scope its node is freed at
    /// once and the old handle fails there with [`Error::Removed`](crate::Error::Removed).
    /// The atom's config is freed with its last node.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom, atom_family};
    ///
    /// let f = atom_family(|id: &u32| atom(*id));
    /// let scope = AtomScope::new();
    /// let a = f.get(&1);
    /// let sub = scope.sub(a, |_| {});
    /// assert!(f.remove(&1));
    /// assert!(!f.remove(&1));
    /// assert_ne!(f.get(&1), a);
    /// scope.set(a, 5); // still subscribed here: still works
    /// assert_eq!(scope.get(a), 5);
    /// sub.unsubscribe(); // unmounted everywhere: freed
    /// assert!(scope.try_get(a).is_err());
    /// ```
    pub fn remove<Q>(&self, param: &Q) -> bool
    where
        P: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let removed = self.inner.members.borrow_mut().remove(param);
        match removed {
            Some(handle) => {
                retire_atom(handle.id().0);
                true
            }
            None => false,
        }
    }

    /// Keeps the atoms whose parameter satisfies `keep` and removes the others, as
    /// [`remove`](Self::remove) does. Returns how many were removed.
    ///
    /// `keep` sees every parameter before anything is removed.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{atom, atom_family};
    ///
    /// let f = atom_family(|id: &u32| atom(*id));
    /// for id in 0..10 {
    ///     f.get(&id);
    /// }
    /// assert_eq!(f.retain(|id| id % 2 == 0), 5);
    /// assert_eq!(f.len(), 5);
    /// ```
    pub fn retain(&self, mut keep: impl FnMut(&P) -> bool) -> usize {
        let params: Vec<P> = self.inner.members.borrow().keys().cloned().collect();
        let doomed: Vec<P> = params.into_iter().filter(|p| !keep(p)).collect();
        let mut removed = 0;
        for param in &doomed {
            if self.remove(param) {
                removed += 1;
            }
        }
        removed
    }

    /// Removes every atom of the family, as [`remove`](Self::remove) does.
    ///
    /// # Examples
    /// ```
    /// let f = stateloom_atom::atom_family(|id: &u32| stateloom_atom::atom(*id));
    /// f.get(&1);
    /// f.clear();
    /// assert!(f.is_empty());
    /// ```
    pub fn clear(&self) {
        let members: Vec<H> = self
            .inner
            .members
            .borrow_mut()
            .drain()
            .map(|(_, h)| h)
            .collect();
        for handle in members {
            retire_atom(handle.id().0);
        }
    }

    /// Whether `param` has an atom.
    ///
    /// # Examples
    /// ```
    /// let f = stateloom_atom::atom_family(|id: &u32| stateloom_atom::atom(*id));
    /// f.get(&1);
    /// assert!(f.contains(&1) && !f.contains(&2));
    /// ```
    pub fn contains<Q>(&self, param: &Q) -> bool
    where
        P: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.members.borrow().contains_key(param)
    }

    /// How many parameters have an atom.
    ///
    /// # Examples
    /// See [`retain`](Self::retain).
    pub fn len(&self) -> usize {
        self.inner.members.borrow().len()
    }

    /// Whether the family has no atoms.
    ///
    /// # Examples
    /// See [`clear`](Self::clear).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parameters that have an atom, in no particular order.
    ///
    /// # Examples
    /// ```
    /// let f = stateloom_atom::atom_family(|id: &u32| stateloom_atom::atom(*id));
    /// f.get(&3);
    /// assert_eq!(f.params(), [3]);
    /// ```
    pub fn params(&self) -> Vec<P> {
        self.inner.members.borrow().keys().cloned().collect()
    }
}

impl<P, H, S> Clone for AtomFamily<P, H, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<P, H, S> fmt::Debug for AtomFamily<P, H, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomFamily")
            .field("len", &self.inner.members.borrow().len())
            .finish()
    }
}
