//! Building a store with middleware.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use stateloom_core::{create_detached_root, signal_with_equals};

use super::{Inner, Store};
use crate::middleware::{Api, Middleware};

/// Builds a [`Store`] with middleware, created by [`Store::builder`] (equal writes skipped by
/// `PartialEq`) or [`Store::builder_with_equals`] (by an equality of your own).
///
/// Middleware wraps writes in the order added: the first added is the outermost, so it sees
/// a write first and the state change last. `on_init` hooks run when [`build`](Self::build)
/// is called, innermost first.
///
/// # Examples
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use stateloom_store::{Store, middleware_fn};
///
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let (a, b) = (log.clone(), log.clone());
/// let store = Store::builder(0)
///     .middleware(middleware_fn(move |_api, next, write| {
///         a.borrow_mut().push("outer in");
///         next.run(write);
///         a.borrow_mut().push("outer out");
///     }))
///     .middleware(middleware_fn(move |_api, next, write| {
///         b.borrow_mut().push("inner");
///         next.run(write);
///     }))
///     .build();
/// store.set_state(1);
/// assert_eq!(*log.borrow(), ["outer in", "inner", "outer out"]);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct StoreBuilder<S> {
    initial: S,
    equals: fn(&S, &S) -> bool,
    middleware: Vec<Rc<dyn Middleware<S>>>,
}

impl<S: Clone + 'static> StoreBuilder<S> {
    pub(super) fn new(initial: S, equals: fn(&S, &S) -> bool) -> Self {
        Self {
            initial,
            equals,
            middleware: Vec::new(),
        }
    }

    /// Adds a middleware inside the ones added before it.
    ///
    /// # Examples
    /// See [`StoreBuilder`].
    pub fn middleware(mut self, middleware: impl Middleware<S> + 'static) -> Self {
        self.middleware.push(Rc::new(middleware));
        self
    }

    /// Creates the store and runs the middleware `on_init` hooks, innermost first.
    ///
    /// # Examples
    /// See [`StoreBuilder`].
    #[track_caller]
    pub fn build(self) -> Store<S> {
        // The store compares writes itself before committing them (`Inner::equals`), so the
        // signal counts every commit as a change.
        let (signal, root) =
            create_detached_root(|| signal_with_equals(self.initial, |_, _| false));
        let count = self.middleware.len();
        let store = Store {
            inner: Rc::new(Inner {
                signal,
                equals: self.equals,
                root: RefCell::new(Some(root)),
                middleware: RefCell::new(self.middleware),
                listeners: RefCell::new(Vec::new()),
                busy: Cell::new(false),
                depth: Cell::new(0),
                draining: Cell::new(false),
                queue: RefCell::new(VecDeque::new()),
                compact: Cell::new(false),
                destroyed: Cell::new(false),
                destroy_pending: Cell::new(false),
                disposed: Cell::new(false),
                version: Cell::new(0),
                reached: Cell::new(0),
                commit_hooks: RefCell::new(Vec::new()),
            }),
        };
        for index in (0..count).rev() {
            let middleware = store.inner.middleware.borrow().get(index).cloned();
            if let Some(m) = middleware {
                m.on_init(&Api::new(store.clone(), index));
            }
        }
        store
    }
}

impl<S> fmt::Debug for StoreBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreBuilder")
            .field("middleware", &self.middleware.len())
            .finish()
    }
}
