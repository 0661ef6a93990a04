//! Store listeners and the handles that remove them.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use super::{Inner, Store};

/// A listener added by [`Store::subscribe`] or [`Store::subscribe_selector`]. Call
/// [`unsubscribe`](Self::unsubscribe) to remove it; dropping the handle keeps the listener
/// until the store is destroyed.
///
/// # Examples
/// ```
/// let store = stateloom_store::Store::new(0);
/// let sub = store.subscribe(|_, _| {});
/// assert!(sub.is_active());
/// sub.unsubscribe();
/// ```
#[must_use = "a listener stays subscribed until `unsubscribe` or the store's destruction"]
pub struct StoreSubscription {
    listener: Weak<dyn Deactivate>,
    store: Weak<dyn Compact>,
}

/// A listener's callback: `(new, old)`.
pub(crate) type Callback<S> = Box<dyn FnMut(&S, &S)>;

/// One listener: the callback and whether it is still subscribed.
pub(crate) struct Listener<S> {
    active: Cell<bool>,
    callback: RefCell<Callback<S>>,
}

/// The type-erased part of a listener a subscription handle needs.
trait Deactivate {
    fn deactivate(&self);
    fn is_active(&self) -> bool;
}

/// The type-erased part of a store a subscription handle needs.
trait Compact {
    fn remove_inactive(&self);
}

impl StoreSubscription {
    pub(crate) fn attach<S: Clone + 'static>(store: &Store<S>, callback: Callback<S>) -> Self {
        let listener = Rc::new(Listener {
            active: Cell::new(!store.inner.destroyed.get()),
            callback: RefCell::new(callback),
        });
        if listener.is_active() {
            store
                .inner
                .listeners
                .borrow_mut()
                .push(Rc::clone(&listener));
        }
        let listener: Rc<dyn Deactivate> = listener;
        let inner: Rc<dyn Compact> = store.inner.clone();
        Self {
            listener: Rc::downgrade(&listener),
            store: Rc::downgrade(&inner),
        }
    }

    /// Removes the listener; it is not called again, even for a write being notified now.
    ///
    /// # Examples
    /// See [`Store::subscribe`].
    pub fn unsubscribe(self) {
        if let Some(listener) = self.listener.upgrade() {
            listener.deactivate();
            drop(listener);
            if let Some(store) = self.store.upgrade() {
                store.remove_inactive();
            }
        }
    }

    /// Whether the listener is still subscribed.
    ///
    /// # Examples
    /// See [`StoreSubscription`].
    pub fn is_active(&self) -> bool {
        self.listener.upgrade().is_some_and(|l| l.is_active())
    }
}

impl<S> Listener<S> {
    /// Calls the callback if the listener is still subscribed.
    #[inline]
    pub(crate) fn call(&self, new: &S, old: &S) {
        if self.active.get() {
            (self.callback.borrow_mut())(new, old);
        }
    }

    pub(crate) fn is_active(&self) -> bool {
        self.active.get()
    }

    pub(crate) fn deactivate(&self) {
        self.active.set(false);
    }
}

impl<S> Deactivate for Listener<S> {
    fn deactivate(&self) {
        Listener::deactivate(self);
    }

    fn is_active(&self) -> bool {
        Listener::is_active(self)
    }
}

impl<S> Compact for Inner<S> {
    fn remove_inactive(&self) {
        if self.busy.get() {
            self.compact.set(true);
        } else {
            self.listeners.borrow_mut().retain(|l| l.is_active());
        }
    }
}

impl fmt::Debug for StoreSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSubscription")
            .field("active", &self.is_active())
            .finish()
    }
}
