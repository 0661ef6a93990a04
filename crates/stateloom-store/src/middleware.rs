//! Middleware: the pipeline a write passes through on its way to the state.

use std::fmt;

use crate::store::Store;
use crate::write::Write;

/// A layer around a store's writes.
///
/// A store built with middleware `[a, b, c]` (in the order given to
/// [`StoreBuilder::middleware`](crate::StoreBuilder::middleware)) runs a write through
/// `a.on_set`, whose `next` leads to `b.on_set`, whose `next` leads to `c.on_set`, whose `next`
/// commits the write to the state: the first middleware added is the outermost. No middleware
/// knows the others; each sees only its `next`.
///
/// In `on_set`, a middleware may
/// - **observe**: call `next.run(write)` once and look at the state before and after;
/// - **transform**: pass on a changed write ([`Write::map_update`]);
/// - **veto**: not call `next` at all;
/// - **delay**: keep `next` and the write and call `next.run` later ([`Next`] is `Clone`).
///
/// A write that reaches the state equal to it (by the store's equality) is skipped, so a
/// middleware that rewrites a write into the current state makes it silent. A middleware that
/// needs to know whether `next.run` committed compares [`Store::version`] before and after.
///
/// `on_init` runs once when the store is built, innermost middleware first, so a middleware
/// sees the state as the ones inside it left it. `on_destroy` runs when the store is
/// destroyed, outermost first. All three have no-op defaults.
///
/// Methods take `&self`: a middleware that keeps state uses `Cell` or `RefCell`, and must not
/// hold a borrow across `next.run`, which may re-enter it (a listener's write, say).
///
/// # Examples
/// ```
/// use stateloom_store::{Api, Middleware, Next, Store, Write};
///
/// /// Drops every write while the state is "locked".
/// struct Lock;
///
/// impl Middleware<(bool, i32)> for Lock {
///     fn on_set(&self, api: &Api<(bool, i32)>, next: Next<(bool, i32)>, write: Write<(bool, i32)>) {
///         if !api.with(|s| s.0) || write.action() == Some("unlock") {
///             next.run(write);
///         }
///     }
/// }
///
/// let store = Store::builder((true, 0)).middleware(Lock).build();
/// store.update(|s| s.1 = 1); // vetoed
/// store.named("unlock").update(|s| s.0 = false);
/// store.update(|s| s.1 = 2);
/// assert_eq!(store.get_state(), (false, 2));
/// ```
pub trait Middleware<S: Clone + 'static> {
    /// Called once when the store is built, innermost middleware first.
    fn on_init(&self, api: &Api<S>) {
        let _ = api;
    }

    /// Called for every write that reaches this middleware; call `next.run(write)` to pass it on.
    fn on_set(&self, api: &Api<S>, next: Next<S>, write: Write<S>) {
        let _ = api;
        next.run(write);
    }

    /// Called once when the store is destroyed, outermost middleware first.
    fn on_destroy(&self, api: &Api<S>) {
        let _ = api;
    }
}

/// What a middleware can do with its store: read it, write through the whole pipeline, write
/// past itself, or commit directly.
///
/// Reads through `Api` are untracked: a middleware that runs inside an effect does not make
/// that effect depend on the store.
///
/// # Examples
/// See [`Middleware`].
pub struct Api<S> {
    store: Store<S>,
    index: usize,
}

/// The rest of the pipeline below one middleware: `run` passes a write on.
///
/// `Next` is a cheap `Clone` handle that stays valid after `on_set` returns, so a middleware
/// can delay a write. Running it after the store was destroyed does nothing.
///
/// # Examples
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use stateloom_store::{Store, middleware_fn};
///
/// // Hold every write until `release` is called.
/// let held = Rc::new(RefCell::new(Vec::new()));
/// let h = held.clone();
/// let store = Store::builder(0)
///     .middleware(middleware_fn(move |_api, next, write| h.borrow_mut().push((next, write))))
///     .build();
/// store.set_state(5);
/// assert_eq!(store.get_state(), 0);
/// let release = || for (next, write) in held.borrow_mut().drain(..) { next.run(write) };
/// release();
/// assert_eq!(store.get_state(), 5);
/// ```
pub struct Next<S> {
    store: Store<S>,
    index: usize,
}

