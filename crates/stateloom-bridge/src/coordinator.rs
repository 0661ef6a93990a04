//! [`BatchCoordinator`]: holds the atom updates an external store makes during its dispatch
//! and applies them together, in one kernel batch, once the dispatch is over.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use stateloom_atom::{Atom, AtomScope};
use stateloom_core::{Signal, batch};

use crate::error::{Error, Result};
use crate::external::{BatchUpdates, ExternalStore, Phase};
use crate::key::DynKey;

/// How many times, by default, a flush is put off because the external store is still
/// dispatching before [`Error::FlushStarvation`] is reported.
pub const DEFAULT_MAX_DEFERRALS: u32 = 1000;

/// Coordinates the updates an external store makes to atoms: while the store runs a
/// notification pass (its [`BatchUpdates`]), updates are queued, the last value per target
/// winning, in the order targets were first queued; when the outermost pass ends and the
/// store's dispatch is over, they are applied together in one kernel
/// [`batch`](stateloom_core::batch), so subscribers and effects run once, with the final
/// values, through the kernel's [batch hook](stateloom_core::set_batch_hook) (a UI
/// toolkit's batch, for example).
///
/// - **Nesting**: passes inside passes flush once, when the outermost ends.
/// - **Deferral**: if the store is still dispatching when the outermost pass ends, the flush
///   waits. A store that reports [`Phase`]s flushes on [`Phase::AfterSettle`], with no
///   polling; otherwise a dispatch probe ([`with_dispatch_probe`](Self::with_dispatch_probe))
///   says when it may run, and the flush runs at the next pass, update, [`poll`](Self::poll)
///   or [`wait_for_flush`](Self::wait_for_flush).
/// - **Follow-ups**: updates queued while a flush runs (by a subscriber) are flushed right
///   after it, in a second batch.
/// - **Starvation**: a flush put off more than [`with_max_deferrals`](Self::with_max_deferrals)
///   times reports [`Error::FlushStarvation`] instead of waiting forever.
///
/// Cheap to clone (a handle to shared state); not `Send`.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomScope, atom};
/// use stateloom_bridge::BatchCoordinator;
///
/// let scope = AtomScope::new();
/// let count = atom(0);
/// let coordinator = BatchCoordinator::new(scope.clone());
/// let batch = coordinator.batch_updates(); // give this to the external store
/// batch.run(&mut || {
///     coordinator.queue_update(count, 1);
///     coordinator.queue_update(count, 2);
///     assert_eq!(scope.get(count), 0); // not yet
/// });
/// assert_eq!(scope.get(count), 2);
/// assert_eq!(coordinator.flush_count(), 1);
/// ```
#[derive(Clone)]
pub struct BatchCoordinator {
    inner: Rc<CoordinatorInner>,
}

/// Something a coordinator can update: an [`Atom`] (in the coordinator's scope) or a kernel
/// [`Signal`]. Equal targets are the same target: the last value queued for it wins.
///
/// # Examples
/// ```
/// use stateloom_bridge::{BatchCoordinator, UpdateTarget};
///
/// fn set_later<T: 'static>(c: &BatchCoordinator, target: impl UpdateTarget<T>, value: T) {
///     c.queue_update(target, value);
/// }
/// let s = stateloom_core::signal(1);
/// let c = BatchCoordinator::new(stateloom_atom::AtomScope::new());
/// set_later(&c, s, 2);
/// assert_eq!(s.get(), 2);
/// ```
pub trait UpdateTarget<T>: Copy + Eq + Hash + 'static {
    /// Writes `value`; `scope` is the coordinator's scope.
    fn apply(self, scope: &AtomScope, value: T);
}

impl<T: 'static> UpdateTarget<T> for Atom<T> {
    fn apply(self, scope: &AtomScope, value: T) {
        if !scope.is_disposed() {
            scope.set(self, value);
        }
    }
}

impl<T: 'static> UpdateTarget<T> for Signal<T> {
    fn apply(self, _scope: &AtomScope, value: T) {
        // A disposed signal (its query atom was released) takes no more values.
        let _ = self.try_set(value);
    }
}

pub(crate) struct CoordinatorInner {
    id: u64,
    scope: AtomScope,
    probe: RefCell<Option<Rc<dyn Fn() -> bool>>>,
    max_deferrals: Cell<u32>,
    /// Depth of the store's notification passes running now.
    depth: Cell<u32>,
    queue: RefCell<UpdateQueue>,
    flushing: Cell<bool>,
    /// A flush is waiting for the store's dispatch to end.
    deferred: Cell<bool>,
    deferrals: Cell<u32>,
    cancelled: Cell<bool>,
    /// Between [`Phase::BeforeChange`] and [`Phase::AfterSettle`].
    in_change: Cell<bool>,
    /// The store reports phases: they, not the probe, say when it dispatches.
    phased: Cell<bool>,
    flushes: Cell<u64>,
}

