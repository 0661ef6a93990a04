//! [`AtomScope`]: where atoms' values live. Each scope lazily creates one kernel node per
//! atom it is asked about; a thread-local default scope backs the methods on atom handles.

#[allow(unsafe_code)] // Reads without a borrow flag or a type comparison; see `NodeCache`.
mod cache;
pub(crate) mod inner;
mod mount;

use std::cell::OnceCell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::{Rc, Weak};

use stateloom_core::{Signal, Subscription};

use crate::atom::Atom;
use crate::error::Result;
use crate::handle::{AtomHandle, Readable, Writable};
use crate::lifecycle;
use crate::registry::AtomKey;
use inner::ScopeInner;

/// A container for atom values: the same atom definitions, independent values per scope.
///
/// A scope creates the kernel node for an atom the first time it is used there: a signal for
/// a base atom, a computed for a derived one (whose read function then reads its inputs from
/// this same scope). `AtomScope` is a cheap `Clone` handle to shared state and is not `Send`.
///
/// Use one scope per request on a server, or per test; the methods on atom handles
/// ([`Atom::get`](crate::Atom::get), ...) use this thread's [default scope](default_scope).
/// [`dispose`](Self::dispose) frees every node the scope created; dropping the last handle of
/// a scope made with [`new`](Self::new) does the same.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomScope, atom, derived};
///
/// let count = atom(0);
/// let double = derived(move |get| get.get(count) * 2);
/// let a = AtomScope::new();
/// let b = AtomScope::new();
/// a.set(count, 5);
/// assert_eq!((a.get(double), b.get(double)), (10, 0));
/// a.dispose();
/// ```
#[derive(Clone)]
pub struct AtomScope {
    inner: Rc<ScopeInner>,
}

thread_local! {
    /// This thread's default scope, made on first use. Const-initialised, so reaching it is
    /// a thread-pointer offset and a state check, with no lazy-initialisation test of the
    /// thread-local itself.
    static DEFAULT: OnceCell<AtomScope> = const { OnceCell::new() };
}

/// Runs `f` with this thread's default scope.
///
/// The scope is cloned out of the thread-local (one reference count) and `f` runs outside
/// `LocalKey::with`: a closure as large as a read, inlined into `with`, made the compiler keep
/// `with` out of line and reach the thread-local through an indirect call on every read.
#[inline(always)]
pub(crate) fn with_default<R>(f: impl FnOnce(&AtomScope) -> R) -> R {
    let scope = DEFAULT.with(|cell| cell.get().cloned());
    match scope {
        Some(scope) => f(&scope),
        None => f(&DEFAULT.with(init_default)),
    }
}

/// The signal of a base atom in this thread's default scope, if the scope exists and already
/// made it. The lookup reads the mirror of the scope's signal cache, a thread-local without a
/// destructor, so the fast paths of [`Atom`]'s methods neither reach the scope nor take a
/// reference count on it.
#[inline(always)]
#[track_caller]
pub(crate) fn default_signal<T: 'static>(key: AtomKey) -> Option<Signal<T>> {
    inner::default_signal(key)
}

/// Whether a read in the default scope queued lifecycle work (clears the flag). The common
/// answer, no, costs one load of a destructor-free thread-local.
#[inline(always)]
pub(crate) fn default_take_pending() -> bool {
    inner::default_pending() && take_default_pending()
}

/// Takes the default scope's `pending` flag.
#[cold]
#[inline(never)]
fn take_default_pending() -> bool {
    DEFAULT.with(|cell| cell.get().is_some_and(|scope| scope.inner.take_pending()))
}

/// Makes this thread's default scope.
#[cold]
#[inline(never)]
fn init_default(cell: &OnceCell<AtomScope>) -> AtomScope {
    cell.get_or_init(|| AtomScope {
        inner: ScopeInner::new(false),
    })
    .clone()
}

/// Returns a handle to this thread's default scope, the one behind the methods on atom
/// handles. It is never disposed; [`AtomScope::reset`] gives it fresh values.
///
/// # Examples
/// ```
/// use stateloom_atom::{atom, default_scope};
///
/// let count = atom(1);
/// count.set(2);
/// assert_eq!(default_scope().get(count), 2);
/// default_scope().reset();
/// assert_eq!(count.get(), 1);
/// ```
pub fn default_scope() -> AtomScope {
    with_default(AtomScope::clone)
}

