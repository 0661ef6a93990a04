//! [`StoreBridge`]: one external store, its coordinator and dispose pool, and the atoms made
//! from its queries ([`StoreBridge::query_atom`]), cached per store.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::{Rc, Weak};

use stateloom_atom::{Derived, derived_with_equals};
use stateloom_core::{create_detached_root, signal_with_equals};

use crate::coordinator::BatchCoordinator;
use crate::error::Error;
use crate::external::{ExternalStore, SubscribeOptions};
use crate::key::DynKey;
use crate::pool::DisposePool;

/// An external store joined to StateLoom: [`query_atom`](Self::query_atom) turns its queries
/// into atoms kept in sync through a [`BatchCoordinator`], and releases their subscriptions
/// through a [`DisposePool`].
///
/// The query cache belongs to the bridge, so to one store: the same query on two stores
/// gives two atoms. Cheap to clone; not `Send`.
///
/// # Examples
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use serde::{Deserialize, Serialize};
/// use stateloom_atom::{AtomScope, derived};
/// use stateloom_bridge::{BatchCoordinator, SqlQuery, SqliteStore, StoreBridge};
///
/// #[derive(Serialize, Deserialize)]
/// struct Added(String);
///
/// let scope = AtomScope::new();
/// let coordinator = BatchCoordinator::new(scope.clone());
/// let store = SqliteStore::<Added>::builder()
///     .table("CREATE TABLE items (name TEXT NOT NULL)")
///     .materializer(|Added(name), db| db.execute("INSERT INTO items VALUES (?1)", [name]).map(drop))
///     .batch_updates(coordinator.batch_updates())
///     .open_in_memory()?;
/// let bridge = StoreBridge::new(store.clone(), coordinator)?;
/// let count = bridge.query_atom(SqlQuery::<i64>::value("SELECT count(*) FROM items", []))?;
/// let label = derived(move |get| format!("{} items", get.get(count)));
/// store.commit(Added("pen".into())).map_err(|e| e.error)?;
/// assert_eq!(scope.get(label), "1 items");
/// bridge.dispose();
/// # }
/// # Ok::<(), stateloom_bridge::Error>(())
/// ```
pub struct StoreBridge<S: ExternalStore> {
    inner: Rc<BridgeInner<S>>,
}

struct BridgeInner<S> {
    store: S,
    coordinator: BatchCoordinator,
    pool: DisposePool,
    state: ahash::RandomState,
    /// Query → the `Derived<T>` made for it, boxed.
    cache: RefCell<HashMap<DynKey, Box<dyn Any>, ahash::RandomState>>,
}

impl<S: ExternalStore> StoreBridge<S> {
    /// Joins `store` to `coordinator`, with a new dispose pool tied to the coordinator's
    /// scope (disposing the scope releases every query atom's subscription). If the
    /// coordinator has no dispatch probe, the store's
    /// [`is_dispatching`](ExternalStore::is_dispatching) becomes it.
    ///
    /// # Errors
    /// [`Error::NotWired`] (code `BRIDGE_UNWIRED`) if the store was not created with the
    /// coordinator's [`batch_updates`](BatchCoordinator::batch_updates).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// use stateloom_bridge::{BatchCoordinator, SqliteStore, StoreBridge};
    ///
    /// let coordinator = BatchCoordinator::new(stateloom_atom::AtomScope::new());
    /// let unwired = SqliteStore::<()>::builder().open_in_memory()?; // no batch_updates
    /// let error = StoreBridge::new(unwired, coordinator).unwrap_err();
    /// assert_eq!(error.code(), "BRIDGE_UNWIRED");
    /// # }
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn new(store: S, coordinator: BatchCoordinator) -> Result<Self, S::Error> {
        let pool = DisposePool::new();
        pool.tie_to(coordinator.scope());
        Self::with_pool(store, coordinator, pool)
    }

