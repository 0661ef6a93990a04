//! The store: one state object on the core graph, read through selectors, written through a
//! middleware pipeline.

mod builder;
mod pipeline;
mod subscription;

pub use builder::StoreBuilder;
pub use subscription::StoreSubscription;

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

use stateloom_core::{Computed, Root, Signal, Subscribable, Subscription, computed_with_equals};

use crate::error::{Error, Result};
use crate::middleware::Middleware;
use crate::write::{Patch, Write};
use subscription::Listener;

/// A Zustand-style store: one state value of type `S`, written through a middleware pipeline,
/// read directly or through selectors.
///
/// `Store` is a cheap `Clone` handle; clones share one store. It is not `Send`, like the
/// core graph it lives on. The state is a core [`Signal`], so reading the store (or a
/// [selector](Store::select)) inside a core computed or effect tracks it.
///
/// Writes: [`set_state`](Self::set_state) replaces the state, [`update`](Self::update)
/// changes it in place, [`patch`](Self::patch) applies a partial update, and
/// [`named`](Self::named) gives any of them an action name for middleware. Each committed
/// write is one change: listeners are called once, synchronously, after it is committed, even
/// inside a core `batch` (core effects and computeds follow the batch as usual).
///
/// A write whose result equals the current state is skipped, as Zustand does: no listener
/// is called, no effect re-runs, and no middleware records it (no undo step, no save, no log
/// line). The comparison happens once the write has passed every middleware, so it covers
/// every path to the state, a middleware that rewrites a write into the current state
/// included. [`new`](Self::new) and [`builder`](Self::builder) compare with `PartialEq`;
/// [`new_with_equals`](Self::new_with_equals) and
/// [`builder_with_equals`](Self::builder_with_equals) take an equality of your own, also for
/// a state without `PartialEq` (`|_, _| false` makes every write a change).
///
/// A write made while the store is committing (by a listener, or by a core effect the commit
/// ran) is queued and applied, in order, after the current write's listeners have all
/// returned. Writes made by middleware during `on_set` run at once.
///
/// # Examples
/// ```
/// use stateloom_store::Store;
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct Counter { count: i32, step: i32 }
///
/// let store = Store::new(Counter { count: 0, step: 2 });
/// let count = store.select(|s| s.count);
/// let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let l = log.clone();
/// let _sub = store.subscribe(move |new, old| l.borrow_mut().push((old.count, new.count)));
/// store.named("increment").update(|s| s.count += s.step);
/// store.update(|s| s.count *= 1); // the same state: skipped
/// assert_eq!(count.get(), 2);
/// assert_eq!(*log.borrow(), [(0, 2)]);
/// ```
pub struct Store<S> {
    pub(crate) inner: Rc<Inner<S>>,
}

/// A write started by [`Store::named`]: the same write methods, carrying an action name.
///
/// # Examples
/// ```
/// let store = stateloom_store::Store::new(0);
/// store.named("reset").set_state(0);
/// ```
#[must_use = "a named write does nothing until one of its methods is called"]
pub struct Named<'a, S> {
    store: &'a Store<S>,
    name: Cow<'static, str>,
}