type Update = Box<dyn FnOnce(&AtomScope)>;

/// Pending updates, one per target, in first-queued order.
///
/// # Invariants
/// `index` maps each target to its slot in `slots`, and `slots` has no other entries.
struct UpdateQueue {
    state: ahash::RandomState,
    index: HashMap<DynKey, usize, ahash::RandomState>,
    slots: Vec<Update>,
}

impl UpdateQueue {
    fn new() -> Self {
        Self {
            state: ahash::RandomState::new(),
            index: HashMap::with_hasher(ahash::RandomState::new()),
            slots: Vec::new(),
        }
    }

    fn push<K: Eq + Hash + 'static>(&mut self, key: K, update: Update) {
        let key = DynKey::new(key, &self.state);
        match self.index.get(&key) {
            Some(&slot) => self.slots[slot] = update,
            None => {
                self.index.insert(key, self.slots.len());
                self.slots.push(update);
            }
        }
    }

    fn take(&mut self) -> Vec<Update> {
        self.index.clear();
        std::mem::take(&mut self.slots)
    }

    fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
    }

    fn len(&self) -> usize {
        debug_assert_eq!(self.index.len(), self.slots.len(), "one slot per target");
        self.slots.len()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl BatchCoordinator {
    /// A coordinator whose atom updates go to `scope`.
    ///
    /// # Examples
    /// See [`BatchCoordinator`].
    pub fn new(scope: AtomScope) -> Self {
        Self {
            inner: Rc::new(CoordinatorInner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                scope,
                probe: RefCell::new(None),
                max_deferrals: Cell::new(DEFAULT_MAX_DEFERRALS),
                depth: Cell::new(0),
                queue: RefCell::new(UpdateQueue::new()),
                flushing: Cell::new(false),
                deferred: Cell::new(false),
                deferrals: Cell::new(0),
                cancelled: Cell::new(false),
                in_change: Cell::new(false),
                phased: Cell::new(false),
                flushes: Cell::new(0),
            }),
        }
    }

    /// Sets the probe that says whether the external store is dispatching now; while it
    /// returns `true`, flushes wait. Once the store has reported a [`Phase`], the phases
    /// decide and the probe is no longer asked.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use stateloom_bridge::BatchCoordinator;
    ///
    /// let dispatching = Rc::new(Cell::new(true));
    /// let d = dispatching.clone();
    /// let c = BatchCoordinator::new(stateloom_atom::AtomScope::new())
    ///     .with_dispatch_probe(move || d.get());
    /// let s = stateloom_core::signal(0);
    /// c.queue_update(s, 1);
    /// assert_eq!(s.get(), 0); // the store is dispatching
    /// dispatching.set(false);
    /// assert!(c.poll().unwrap());
    /// assert_eq!(s.get(), 1);
    /// ```
    pub fn with_dispatch_probe(self, probe: impl Fn() -> bool + 'static) -> Self {
        *self.inner.probe.borrow_mut() = Some(Rc::new(probe));
        self
    }

    /// Sets how many times a flush may be put off before
    /// [`Error::FlushStarvation`] (default [`DEFAULT_MAX_DEFERRALS`]).
    ///
    /// # Examples
    /// ```
    /// use stateloom_bridge::BatchCoordinator;
    ///
    /// let c = BatchCoordinator::new(stateloom_atom::AtomScope::new())
    ///     .with_dispatch_probe(|| true) // never ends
    ///     .with_max_deferrals(3);
    /// c.queue_update(stateloom_core::signal(0), 1);
    /// let error = c.wait_for_flush().unwrap_err();
    /// assert_eq!(error.code(), "FLUSH_STARVATION");
    /// c.cancel_pending();
    /// assert_eq!(c.queue_len(), 0);
    /// ```
    pub fn with_max_deferrals(self, max: u32) -> Self {
        self.inner.max_deferrals.set(max);
        self
    }

    /// This coordinator's id, unique in the process.
    ///
    /// # Examples
    /// See [`BatchUpdates::coordinator`].
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The scope atom updates go to.
    ///
    /// # Examples
    /// ```
    /// let scope = stateloom_atom::AtomScope::new();
    /// let c = stateloom_bridge::BatchCoordinator::new(scope.clone());
    /// assert_eq!(c.scope(), &scope);
    /// ```
    pub fn scope(&self) -> &AtomScope {
        &self.inner.scope
    }

    /// The [`BatchUpdates`] to create the external store with: it runs the store's
    /// notification passes through this coordinator and receives its [`Phase`]s. It holds
    /// the coordinator weakly: once the coordinator is dropped, passes simply run.
    ///
    /// # Examples
    /// See [`BatchCoordinator`].
    pub fn batch_updates(&self) -> BatchUpdates {
        BatchUpdates::coordinated(Rc::downgrade(&self.inner), self.inner.id)
    }

    /// Checks that `store` was created with this coordinator's
    /// [`batch_updates`](Self::batch_updates).
    ///
    /// # Errors
    /// [`Error::NotWired`] (code `BRIDGE_UNWIRED`) if it was not.
    ///
    /// # Examples
    /// See [`StoreBridge::new`](crate::StoreBridge::new).
    pub fn assert_wired<S: ExternalStore>(&self, store: &S) -> Result<()> {
        let found = store.batch_updates().coordinator();
        if found == Some(self.inner.id) {
            Ok(())
        } else {
            Err(Error::NotWired {
                expected: self.inner.id,
                found,
            })
        }
    }

    /// Sets `target` to `value`: at once when no store pass, dispatch or flush is running
    /// and nothing is queued; otherwise queued (replacing a value queued earlier for the same
    /// target, which keeps its place) and applied with the next flush.
    ///
    /// # Panics
    /// If applying the update now panics (a subscriber panicked); the update is applied.
    ///
    /// # Examples
    /// See [`BatchCoordinator`].
    pub fn queue_update<T: 'static>(&self, target: impl UpdateTarget<T>, value: T) {
        let inner = &self.inner;
        if inner.depth.get() == 0
            && !inner.flushing.get()
            && inner.queue.borrow().len() == 0
            && !inner.is_dispatching()
        {
            target.apply(&inner.scope, value);
            return;
        }
        inner.queue.borrow_mut().push(
            target,
            Box::new(move |scope: &AtomScope| target.apply(scope, value)),
        );
        if inner.depth.get() == 0 {
            inner.schedule_flush();
        }
    }

    /// Tries to run a flush that was put off: flushes if updates are queued and the store is
    /// no longer dispatching. Returns whether a flush ran.
    ///
    /// # Errors
    /// [`Error::FlushStarvation`] once the flush has been put off more than the limit; the
    /// updates stay queued until a flush runs or [`cancel_pending`](Self::cancel_pending).
    ///
    /// # Examples
    /// See [`with_dispatch_probe`](Self::with_dispatch_probe).
    pub fn poll(&self) -> Result<bool> {
        self.inner.poll()
    }

    /// Flushes pending updates, retrying while the store dispatches (yielding the thread
    /// between attempts, for a store whose dispatch runs on another thread) up to the
    /// deferral limit. Returns at once when nothing is pending.
    ///
    /// # Errors
    /// [`Error::FlushStarvation`] if the store never stopped dispatching.
    ///
    /// # Examples
    /// See [`with_max_deferrals`](Self::with_max_deferrals).
    pub fn wait_for_flush(&self) -> Result<()> {
        loop {
            self.inner.poll()?;
            if self.inner.queue.borrow().len() == 0 {
                return Ok(());
            }
            std::thread::yield_now();
        }
    }

    /// Drops every queued update and any flush waiting for the store; a flush running now
    /// stops after its current batch.
    ///
    /// # Examples
    /// See [`with_max_deferrals`](Self::with_max_deferrals).
    pub fn cancel_pending(&self) {
        let inner = &self.inner;
        inner.queue.borrow_mut().clear();
        inner.deferred.set(false);
        inner.deferrals.set(0);
        if inner.flushing.get() {
            inner.cancelled.set(true);
        }
    }

    /// How many targets have an update queued.
    ///
    /// # Examples
    /// See [`with_max_deferrals`](Self::with_max_deferrals).
    pub fn queue_len(&self) -> usize {
        self.inner.queue.borrow().len()
    }

    /// Whether a flush is waiting for the store's dispatch to end.
    ///
    /// # Examples
    /// ```
    /// let c = stateloom_bridge::BatchCoordinator::new(stateloom_atom::AtomScope::new())
    ///     .with_dispatch_probe(|| true);
    /// c.queue_update(stateloom_core::signal(0), 1);
    /// assert!(c.is_flush_deferred());
    /// ```
    pub fn is_flush_deferred(&self) -> bool {
        self.inner.deferred.get()
    }

    /// How many flushes (kernel batches of queued updates) this coordinator has run.
    ///
    /// # Examples
    /// See [`BatchCoordinator`].
    pub fn flush_count(&self) -> u64 {
        self.inner.flushes.get()
    }
}