    /// Like [`new`](Self::new), with a pool of the caller's (not tied to any scope by this
    /// function).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    ///
    /// # Examples
    /// See [`query_atom`](Self::query_atom).
    pub fn with_pool(
        store: S,
        coordinator: BatchCoordinator,
        pool: DisposePool,
    ) -> Result<Self, S::Error> {
        coordinator.assert_wired(&store)?;
        if !coordinator.has_probe() {
            let probe = store.clone();
            coordinator.set_probe(move || probe.is_dispatching());
        }
        Ok(Self {
            inner: Rc::new(BridgeInner {
                store,
                coordinator,
                pool,
                state: ahash::RandomState::new(),
                cache: RefCell::new(HashMap::with_hasher(ahash::RandomState::new())),
            }),
        })
    }

    /// [`query_atom_with_equals`](Self::query_atom_with_equals) with `PartialEq`.
    ///
    /// # Errors
    /// As [`query_atom_with_equals`](Self::query_atom_with_equals).
    ///
    /// # Examples
    /// See [`StoreBridge`].
    pub fn query_atom<T: Clone + PartialEq + 'static>(
        &self,
        query: S::Query<T>,
    ) -> Result<Derived<T>, S::Error> {
        self.query_atom_with_equals(query, T::eq)
    }

    /// An atom holding the result of `query`, kept in sync with the store: readable in any
    /// [`AtomScope`](stateloom_atom::AtomScope), usable in [`derived`](stateloom_atom::derived)
    /// atoms. It subscribes now; its updates go through the coordinator, so all the atoms
    /// one store change touches update in one batch, after the store's dispatch; a result
    /// `equals` to the previous one notifies nobody. Asking again for an equal query returns
    /// the same atom (with the `equals` it was made with).
    ///
    /// When the pool is disposed the subscription ends and the atom keeps its last value.
    ///
    /// # Errors
    /// [`Error::PoolDisposed`] if the pool was disposed, or the store's error from running
    /// or subscribing to the query.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// use stateloom_bridge::{BatchCoordinator, DisposePool, SqlQuery, SqliteStore, StoreBridge};
    ///
    /// let coordinator = BatchCoordinator::new(stateloom_atom::AtomScope::new());
    /// let store = SqliteStore::<i64>::builder()
    ///     .table("CREATE TABLE n (v INTEGER)")
    ///     .materializer(|v, db| db.execute("INSERT INTO n VALUES (?1)", [v]).map(drop))
    ///     .batch_updates(coordinator.batch_updates())
    ///     .open_in_memory()?;
    /// let pool = DisposePool::new();
    /// let bridge = StoreBridge::with_pool(store.clone(), coordinator.clone(), pool.clone())?;
    /// let total = SqlQuery::<i64>::value("SELECT coalesce(sum(v), 0) FROM n", []);
    /// let sum = bridge.query_atom_with_equals(total.clone(), |a, b| a == b)?;
    /// assert_eq!(bridge.query_atom(total)?, sum); // cached
    /// store.commit(5).map_err(|e| e.error)?;
    /// assert_eq!(coordinator.scope().get(sum), 5);
    /// pool.dispose();
    /// store.commit(1).map_err(|e| e.error)?;
    /// assert_eq!(coordinator.scope().get(sum), 5); // released: keeps its last value
    /// # }
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn query_atom_with_equals<T: Clone + 'static>(
        &self,
        query: S::Query<T>,
        equals: fn(&T, &T) -> bool,
    ) -> Result<Derived<T>, S::Error> {
        let inner = &self.inner;
        if inner.pool.is_disposed() {
            return Err(Error::PoolDisposed.into());
        }
        let key = DynKey::new(query.clone(), &inner.state);
        if let Some(atom) = inner.cache.borrow().get(&key) {
            return Ok(*atom
                .downcast_ref::<Derived<T>>()
                .expect("a cached query atom has the query's result type"));
        }
        let initial = inner.store.query(&query)?;
        let (value, root) = create_detached_root(|| signal_with_equals(initial, equals));
        let coordinator = inner.coordinator.downgrade();
        let subscription = inner.store.subscribe(
            &query,
            SubscribeOptions::default().skip_initial_run(),
            Box::new(move |result: &T| {
                if let Some(coordinator) = coordinator.upgrade() {
                    coordinator.queue_update(value, result.clone());
                }
            }),
        );
        let subscription = match subscription {
            Ok(subscription) => subscription,
            Err(error) => {
                root.dispose();
                return Err(error);
            }
        };
        let kept: Rc<RefCell<Option<T>>> = Rc::new(RefCell::new(None));
        let last = kept.clone();
        let atom = derived_with_equals(
            move |_| match value.try_get() {
                Ok(current) => current,
                Err(_) => last
                    .borrow()
                    .clone()
                    .expect("a released query atom keeps its last value"),
            },
            equals,
        );
        inner.cache.borrow_mut().insert(key.clone(), Box::new(atom));
        let bridge: Weak<BridgeInner<S>> = Rc::downgrade(&self.inner);
        inner.pool.add(move || {
            subscription.unsubscribe();
            *kept.borrow_mut() = value.try_get().ok();
            root.dispose();
            if let Some(bridge) = bridge.upgrade() {
                bridge.cache.borrow_mut().remove(&key);
            }
        });
        Ok(atom)
    }

    /// The store.
    ///
    /// # Examples
    /// See [`pool`](Self::pool).
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The coordinator.
    ///
    /// # Examples
    /// See [`pool`](Self::pool).
    pub fn coordinator(&self) -> &BatchCoordinator {
        &self.inner.coordinator
    }

    /// The dispose pool that releases the query atoms' subscriptions.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// use stateloom_bridge::{BatchCoordinator, SqliteStore, StoreBridge};
    ///
    /// let coordinator = BatchCoordinator::new(stateloom_atom::AtomScope::new());
    /// let store = SqliteStore::<()>::builder()
    ///     .batch_updates(coordinator.batch_updates())
    ///     .open_in_memory()?;
    /// let bridge = StoreBridge::new(store, coordinator.clone())?;
    /// assert_eq!(bridge.coordinator().id(), coordinator.id());
    /// assert!(!bridge.store().is_dispatching());
    /// coordinator.scope().dispose(); // releases the pool
    /// assert!(bridge.pool().is_disposed());
    /// # }
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn pool(&self) -> &DisposePool {
        &self.inner.pool
    }

    /// How many query atoms are cached (live).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// use stateloom_bridge::{BatchCoordinator, SqlQuery, SqliteStore, StoreBridge};
    ///
    /// let coordinator = BatchCoordinator::new(stateloom_atom::AtomScope::new());
    /// let store = SqliteStore::<()>::builder()
    ///     .batch_updates(coordinator.batch_updates())
    ///     .open_in_memory()?;
    /// let bridge = StoreBridge::new(store, coordinator)?;
    /// bridge.query_atom(SqlQuery::<i64>::value("SELECT 1", []))?;
    /// assert_eq!(bridge.len(), 1);
    /// bridge.dispose();
    /// assert!(bridge.is_empty());
    /// # }
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.inner.cache.borrow().len()
    }

    /// Whether no query atom is cached.
    ///
    /// # Examples
    /// See [`len`](Self::len).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Disposes the pool: every query atom's subscription ends.
    ///
    /// # Examples
    /// See [`len`](Self::len).
    pub fn dispose(&self) {
        self.inner.pool.dispose();
    }
}

impl<S: ExternalStore> Clone for StoreBridge<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S: ExternalStore> fmt::Debug for StoreBridge<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreBridge")
            .field("coordinator", &self.inner.coordinator)
            .field("queries", &self.len())
            .field("pool", &self.inner.pool)
            .finish()
    }
}