/// The shared state of a store.
pub(crate) struct Inner<S> {
    /// The state. Its equality is "never equal": the store compares a write with `equals`
    /// before committing it, so every commit is a change.
    pub(crate) signal: Signal<S>,
    /// Whether a write's result is the current state; such a write is skipped.
    pub(crate) equals: fn(&S, &S) -> bool,
    /// Owns the state signal and the selectors; disposed by `destroy`.
    pub(crate) root: RefCell<Option<Root>>,
    /// Outermost first.
    pub(crate) middleware: RefCell<Vec<Rc<dyn Middleware<S>>>>,
    pub(crate) listeners: RefCell<Vec<Rc<Listener<S>>>>,
    /// Invariant: true exactly while a commit runs (signal write, core effects, listeners).
    pub(crate) busy: Cell<bool>,
    /// How many pipeline runs are on the stack.
    pub(crate) depth: Cell<u32>,
    pub(crate) draining: Cell<bool>,
    /// Writes made while busy, with the pipeline position to resume at.
    pub(crate) queue: RefCell<VecDeque<(usize, Write<S>)>>,
    /// A listener was removed while busy; compact the list after the commit.
    pub(crate) compact: Cell<bool>,
    pub(crate) destroyed: Cell<bool>,
    pub(crate) destroy_pending: Cell<bool>,
    /// The state and selectors were disposed (the end of `destroy`).
    pub(crate) disposed: Cell<bool>,
    /// Committed writes.
    pub(crate) version: Cell<u64>,
    /// Writes that reached the end of the pipeline: committed, or skipped as equal.
    pub(crate) reached: Cell<u64>,
    /// Called in the commit's core batch with the old state, after the new one is in place:
    /// in-crate middleware whose own signals must change together with the state.
    pub(crate) commit_hooks: RefCell<Vec<CommitHook<S>>>,
}

/// See [`Inner::commit_hooks`].
pub(crate) type CommitHook<S> = Rc<dyn Fn(&S)>;

impl<S> Drop for Inner<S> {
    /// The last handle is gone: free the state and the selectors, which no other owner frees.
    fn drop(&mut self) {
        if let Some(root) = self.root.get_mut().take() {
            root.dispose();
        }
    }
}

impl<S: Clone + PartialEq + 'static> Store<S> {
    /// Creates a store with no middleware. A write whose result equals the current state (by
    /// `PartialEq`) is skipped; [`new_with_equals`](Self::new_with_equals) takes another
    /// equality, or makes a store of a state without `PartialEq`.
    ///
    /// The state and selectors live in a detached core root of the store's own
    /// ([`create_detached_root`](stateloom_core::create_detached_root)): a store built inside an
    /// effect or another root outlives them. [`destroy`](Self::destroy), or dropping the last
    /// handle, frees them; only `destroy` runs the middleware's `on_destroy`.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(vec!["milk"]);
    /// assert_eq!(store.get_state(), ["milk"]);
    /// store.set_state(vec!["milk"]); // equal: nothing happens
    /// assert_eq!(store.version(), 0);
    /// ```
    #[track_caller]
    pub fn new(initial: S) -> Self {
        Self::builder(initial).build()
    }

    /// Starts a store with middleware, skipping equal writes by `PartialEq`; see
    /// [`StoreBuilder`].
    ///
    /// # Examples
    /// See [`StoreBuilder`].
    pub fn builder(initial: S) -> StoreBuilder<S> {
        StoreBuilder::new(initial, S::eq)
    }
}