/// A middleware made from a closure over `(api, next, write)`: its `on_set`.
///
/// # Examples
/// ```
/// use stateloom_store::{Store, middleware_fn};
///
/// // Observe: count the writes.
/// let writes = std::rc::Rc::new(std::cell::Cell::new(0));
/// let w = writes.clone();
/// let store = Store::builder(0)
///     .middleware(middleware_fn(move |_api, next, write| {
///         w.set(w.get() + 1);
///         next.run(write);
///     }))
///     .build();
/// store.set_state(1);
/// store.update(|n| *n += 1);
/// assert_eq!((store.get_state(), writes.get()), (2, 2));
/// ```
pub fn middleware_fn<S, F>(on_set: F) -> FnMiddleware<F>
where
    S: Clone + 'static,
    F: Fn(&Api<S>, Next<S>, Write<S>) + 'static,
{
    FnMiddleware(on_set)
}

/// The middleware returned by [`middleware_fn`].
///
/// # Examples
/// See [`middleware_fn`].
pub struct FnMiddleware<F>(F);

impl<S, F> Middleware<S> for FnMiddleware<F>
where
    S: Clone + 'static,
    F: Fn(&Api<S>, Next<S>, Write<S>) + 'static,
{
    fn on_set(&self, api: &Api<S>, next: Next<S>, write: Write<S>) {
        (self.0)(api, next, write);
    }
}

impl<S: Clone + 'static> Api<S> {
    pub(crate) fn new(store: Store<S>, index: usize) -> Self {
        Self { store, index }
    }

    /// The store this middleware belongs to.
    ///
    /// # Examples
    /// See [`Middleware`].
    pub fn store(&self) -> &Store<S> {
        &self.store
    }

    /// A clone of the current state, untracked.
    ///
    /// # Panics
    /// If the store was destroyed and its state disposed.
    ///
    /// # Examples
    /// See [`Middleware`].
    #[track_caller]
    pub fn get_state(&self) -> S {
        self.store.get_state_untracked()
    }

    /// Calls `f` with the current state, untracked.
    ///
    /// # Panics
    /// If the store was destroyed and its state disposed.
    ///
    /// # Examples
    /// See [`Middleware`].
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        self.store.with_untracked(f)
    }

    /// Sends a write through the whole pipeline, from the outermost middleware.
    ///
    /// # Examples
    /// See [`Middleware`].
    pub fn set_state(&self, write: Write<S>) {
        self.store.dispatch(write);
    }

    /// The pipeline below this middleware, for writes that must skip it and those outside it.
    ///
    /// # Examples
    /// See [`Next`].
    pub fn next(&self) -> Next<S> {
        Next::new(self.store.clone(), self.index + 1)
    }

    /// Applies a write directly to the state, skipping every middleware; listeners are
    /// notified, unless the write leaves the state equal. This is how `persist` hydrates a
    /// store without the hydration becoming an undo step or a logged write.
    ///
    /// # Examples
    /// See [`Middleware`].
    pub fn commit(&self, write: Write<S>) {
        self.store.run_from(usize::MAX, write);
    }
}

impl<S: Clone + 'static> Next<S> {
    pub(crate) fn new(store: Store<S>, index: usize) -> Self {
        Self { store, index }
    }

    /// Passes `write` to the rest of the pipeline. Writes made while the store is notifying
    /// its listeners are queued and applied after them.
    ///
    /// # Examples
    /// See [`Next`].
    pub fn run(&self, write: Write<S>) {
        self.store.run_from(self.index, write);
    }
}

impl<S> Clone for Api<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            index: self.index,
        }
    }
}

impl<S> Clone for Next<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            index: self.index,
        }
    }
}

impl<S> fmt::Debug for Api<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api").field("index", &self.index).finish()
    }
}

impl<S> fmt::Debug for Next<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next").field("index", &self.index).finish()
    }
}

impl<F> fmt::Debug for FnMiddleware<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnMiddleware(..)")
    }
}