impl CoordinatorInner {
    fn is_dispatching(&self) -> bool {
        if self.phased.get() {
            return self.in_change.get();
        }
        let probe = self.probe.borrow().clone();
        probe.is_some_and(|probe| probe())
    }

    /// Runs one notification pass of the store; flushes when the outermost one ends.
    pub(crate) fn run_batch(&self, pass: &mut dyn FnMut()) {
        self.depth.set(self.depth.get() + 1);
        let result = catch_unwind(AssertUnwindSafe(pass));
        self.depth.set(self.depth.get() - 1);
        let flushed = if self.depth.get() == 0 {
            catch_unwind(AssertUnwindSafe(|| self.schedule_flush()))
        } else {
            Ok(())
        };
        // The pass's own panic wins over a subscriber's.
        if let Err(payload) = result.and(flushed) {
            resume_unwind(payload);
        }
    }

    pub(crate) fn on_phase(&self, phase: Phase) {
        self.phased.set(true);
        match phase {
            Phase::BeforeChange => self.in_change.set(true),
            Phase::AfterSettle => {
                self.in_change.set(false);
                if self.depth.get() == 0 {
                    self.schedule_flush();
                }
            }
        }
    }

    fn schedule_flush(&self) {
        if self.flushing.get() {
            // The running flush follows up with what was queued.
            return;
        }
        if self.queue.borrow().len() == 0 {
            self.deferred.set(false);
            return;
        }
        if self.is_dispatching() {
            self.deferred.set(true);
            return;
        }
        self.flush_now();
    }