impl<S: Clone + 'static> Store<S> {
    /// Creates a store with no middleware that skips a write when `equals(current, new)` is
    /// true. Any state type can have one: `|_, _| false` makes every write a change.
    ///
    /// `equals` is user code run inside a write: a write it makes to the store is queued
    /// and applied after the current one, and if it panics the write is dropped, nothing of it
    /// is applied and the store stays usable.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::Store;
    ///
    /// /// A document without `PartialEq`: only its revision tells two apart.
    /// #[derive(Clone)]
    /// struct Doc { revision: u64, body: String }
    ///
    /// let store = Store::new_with_equals(
    ///     Doc { revision: 1, body: "draft".into() },
    ///     |a, b| a.revision == b.revision,
    /// );
    /// store.update(|d| d.body.push('!')); // same revision: skipped
    /// assert_eq!(store.with(|d| d.body.clone()), "draft");
    /// store.update(|d| { d.revision += 1; d.body = "final".into(); });
    /// assert_eq!(store.version(), 1);
    ///
    /// // Every write notifies, as a store without any comparison.
    /// let events = Store::new_with_equals(0, |_, _| false);
    /// events.set_state(0);
    /// assert_eq!(events.version(), 1);
    /// ```
    #[track_caller]
    pub fn new_with_equals(initial: S, equals: fn(&S, &S) -> bool) -> Self {
        Self::builder_with_equals(initial, equals).build()
    }

    /// Starts a store with middleware that skips a write when `equals(current, new)` is true;
    /// see [`StoreBuilder`] and [`new_with_equals`](Self::new_with_equals).
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{History, Store};
    ///
    /// // Floats compare within a tolerance: a write that moves less is not an undo step.
    /// let history = History::new(10);
    /// let store = Store::builder_with_equals(1.0_f64, |a, b| (a - b).abs() < 1e-9)
    ///     .middleware(history.clone())
    ///     .build();
    /// store.set_state(1.0 + 1e-12);
    /// assert_eq!(history.undo_len(), 0);
    /// store.set_state(2.0);
    /// assert_eq!(history.undo_len(), 1);
    /// ```
    pub fn builder_with_equals(initial: S, equals: fn(&S, &S) -> bool) -> StoreBuilder<S> {
        StoreBuilder::new(initial, equals)
    }

    /// A clone of the state, tracked by the enclosing computed or effect.
    ///
    /// # Panics
    /// If the store was destroyed; [`try_get_state`](Self::try_get_state) returns an error
    /// instead.
    ///
    /// # Examples
    /// ```
    /// use stateloom_core::computed;
    ///
    /// let store = stateloom_store::Store::new(2);
    /// let s = store.clone();
    /// let doubled = computed(move || s.get_state() * 2);
    /// store.set_state(5);
    /// assert_eq!(doubled.get(), 10);
    /// ```
    #[track_caller]
    pub fn get_state(&self) -> S {
        self.with(S::clone)
    }

    /// A clone of the state, or [`Error::Destroyed`].
    ///
    /// # Errors
    /// [`Error::Destroyed`] if the store was destroyed.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(1);
    /// store.destroy();
    /// assert!(store.try_get_state().is_err());
    /// ```
    pub fn try_get_state(&self) -> Result<S> {
        if self.inner.disposed.get() {
            return Err(Error::Destroyed);
        }
        self.inner
            .signal
            .try_with(S::clone)
            .map_err(|_| Error::Destroyed)
    }

    /// A clone of the state, untracked.
    ///
    /// # Panics
    /// If the store was destroyed.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(1);
    /// assert_eq!(store.get_state_untracked(), 1);
    /// ```
    #[track_caller]
    pub fn get_state_untracked(&self) -> S {
        self.with_untracked(S::clone)
    }

    /// Calls `f` with the state, tracked, without cloning it.
    ///
    /// # Panics
    /// If the store was destroyed, or if `f` writes the store's state signal directly.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(vec![1, 2, 3]);
    /// assert_eq!(store.with(|v| v.len()), 3);
    /// ```
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        self.assert_alive();
        self.inner.signal.with(f)
    }

    /// Calls `f` with the state, untracked, without cloning it.
    ///
    /// # Panics
    /// If the store was destroyed.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(String::from("hi"));
    /// assert_eq!(store.with_untracked(|s| s.len()), 2);
    /// ```
    #[track_caller]
    pub fn with_untracked<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        self.assert_alive();
        self.inner.signal.with_untracked(f)
    }

    /// Replaces the state. Ignored after [`destroy`](Self::destroy), and skipped if `state`
    /// equals the current state.
    ///
    /// # Panics
    /// If a listener panics (the panic continues after the store is left consistent).
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(1);
    /// store.set_state(2);
    /// assert_eq!(store.get_state(), 2);
    /// ```
    pub fn set_state(&self, state: S) {
        self.dispatch(Write::replace(state));
    }

    /// Replaces the state, handing it back if the store was destroyed.
    ///
    /// # Errors
    /// `Err(state)` if the store was destroyed; nothing is written.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(1);
    /// assert_eq!(store.try_set_state(2), Ok(()));
    /// store.destroy();
    /// assert_eq!(store.try_set_state(3), Err(3));
    /// ```
    pub fn try_set_state(&self, state: S) -> std::result::Result<(), S> {
        self.try_dispatch(Write::replace(state))
            .map_err(|write| match write.into_update() {
                crate::Update::Replace(state) => state,
                crate::Update::Mutate(_) => unreachable!("a replace write is handed back as is"),
            })
    }

    /// Changes the state in place with `f`. `f` runs on a copy of the state, so the old state
    /// is still there for listeners and a panic in `f` changes nothing. A write `f` makes to
    /// the store is queued and applied after this one (and dropped if `f` panics). Ignored
    /// after [`destroy`](Self::destroy), and skipped if `f` leaves the state equal to what it
    /// was.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(vec![1]);
    /// store.update(|v| v.push(2));
    /// assert_eq!(store.get_state(), [1, 2]);
    /// ```
    pub fn update(&self, f: impl FnOnce(&mut S) + 'static) {
        self.dispatch(Write::update(f));
    }

    /// Applies a partial update; see [`Patch`].
    ///
    /// # Examples
    /// See [`Patch`].
    pub fn patch(&self, patch: impl Patch<S> + 'static) {
        self.dispatch(Write::patch(patch));
    }

    /// Starts a write carrying the action name `name`, which middleware (the logger, say) sees.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(0);
    /// store.named("increment").update(|n| *n += 1);
    /// assert_eq!(store.get_state(), 1);
    /// ```
    pub fn named(&self, name: impl Into<Cow<'static, str>>) -> Named<'_, S> {
        Named {
            store: self,
            name: name.into(),
        }
    }

    /// Sends `write` through the middleware pipeline. Ignored after [`destroy`](Self::destroy).
    ///
    /// # Examples
    /// See [`Write`].
    pub fn dispatch(&self, write: Write<S>) {
        let _ = self.try_dispatch(write);
    }

    /// Sends `write` through the middleware pipeline, handing it back if the store was
    /// destroyed.
    ///
    /// # Errors
    /// `Err(write)` if the store was destroyed.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{Store, Write};
    ///
    /// let store = Store::new(0);
    /// store.destroy();
    /// assert!(store.try_dispatch(Write::replace(1)).is_err());
    /// ```
    pub fn try_dispatch(&self, write: Write<S>) -> std::result::Result<(), Write<S>> {
        if self.inner.destroyed.get() {
            return Err(write);
        }
        self.run_from(0, write);
        Ok(())
    }

    /// A selector: a core [`Computed`] of `f` over the state. It recomputes when the state
    /// changes, and notifies its readers only when its output changes (by `PartialEq`).
    ///
    /// The computed is owned by the store and disposed by [`destroy`](Self::destroy); make
    /// selectors once, next to the store, rather than in an effect that re-runs. For a
    /// derived value owned by the current root or effect, write
    /// `computed(move || store.with(f))` instead.
    ///
    /// # Panics
    /// If the store was destroyed.
    ///
    /// # Examples
    /// ```
    /// use stateloom_core::effect;
    ///
    /// let store = stateloom_store::Store::new((1, "a"));
    /// let first = store.select(|s| s.0);
    /// let runs = std::rc::Rc::new(std::cell::Cell::new(0));
    /// let r = runs.clone();
    /// effect(move || { first.get(); r.set(r.get() + 1); });
    /// store.update(|s| s.1 = "b"); // `first` is unchanged: the effect does not run
    /// store.update(|s| s.0 = 2);
    /// assert_eq!(runs.get(), 2);
    /// ```
    #[track_caller]
    pub fn select<T: PartialEq + 'static>(&self, f: impl Fn(&S) -> T + 'static) -> Computed<T> {
        self.select_with(f, T::eq)
    }

    /// A selector with a custom equality; see [`select`](Self::select).
    ///
    /// # Panics
    /// If the store was destroyed.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(vec![3, 1]);
    /// // Only the length matters to readers.
    /// let items = store.select_with(|v| v.clone(), |a, b| a.len() == b.len());
    /// assert_eq!(items.get(), [3, 1]);
    /// ```
    #[track_caller]
    pub fn select_with<T: 'static>(
        &self,
        f: impl Fn(&S) -> T + 'static,
        equals: fn(&T, &T) -> bool,
    ) -> Computed<T> {
        self.assert_alive();
        let signal = self.inner.signal;
        let root = self.inner.root.borrow();
        let root = root.as_ref().expect("a live store has its root");
        root.run(|| computed_with_equals(move || signal.with(&f), equals))
    }

    /// Calls `listener(new, old)` once after every committed write, until unsubscribed. A
    /// write skipped as equal calls no listener.
    ///
    /// Listeners run synchronously, in subscription order, after core effects triggered by
    /// the same write. A listener subscribed during a notification is first called for the
    /// next write. A write made by a listener is queued until every listener has seen the
    /// current one.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(1);
    /// let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// let sub = store.subscribe(move |new, old| s.borrow_mut().push((*old, *new)));
    /// store.set_state(2);
    /// sub.unsubscribe();
    /// store.set_state(3);
    /// assert_eq!(*seen.borrow(), [(1, 2)]);
    /// ```
    pub fn subscribe(&self, listener: impl FnMut(&S, &S) + 'static) -> StoreSubscription {
        StoreSubscription::attach(self, Box::new(listener))
    }

    /// Calls `listener(new, old)` with the output of `selector` whenever a write changes it
    /// (by `PartialEq`). The selector runs once per write; nothing is recomputed otherwise.
    ///
    /// # Panics
    /// If the store was destroyed.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new((0, 0));
    /// let calls = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let c = calls.clone();
    /// let _sub = store.subscribe_selector(|s| s.0, move |new, old| c.borrow_mut().push((*old, *new)));
    /// store.update(|s| s.1 += 1); // not selected: no call
    /// store.update(|s| s.0 += 1);
    /// assert_eq!(*calls.borrow(), [(0, 1)]);
    /// ```
    #[track_caller]
    pub fn subscribe_selector<T: PartialEq + 'static>(
        &self,
        selector: impl Fn(&S) -> T + 'static,
        listener: impl FnMut(&T, &T) + 'static,
    ) -> StoreSubscription {
        self.subscribe_selector_with(selector, T::eq, listener)
    }

    /// [`subscribe_selector`](Self::subscribe_selector) with a custom equality.
    ///
    /// # Panics
    /// If the store was destroyed.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(1.0_f64);
    /// let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    /// let c = calls.clone();
    /// let _sub = store.subscribe_selector_with(
    ///     |x| *x,
    ///     |a, b| (a - b).abs() < 0.5,
    ///     move |_, _| c.set(c.get() + 1),
    /// );
    /// store.set_state(1.2); // within 0.5: not a change
    /// store.set_state(2.0);
    /// assert_eq!(calls.get(), 1);
    /// ```
    #[track_caller]
    pub fn subscribe_selector_with<T: 'static>(
        &self,
        selector: impl Fn(&S) -> T + 'static,
        equals: fn(&T, &T) -> bool,
        mut listener: impl FnMut(&T, &T) + 'static,
    ) -> StoreSubscription {
        let mut last = self.with_untracked(&selector);
        self.subscribe(move |new, _| {
            let next = selector(new);
            if !equals(&last, &next) {
                let previous = std::mem::replace(&mut last, next);
                listener(&last, &previous);
            }
        })
    }

    /// Destroys the store: runs middleware `on_destroy` (outermost first), drops every
    /// listener and middleware, and disposes the state and the selectors. Later writes are
    /// ignored (`try_*` writes hand their value back) and reads panic (`try_get_state`
    /// returns [`Error::Destroyed`]). Idempotent. Called from a listener or middleware, it
    /// takes effect when the current write has finished.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(1);
    /// let selector = store.select(|n| *n);
    /// store.destroy();
    /// assert!(store.is_destroyed());
    /// assert!(selector.try_get().is_err());
    /// store.set_state(2); // ignored
    /// ```
    pub fn destroy(&self) {
        if self.inner.destroyed.replace(true) {
            return;
        }
        if self.inner.depth.get() > 0 {
            self.inner.destroy_pending.set(true);
        } else {
            self.finish_destroy();
        }
    }

    /// Whether [`destroy`](Self::destroy) was called.
    ///
    /// # Examples
    /// See [`destroy`](Self::destroy).
    pub fn is_destroyed(&self) -> bool {
        self.inner.destroyed.get()
    }

    /// The core signal holding the state, for [`Scope`](stateloom_core::Scope) integration:
    /// `scope.set(store.signal(), state)` gives one request its own state, and with the core
    /// `serde` feature `scope.serialize(&[("todos", &store.signal())])` serializes it.
    ///
    /// Write the store through its own methods: writing this signal directly skips middleware
    /// and listeners.
    ///
    /// # Examples
    /// ```
    /// use stateloom_core::{Scope, run_in_scope};
    ///
    /// let store = stateloom_store::Store::new("anonymous");
    /// let request = Scope::new();
    /// request.set(store.signal(), "ada");
    /// assert_eq!(run_in_scope(&request, || store.get_state()), "ada");
    /// assert_eq!(store.get_state(), "anonymous");
    /// ```
    pub fn signal(&self) -> Signal<S> {
        self.inner.signal
    }

    /// How many writes have been committed since the store was built (hydration included);
    /// a write skipped as equal is not counted.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new(0);
    /// store.set_state(0); // equal: skipped
    /// store.set_state(1);
    /// assert_eq!(store.version(), 1);
    /// ```
    pub fn version(&self) -> u64 {
        self.inner.version.get()
    }

    /// How many writes reached the end of the pipeline, committed or skipped as equal: with
    /// [`version`](Self::version), how middleware tells a skipped write from a dropped one.
    #[cfg(feature = "tracing")]
    pub(crate) fn reached(&self) -> u64 {
        self.inner.reached.get()
    }

    /// Whether a commit is running: a write made now is queued.
    pub(crate) fn is_busy(&self) -> bool {
        self.inner.busy.get()
    }

    /// Adds a hook called inside every commit; see [`Inner::commit_hooks`].
    pub(crate) fn add_commit_hook(&self, hook: CommitHook<S>) {
        if !self.inner.destroyed.get() {
            self.inner.commit_hooks.borrow_mut().push(hook);
        }
    }

    #[track_caller]
    fn assert_alive(&self) {
        assert!(
            !self.inner.disposed.get(),
            "the store was destroyed; use `try_get_state`, or stop reading it after `destroy`"
        );
    }
}

