//! The contract an external reactive store implements ([`ExternalStore`]), and what it is
//! given by the bridge: [`BatchUpdates`] to run its notifications in, with [`Phase`]s.

use std::fmt;
use std::hash::Hash;
use std::rc::{Rc, Weak};

use crate::coordinator::CoordinatorInner;

/// A reactive store that lives outside StateLoom: a database, a sync engine, another
/// state library. Implement it to make the store's queries atoms with
/// [`StoreBridge::query_atom`](crate::StoreBridge::query_atom).
///
/// The store must run each pass of subscriber callbacks inside the [`BatchUpdates`] it was
/// created with (what LiveStore calls `batchUpdates`), so that a
/// [`BatchCoordinator`](crate::BatchCoordinator) can hold the atom updates of one change and
/// apply them together, after the store's dispatch has ended. A store that can tell when a
/// change starts and when everything has settled reports it with [`BatchUpdates::phase`]:
/// then the coordinator needs no probe and never waits.
///
/// # Examples
/// A minimal store: named counters, one notification pass per write.
/// ```
/// use std::{cell::{Cell, RefCell}, collections::HashMap, rc::Rc};
/// use stateloom_bridge::{
///     BatchUpdates, Error, ExternalStore, ExternalSubscription, Phase, SubscribeOptions,
/// };
///
/// #[derive(Clone, Default)]
/// struct Counters {
///     values: Rc<RefCell<HashMap<String, i64>>>,
///     listeners: Rc<RefCell<Vec<(String, Rc<RefCell<dyn FnMut(&i64)>>)>>>,
///     batch: Rc<RefCell<BatchUpdates>>,
///     dispatching: Rc<Cell<bool>>,
/// }
///
/// impl Counters {
///     fn set(&self, name: &str, value: i64) {
///         self.values.borrow_mut().insert(name.to_string(), value);
///         let batch = self.batch.borrow().clone();
///         batch.phase(Phase::BeforeChange);
///         self.dispatching.set(true);
///         let listeners: Vec<_> = self.listeners.borrow().iter()
///             .filter(|(n, _)| n == name).map(|(_, l)| l.clone()).collect();
///         batch.run(&mut || for l in &listeners { (l.borrow_mut())(&value) });
///         self.dispatching.set(false);
///         batch.phase(Phase::AfterSettle);
///     }
/// }
///
/// impl ExternalStore for Counters {
///     type Query<T: 'static> = String;
///     type Error = Error;
///
///     fn query<T: Clone + 'static>(&self, name: &String) -> Result<T, Error> {
///         let value = self.values.borrow().get(name).copied().unwrap_or(0);
///         Ok((&value as &dyn std::any::Any).downcast_ref::<T>().cloned().expect("counters are i64"))
///     }
///
///     fn subscribe<T: Clone + 'static>(
///         &self,
///         name: &String,
///         options: SubscribeOptions,
///         mut callback: Box<dyn FnMut(&T)>,
///     ) -> Result<ExternalSubscription, Error> {
///         let mut cb = move |v: &i64| {
///             callback((v as &dyn std::any::Any).downcast_ref::<T>().expect("counters are i64"))
///         };
///         if !options.skip_initial_run {
///             cb(&self.values.borrow().get(name).copied().unwrap_or(0));
///         }
///         let listener: Rc<RefCell<dyn FnMut(&i64)>> = Rc::new(RefCell::new(cb));
///         self.listeners.borrow_mut().push((name.clone(), listener.clone()));
///         let listeners = self.listeners.clone();
///         Ok(ExternalSubscription::new(move || {
///             listeners.borrow_mut().retain(|(_, l)| !Rc::ptr_eq(l, &listener))
///         }))
///     }
///
///     fn batch_updates(&self) -> BatchUpdates {
///         self.batch.borrow().clone()
///     }
///
///     fn is_dispatching(&self) -> bool {
///         self.dispatching.get()
///     }
/// }
///
/// let store = Counters::default();
/// store.set("a", 1);
/// assert_eq!(store.query::<i64>(&"a".to_string()).unwrap(), 1);
/// ```
pub trait ExternalStore: Clone + 'static {
    /// A query whose result is a `T`. Equal queries are the same query: the bridge keeps one
    /// atom per distinct query.
    type Query<T: 'static>: Clone + Eq + Hash + 'static;
    /// The store's error. The bridge's own errors convert into it.
    type Error: From<crate::Error>;

    /// Runs `query` now and returns its result.
    ///
    /// # Errors
    /// Whatever the store reports.
    fn query<T: Clone + 'static>(&self, query: &Self::Query<T>) -> Result<T, Self::Error>;

    /// Calls `callback` with the result of `query` (now, unless
    /// [`skip_initial_run`](SubscribeOptions::skip_initial_run), and) whenever it changes,
    /// inside the store's [`BatchUpdates`], until the subscription is ended.
    ///
    /// # Errors
    /// Whatever the store reports.
    fn subscribe<T: Clone + 'static>(
        &self,
        query: &Self::Query<T>,
        options: SubscribeOptions,
        callback: Box<dyn FnMut(&T)>,
    ) -> Result<ExternalSubscription, Self::Error>;

    /// The batch function the store runs its notification passes in (the store's batch hook).
    fn batch_updates(&self) -> BatchUpdates;

    /// Whether the store is dispatching a change now (its commit or its notification pass
    /// is on the stack).
    fn is_dispatching(&self) -> bool;
}

/// Options of [`ExternalStore::subscribe`].
///
/// # Examples
/// ```
/// let options = stateloom_bridge::SubscribeOptions::default().skip_initial_run();
/// assert!(options.skip_initial_run);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscribeOptions {
    /// Do not call the callback with the current result; only with later changes.
    pub skip_initial_run: bool,
}