impl AtomScope {
    /// Creates an empty scope: every atom starts from its initial value here.
    ///
    /// The scope's nodes belong to it alone, not to an effect or computed that happens to be
    /// running when it is created or first used.
    ///
    /// # Examples
    /// See [`AtomScope`].
    pub fn new() -> Self {
        Self {
            inner: ScopeInner::new(true),
        }
    }

    /// Returns a clone of `atom`'s value in this scope, tracked by the running computed or
    /// effect.
    ///
    /// # Examples
    /// See [`AtomScope`].
    ///
    /// # Panics
    /// If the scope was disposed, `atom` was removed from its family and is not mounted
    /// here, or reading it is a cycle. [`try_get`](Self::try_get) returns these as errors.
    #[inline(always)]
    #[track_caller]
    pub fn get<T: Clone + 'static>(&self, atom: impl Readable<T>) -> T {
        self.with(atom, T::clone)
    }

    /// Calls `f` with a reference to `atom`'s value in this scope (no clone), tracked.
    ///
    /// # Examples
    /// ```
    /// let names = stateloom_atom::atom(vec!["Ada", "Grace"]);
    /// let scope = stateloom_atom::AtomScope::new();
    /// assert_eq!(scope.with(names, |n| n.len()), 2);
    /// ```
    ///
    /// # Panics
    /// As [`get`](Self::get).
    #[inline(always)]
    #[track_caller]
    pub fn with<T: 'static, R>(&self, atom: impl Readable<T>, f: impl FnOnce(&T) -> R) -> R {
        let result = read_handle(&self.inner, atom, f);
        if self.inner.take_pending() {
            // Reading re-evaluated a mounted derived atom whose dependencies changed.
            lifecycle::drain();
        }
        result
    }

    /// Returns a clone of `atom`'s value, or an error.
    ///
    /// # Examples
    /// ```
    /// let n = stateloom_atom::atom(3);
    /// assert_eq!(stateloom_atom::AtomScope::new().try_get(n), Ok(3));
    /// ```
    ///
    /// # Errors
    /// [`Error::ScopeDisposed`](crate::Error::ScopeDisposed),
    /// [`Error::Removed`](crate::Error::Removed) for a stale family member, or
    /// [`Error::Core`](crate::Error::Core) with a cycle.
    pub fn try_get<T: Clone + 'static>(&self, atom: impl Readable<T>) -> Result<T> {
        self.inner.try_read(atom.id().0, T::clone)
    }

    /// Sets a base atom's value in this scope. Subscribers run before `set` returns, unless
    /// a batch is open (then at its end).
    ///
    /// # Examples
    /// See [`AtomScope`].
    ///
    /// # Panics
    /// If the scope was disposed, or `atom` was removed from its family and is not mounted
    /// here.
    #[inline(always)]
    #[track_caller]
    pub fn set<T: 'static>(&self, atom: Atom<T>, value: T) {
        self.inner.signal_or_panic::<T>(atom.key).set(value);
        lifecycle::drain();
    }

    /// Changes a base atom's value in place (always counts as a change).
    ///
    /// # Examples
    /// ```
    /// let list = stateloom_atom::atom(vec![1]);
    /// let scope = stateloom_atom::AtomScope::new();
    /// scope.update(list, |l| l.push(2));
    /// assert_eq!(scope.get(list), [1, 2]);
    /// ```
    ///
    /// # Panics
    /// As [`set`](Self::set).
    #[track_caller]
    pub fn update<T: 'static>(&self, atom: Atom<T>, f: impl FnOnce(&mut T)) {
        self.inner.signal_or_panic::<T>(atom.key).update(f);
        lifecycle::drain();
    }

    /// Writes a writable atom: sets a base atom, or calls a writable atom's write function
    /// with a [`Setter`](crate::Setter) bound to this scope. Everything the write function
    /// writes is one batch: each subscriber runs once, after it returns, with final values.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom, writable_atom};
    ///
    /// let celsius = atom(0.0_f64);
    /// let fahrenheit = writable_atom(
    ///     move |get| get.get(celsius) * 9.0 / 5.0 + 32.0,
    ///     move |set, f: f64| set.set(celsius, (f - 32.0) * 5.0 / 9.0),
    /// );
    /// let scope = AtomScope::new();
    /// scope.write(fahrenheit, 212.0);
    /// assert_eq!(scope.get(celsius), 100.0);
    /// ```
    ///
    /// # Panics
    /// If the scope was disposed, or `atom` was removed from its family and is not mounted
    /// here.
    #[track_caller]
    pub fn write<A, R>(&self, atom: impl Writable<A, R>, arg: A) -> R {
        assert!(self.inner.is_live(), "{}", crate::Error::ScopeDisposed);
        self.inner.write_with(|setter| atom.write_in(setter, arg))
    }

    /// Calls `callback` with `atom`'s new value after each change in this scope; not with
    /// the current value. The first subscriber mounts the atom (running its mount hook, and
    /// mounting what it depends on); unsubscribing the last one unmounts it.
    ///
    /// The subscription belongs to the scope: it ends at [`unsubscribe`](Subscription::unsubscribe)
    /// or when the scope is disposed.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use stateloom_atom::{AtomScope, atom};
    ///
    /// let count = atom(0);
    /// let scope = AtomScope::new();
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let log = seen.clone();
    /// let sub = scope.sub(count, move |v| log.borrow_mut().push(*v));
    /// scope.set(count, 1);
    /// scope.set(count, 1);
    /// scope.set(count, 2);
    /// sub.unsubscribe();
    /// scope.set(count, 3);
    /// assert_eq!(*seen.borrow(), [1, 2]);
    /// ```
    ///
    /// # Panics
    /// If the scope was disposed, `atom` was removed from its family (and is not mounted in
    /// this scope), or evaluating it panics. If a mount hook it sets off panics, the
    /// subscription is ended (unmounting what it mounted) and the panic continues.
    #[track_caller]
    pub fn sub<T: 'static>(
        &self,
        atom: impl Readable<T>,
        mut callback: impl FnMut(&T) + 'static,
    ) -> Subscription {
        let key = atom.id().0;
        let node = self.inner.node_or_panic::<T>(key);
        // Evaluate first, so the dependencies are known (and mounted before the atom).
        if let inner::TypedNode::Computed(c) = node {
            c.with_untracked(|_| ());
        }
        self.inner.listen(key);
        let guard = ListenerGuard {
            scope: self.inner.weak(),
            key,
        };
        let notify = move |value: &T| {
            let _alive = &guard;
            callback(value);
        };
        let subscription = self.inner.in_root(|| match node {
            inner::TypedNode::Signal(s) => s.subscribe(notify),
            inner::TypedNode::Computed(c) => c.subscribe(notify),
        });
        // A mount hook that panics fails the subscription: the caller never gets a handle to
        // end it, so end it here (its atoms unmount) before the panic continues.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(lifecycle::drain)) {
            subscription.unsubscribe();
            resume_unwind(payload);
        }
        subscription
    }

    /// Whether `atom` is mounted in this scope: it has a subscriber, or a mounted atom
    /// depends on it.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom, derived};
    ///
    /// let n = atom(1);
    /// let double = derived(move |get| get.get(n) * 2);
    /// let scope = AtomScope::new();
    /// let sub = scope.sub(double, |_| {});
    /// assert!(scope.is_mounted(n));
    /// sub.unsubscribe();
    /// assert!(!scope.is_mounted(n));
    /// ```
    pub fn is_mounted(&self, atom: impl AtomHandle) -> bool {
        self.inner.is_mounted(atom.id().0)
    }

    /// How many atoms have a node in this scope.
    ///
    /// # Examples
    /// ```
    /// let n = stateloom_atom::atom(1);
    /// let scope = stateloom_atom::AtomScope::new();
    /// assert_eq!(scope.len(), 0);
    /// scope.get(n);
    /// assert_eq!(scope.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no atom has a node in this scope yet.
    ///
    /// # Examples
    /// ```
    /// assert!(stateloom_atom::AtomScope::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frees every node the scope created and ends its subscriptions, running the cleanups
    /// of mounted atoms first. Later reads and writes panic (or return
    /// [`Error::ScopeDisposed`](crate::Error::ScopeDisposed)). Idempotent.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::{AtomScope, atom};
    /// use stateloom_core::runtime_stats;
    ///
    /// let n = atom(1);
    /// let before = runtime_stats();
    /// let scope = AtomScope::new();
    /// scope.set(n, 2);
    /// let _sub = scope.sub(n, |_| {});
    /// scope.dispose();
    /// assert!(scope.is_disposed());
    /// assert_eq!(runtime_stats(), before);
    /// ```
    pub fn dispose(&self) {
        self.inner.shutdown(false);
        lifecycle::drain();
    }

    /// Like [`dispose`](Self::dispose), but the scope stays usable: every atom starts again
    /// from its initial value.
    ///
    /// # Examples
    /// ```
    /// let n = stateloom_atom::atom(1);
    /// let scope = stateloom_atom::AtomScope::new();
    /// scope.set(n, 2);
    /// scope.reset();
    /// assert_eq!(scope.get(n), 1);
    /// ```
    pub fn reset(&self) {
        self.inner.shutdown(true);
        lifecycle::drain();
    }

    /// Whether [`dispose`](Self::dispose) was called.
    ///
    /// # Examples
    /// See [`dispose`](Self::dispose).
    pub fn is_disposed(&self) -> bool {
        !self.inner.is_live()
    }
}

