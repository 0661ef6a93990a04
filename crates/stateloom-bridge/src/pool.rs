//! [`DisposePool`]: releases many resources (subscriptions to external stores) together,
//! when the pool is disposed or when the atom scope it is tied to is.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;

use stateloom_atom::{AtomScope, atom};

use crate::external::ExternalSubscription;

/// A set of release functions run together by [`dispose`](Self::dispose), newest first.
///
/// [`tie_to`](Self::tie_to) disposes the pool when an [`AtomScope`] is disposed. Anything
/// added to a disposed pool is released at once. Cheap to clone; not `Send`.
///
/// # Examples
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use stateloom_bridge::DisposePool;
///
/// let released = Rc::new(Cell::new(0));
/// let pool = DisposePool::new();
/// for _ in 0..3 {
///     let r = released.clone();
///     pool.add(move || r.set(r.get() + 1));
/// }
/// assert_eq!(pool.len(), 3);
/// pool.dispose();
/// assert_eq!(released.get(), 3);
/// assert!(pool.is_disposed());
/// ```
#[derive(Clone, Default)]
pub struct DisposePool {
    inner: Rc<PoolInner>,
}

#[derive(Default)]
struct PoolInner {
    disposed: Cell<bool>,
    items: RefCell<Vec<Box<dyn FnOnce()>>>,
}

impl DisposePool {
    /// An empty pool.
    ///
    /// # Examples
    /// See [`DisposePool`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a release function. On a disposed pool it runs now, and `false` is returned.
    ///
    /// # Examples
    /// See [`DisposePool`].
    pub fn add(&self, release: impl FnOnce() + 'static) -> bool {
        if self.inner.disposed.get() {
            release();
            return false;
        }
        self.inner.items.borrow_mut().push(Box::new(release));
        true
    }

    /// Adds a subscription, ended when the pool is disposed (at once if it already was).
    ///
    /// # Examples
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use stateloom_bridge::{DisposePool, ExternalSubscription};
    ///
    /// let ended = Rc::new(Cell::new(false));
    /// let e = ended.clone();
    /// let pool = DisposePool::new();
    /// pool.add_subscription(ExternalSubscription::new(move || e.set(true)));
    /// pool.dispose();
    /// assert!(ended.get());
    /// ```
    pub fn add_subscription(&self, subscription: ExternalSubscription) -> bool {
        self.add(move || subscription.unsubscribe())
    }

    /// Disposes the pool when `scope` is disposed (and stops watching `scope` when the pool
    /// is disposed first). It mounts a private atom in `scope` whose cleanup disposes the
    /// pool.
    ///
    /// # Examples
    /// ```
    /// use stateloom_atom::AtomScope;
    /// use stateloom_bridge::DisposePool;
    ///
    /// let scope = AtomScope::new();
    /// let pool = DisposePool::new();
    /// pool.tie_to(&scope);
    /// scope.dispose();
    /// assert!(pool.is_disposed());
    /// ```
    pub fn tie_to(&self, scope: &AtomScope) {
        if self.inner.disposed.get() || scope.is_disposed() {
            return;
        }
        let pool = Rc::downgrade(&self.inner);
        let marker = atom(()).on_mount(move |_| {
            let pool = pool.clone();
            move || {
                if let Some(pool) = pool.upgrade() {
                    DisposePool { inner: pool }.dispose();
                }
            }
        });
        let subscription = scope.sub(marker, |_| {});
        let scope = scope.clone();
        self.add(move || {
            if !scope.is_disposed() {
                subscription.unsubscribe();
            }
        });
    }

    /// Runs every release function, newest first, and marks the pool disposed. A panicking
    /// release function does not stop the others; the first panic continues afterwards.
    /// Idempotent.
    ///
    /// # Examples
    /// See [`DisposePool`].
    pub fn dispose(&self) {
        if self.inner.disposed.replace(true) {
            return;
        }
        let mut first_panic = None;
        loop {
            let item = self.inner.items.borrow_mut().pop();
            let Some(item) = item else { break };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(item)) {
                first_panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
    }

    /// Whether [`dispose`](Self::dispose) ran.
    ///
    /// # Examples
    /// See [`DisposePool`].
    pub fn is_disposed(&self) -> bool {
        self.inner.disposed.get()
    }

    /// How many release functions wait.
    ///
    /// # Examples
    /// See [`DisposePool`].
    pub fn len(&self) -> usize {
        self.inner.items.borrow().len()
    }

    /// Whether no release function waits.
    ///
    /// # Examples
    /// ```
    /// assert!(stateloom_bridge::DisposePool::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for DisposePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DisposePool")
            .field("items", &self.len())
            .field("disposed", &self.is_disposed())
            .finish()
    }
}