impl SubscribeOptions {
    /// Sets [`skip_initial_run`](Self::skip_initial_run).
    ///
    /// # Examples
    /// See [`SubscribeOptions`].
    pub fn skip_initial_run(mut self) -> Self {
        self.skip_initial_run = true;
        self
    }
}

/// A subscription to an external store, ended with [`unsubscribe`](Self::unsubscribe).
/// Dropping it does not end it; a [`DisposePool`](crate::DisposePool) ends many at once.
///
/// # Examples
/// ```
/// use std::{cell::Cell, rc::Rc};
///
/// let ended = Rc::new(Cell::new(false));
/// let e = ended.clone();
/// let sub = stateloom_bridge::ExternalSubscription::new(move || e.set(true));
/// sub.unsubscribe();
/// assert!(ended.get());
/// ```
#[must_use = "a subscription runs until `unsubscribe`"]
pub struct ExternalSubscription {
    end: Box<dyn FnOnce()>,
}

impl ExternalSubscription {
    /// A subscription that runs `end` when it is ended.
    ///
    /// # Examples
    /// See [`ExternalSubscription`].
    pub fn new(end: impl FnOnce() + 'static) -> Self {
        Self { end: Box::new(end) }
    }

    /// Ends the subscription: its callback is not called again.
    ///
    /// # Examples
    /// See [`ExternalSubscription`].
    pub fn unsubscribe(self) {
        (self.end)();
    }
}

impl fmt::Debug for ExternalSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalSubscription")
            .finish_non_exhaustive()
    }
}

/// Where an external store is in a change, reported through [`BatchUpdates::phase`].
///
/// # Examples
/// See [`ExternalStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A change is starting: the store is dispatching from now on.
    BeforeChange,
    /// The change and every notification it caused are over, and the store is idle: writes
    /// made from here on start a new change.
    AfterSettle,
}

/// The batch function an external store runs each notification pass in, and the receiver
/// of its [`Phase`]s.
///
/// Made by [`BatchCoordinator::batch_updates`](crate::BatchCoordinator::batch_updates)
/// (wired to that coordinator), or by [`new`](Self::new) and [`default`](Self::default)
/// for a store used without one. Cheap to clone.
///
/// # Examples
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use stateloom_bridge::BatchUpdates;
///
/// let passes = Rc::new(Cell::new(0));
/// let p = passes.clone();
/// let batch = BatchUpdates::new(move |pass| {
///     p.set(p.get() + 1);
///     pass();
/// });
/// let mut ran = false;
/// batch.run(&mut || ran = true);
/// assert!(ran && passes.get() == 1);
/// assert_eq!(batch.coordinator(), None);
/// ```
#[derive(Clone)]
pub struct BatchUpdates {
    kind: Kind,
}

/// A batch function given by the user.
type BatchFn = Rc<dyn Fn(&mut dyn FnMut())>;

#[derive(Clone)]
enum Kind {
    Plain(Option<BatchFn>),
    Coordinated {
        coordinator: Weak<CoordinatorInner>,
        id: u64,
    },
}

impl BatchUpdates {
    /// A batch function that is not wired to a coordinator: `batch` gets each pass and must
    /// run it once (a UI toolkit's batch, for example).
    ///
    /// # Examples
    /// See [`BatchUpdates`].
    pub fn new(batch: impl Fn(&mut dyn FnMut()) + 'static) -> Self {
        Self {
            kind: Kind::Plain(Some(Rc::new(batch))),
        }
    }

    pub(crate) fn coordinated(coordinator: Weak<CoordinatorInner>, id: u64) -> Self {
        Self {
            kind: Kind::Coordinated { coordinator, id },
        }
    }

    /// Runs one notification pass of the store.
    ///
    /// # Examples
    /// See [`BatchUpdates`].
    pub fn run(&self, pass: &mut dyn FnMut()) {
        match &self.kind {
            Kind::Plain(None) => pass(),
            Kind::Plain(Some(batch)) => batch(pass),
            Kind::Coordinated { coordinator, .. } => match coordinator.upgrade() {
                Some(coordinator) => coordinator.run_batch(pass),
                None => pass(),
            },
        }
    }

    /// Reports a [`Phase`] of the store. Stores that cannot tell need not call it.
    ///
    /// # Examples
    /// See [`ExternalStore`].
    pub fn phase(&self, phase: Phase) {
        if let Kind::Coordinated { coordinator, .. } = &self.kind
            && let Some(coordinator) = coordinator.upgrade()
        {
            coordinator.on_phase(phase);
        }
    }

    /// The id of the [`BatchCoordinator`](crate::BatchCoordinator) this is wired to.
    ///
    /// # Examples
    /// ```
    /// use stateloom_bridge::BatchCoordinator;
    ///
    /// let coordinator = BatchCoordinator::new(stateloom_atom::AtomScope::new());
    /// assert_eq!(coordinator.batch_updates().coordinator(), Some(coordinator.id()));
    /// ```
    pub fn coordinator(&self) -> Option<u64> {
        match &self.kind {
            Kind::Plain(_) => None,
            Kind::Coordinated { id, .. } => Some(*id),
        }
    }
}

impl Default for BatchUpdates {
    /// Runs each pass as it comes.
    fn default() -> Self {
        Self {
            kind: Kind::Plain(None),
        }
    }
}

impl fmt::Debug for BatchUpdates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchUpdates")
            .field("coordinator", &self.coordinator())
            .finish()
    }
}