    fn poll(&self) -> Result<bool> {
        let queued = self.queue.borrow().len();
        if queued == 0 {
            self.deferred.set(false);
            return Ok(false);
        }
        if self.flushing.get() || self.depth.get() > 0 || self.is_dispatching() {
            let deferrals = self.deferrals.get().saturating_add(1);
            self.deferrals.set(deferrals);
            if deferrals > self.max_deferrals.get() {
                return Err(Error::FlushStarvation { deferrals, queued });
            }
            return Ok(false);
        }
        self.flush_now();
        Ok(true)
    }

    /// Applies the queue in one kernel batch, then what was queued meanwhile, until empty.
    fn flush_now(&self) {
        self.flushing.set(true);
        self.deferred.set(false);
        self.deferrals.set(0);
        self.cancelled.set(false);
        let _guard = FlushGuard(self);
        let mut first_panic = None;
        loop {
            let updates = self.queue.borrow_mut().take();
            if updates.is_empty() {
                break;
            }
            self.flushes.set(self.flushes.get() + 1);
            let scope = &self.scope;
            let round = catch_unwind(AssertUnwindSafe(|| {
                batch(|| {
                    for update in updates {
                        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| update(scope))) {
                            first_panic.get_or_insert(payload);
                        }
                    }
                })
            }));
            if let Err(payload) = round {
                first_panic.get_or_insert(payload);
            }
            if self.cancelled.get() {
                self.queue.borrow_mut().clear();
                break;
            }
        }
        drop(_guard);
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
    }
}

/// Clears the `flushing` flag however a flush ends.
struct FlushGuard<'a>(&'a CoordinatorInner);

impl Drop for FlushGuard<'_> {
    fn drop(&mut self) {
        self.0.flushing.set(false);
        self.0.cancelled.set(false);
    }
}

impl fmt::Debug for BatchCoordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchCoordinator")
            .field("id", &self.inner.id)
            .field("queued", &self.queue_len())
            .field("deferred", &self.inner.deferred.get())
            .field("flushes", &self.inner.flushes.get())
            .finish()
    }
}

impl BatchCoordinator {
    pub(crate) fn downgrade(&self) -> WeakCoordinator {
        WeakCoordinator(Rc::downgrade(&self.inner))
    }

    pub(crate) fn has_probe(&self) -> bool {
        self.inner.probe.borrow().is_some()
    }

    pub(crate) fn set_probe(&self, probe: impl Fn() -> bool + 'static) {
        *self.inner.probe.borrow_mut() = Some(Rc::new(probe));
    }
}

/// A coordinator held weakly, by the callbacks the bridge gives a store.
pub(crate) struct WeakCoordinator(std::rc::Weak<CoordinatorInner>);

impl WeakCoordinator {
    pub(crate) fn upgrade(&self) -> Option<BatchCoordinator> {
        self.0.upgrade().map(|inner| BatchCoordinator { inner })
    }
}