impl<S: Clone + 'static> Named<'_, S> {
    /// Replaces the state, as [`Store::set_state`].
    ///
    /// # Examples
    /// See [`Named`].
    pub fn set_state(self, state: S) {
        self.store
            .dispatch(Write::replace(state).with_action(self.name));
    }

    /// Changes the state in place, as [`Store::update`].
    ///
    /// # Examples
    /// See [`Store::named`].
    pub fn update(self, f: impl FnOnce(&mut S) + 'static) {
        self.store.dispatch(Write::update(f).with_action(self.name));
    }

    /// Applies a partial update, as [`Store::patch`].
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_store::Store::new((1, 2));
    /// store.named("bump").patch(|s: &mut (i32, i32)| s.1 += 1);
    /// assert_eq!(store.get_state(), (1, 3));
    /// ```
    pub fn patch(self, patch: impl Patch<S> + 'static) {
        self.store
            .dispatch(Write::patch(patch).with_action(self.name));
    }
}

impl<S> Clone for Store<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<S> PartialEq for Store<S> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<S> Eq for Store<S> {}

impl<S> fmt::Debug for Store<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("signal", &self.inner.signal)
            .field("version", &self.inner.version.get())
            .field("destroyed", &self.inner.destroyed.get())
            .finish()
    }
}

impl<S> fmt::Debug for Named<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Named").field("name", &self.name).finish()
    }
}

/// Reading a store through [`Subscribable`] reads its whole state (tracked); `subscribe`
/// goes through the core graph (an effect), so it follows core batching.
impl<S: Clone + 'static> Subscribable<S> for Store<S> {
    fn get(&self) -> S {
        self.get_state()
    }

    fn subscribe(&self, callback: Box<dyn FnMut(&S)>) -> Subscription {
        self.inner.signal.subscribe(callback)
    }
}