/// Reads `atom` in `inner`, tracked: straight from its signal for a base atom, else through
/// the node's kind.
#[inline(always)]
#[track_caller]
fn read_handle<A: Readable<T>, T: 'static, R>(
    inner: &ScopeInner,
    atom: A,
    f: impl FnOnce(&T) -> R,
) -> R {
    let key = atom.id().0;
    if A::STORED {
        inner.signal_or_panic::<T>(key).with(f)
    } else {
        inner.read(key, f)
    }
}

impl AtomScope {
    /// Returns a weak handle to this scope: it does not keep the scope alive, so work that
    /// outlives an operation (a future, a timer) can hold it without keeping the scope's
    /// values from being dropped.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::AtomScope;
    ///
    /// let scope = AtomScope::new();
    /// let weak = scope.downgrade();
    /// assert_eq!(weak.upgrade(), Some(scope.clone()));
    /// drop(scope);
    /// assert_eq!(weak.upgrade(), None);
    /// ```
    pub fn downgrade(&self) -> WeakAtomScope {
        WeakAtomScope {
            inner: Rc::downgrade(&self.inner),
        }
    }
}

/// A weak handle to an [`AtomScope`], made by [`AtomScope::downgrade`].
///
/// It does not keep the scope's values alive; [`upgrade`](Self::upgrade) gives the scope
/// back while it is live (neither dropped nor disposed).
///
/// # Examples
/// See [`AtomScope::downgrade`].
#[derive(Clone, Default)]
pub struct WeakAtomScope {
    inner: Weak<ScopeInner>,
}

impl WeakAtomScope {
    /// The scope, if it is still live: not dropped and not disposed.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::AtomScope;
    ///
    /// let scope = AtomScope::new();
    /// let weak = scope.downgrade();
    /// scope.dispose();
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn upgrade(&self) -> Option<AtomScope> {
        let inner = self.inner.upgrade()?;
        inner.is_live().then(|| AtomScope::from_inner(inner))
    }
}

impl fmt::Debug for WeakAtomScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakAtomScope")
            .field("live", &self.upgrade().is_some())
            .finish()
    }
}

impl AtomScope {
    /// A handle to shared state that is still referenced elsewhere.
    pub(crate) fn from_inner(inner: Rc<ScopeInner>) -> Self {
        Self { inner }
    }

    /// The shared state.
    pub(crate) fn inner(&self) -> &ScopeInner {
        &self.inner
    }
}

impl Default for AtomScope {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for AtomScope {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for AtomScope {}

impl fmt::Debug for AtomScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomScope")
            .field("atoms", &self.len())
            .field("disposed", &self.is_disposed())
            .finish()
    }
}

/// Lives in a subscription's callback; when the kernel frees the subscription (unsubscribe,
/// or the scope's disposal), it tells the scope a listener left.
struct ListenerGuard {
    scope: Weak<ScopeInner>,
    key: AtomKey,
}

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        if lifecycle::tearing_down() {
            return;
        }
        let Some(scope) = self.scope.upgrade() else {
            return;
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            scope.unlisten(self.key);
            lifecycle::drain();
        }));
        if let Err(payload) = result
            && !lifecycle::tearing_down()
            && !std::thread::panicking()
        {
            resume_unwind(payload);
        }
    }
}
