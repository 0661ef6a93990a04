//! [`SqliteStore`]: an event-sourced store on SQLite. Events are appended to a log table and
//! materialized into tables by user SQL in the same transaction; queries re-run only when a
//! table they read was written, and notify only when their result changed.

mod access;
mod live;
mod open;
mod query;
mod writer;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rusqlite::Connection;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::external::{BatchUpdates, ExternalStore, ExternalSubscription, Phase, SubscribeOptions};
use access::{AccessCache, TableSet};
use live::{Live, LiveEntry, LiveQuery};
pub use query::SqlQuery;
pub use writer::Writer;

/// The version of the store's own tables (`stateloom_events`, `stateloom_meta`) this
/// program writes. A database with a newer one is refused.
pub const FORMAT_VERSION: i64 = 1;

/// After this many rounds of queued commits (a subscriber commits, that commit's
/// notification makes a subscriber commit again, ...), the commits still queued fail with
/// [`Error::SettleLoop`] instead of running forever.
pub const MAX_SETTLE_ROUNDS: u32 = 100;

type MaterializeFn<E> = dyn Fn(&E, &Writer<'_>) -> rusqlite::Result<()>;

/// An event-sourced store on SQLite, the first real [`ExternalStore`].
///
/// - **Events** of type `E` (serde, stored as JSON) are appended to the `stateloom_events`
///   table and materialized into the user's tables by the materializer, in the same
///   transaction: an event is in the log exactly when its effects are in the tables.
/// - **Commits are synchronous**: when [`commit`](Self::commit) returns, queries see the
///   event (read your writes).
/// - **Selective re-runs**: SQLite's authorizer says, when a statement is prepared, which
///   tables a query reads and which a materializer statement writes. After a commit only
///   the subscribed queries that read a written table re-run, and only those whose result
///   changed (by the query's equality) call their subscribers, all in one notification pass
///   run inside the store's [`BatchUpdates`].
/// - **Re-entrancy**: a commit made while the store dispatches (from a subscriber, or from
///   atoms updated when the change settles) is queued and applied after the current
///   dispatch, as its own change; [`commit`](Self::commit) returns [`Commit::Queued`].
/// - **Opening** an existing database replays nothing when its schema version is the
///   program's; a newer program version re-materializes the tables from the log.
///   [`rebuild`](Self::rebuild) does that on demand and gives the same state.
/// - **Failures**: a failing materializer rolls its transaction back and the store stays
///   usable; a corrupt file or one written by a newer version is refused and left
///   untouched.
///
/// Cheap to clone (a handle to shared state); not `Send`.
///
/// # Examples
/// ```
/// use serde::{Deserialize, Serialize};
/// use stateloom_bridge::{SqlQuery, SqliteStore, SubscribeOptions};
/// use std::{cell::RefCell, rc::Rc};
///
/// #[derive(Serialize, Deserialize)]
/// enum Todo {
///     Added { id: i64, text: String },
///     Completed { id: i64 },
/// }
///
/// let store = SqliteStore::<Todo>::builder()
///     .table("CREATE TABLE todos (id INTEGER PRIMARY KEY, text TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)")
///     .materializer(|event, db| {
///         match event {
///             Todo::Added { id, text } => {
///                 db.execute("INSERT INTO todos (id, text) VALUES (?1, ?2)", (id, text))?
///             }
///             Todo::Completed { id } => db.execute("UPDATE todos SET done = 1 WHERE id = ?1", [id])?,
///         };
///         Ok(())
///     })
///     .open_in_memory()?;
///
/// let open = SqlQuery::rows("SELECT text FROM todos WHERE done = 0 ORDER BY id", [], |r| r.get::<_, String>(0));
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let log = seen.clone();
/// let sub = store.subscribe(&open, SubscribeOptions::default(), move |todos: &Vec<String>| {
///     log.borrow_mut().push(todos.join(", "))
/// })?;
/// store.commit(Todo::Added { id: 1, text: "milk".into() }).map_err(|e| e.error)?;
/// store.commit(Todo::Added { id: 2, text: "eggs".into() }).map_err(|e| e.error)?;
/// store.commit(Todo::Completed { id: 1 }).map_err(|e| e.error)?;
/// assert_eq!(*seen.borrow(), ["", "milk", "milk, eggs", "eggs"]);
/// sub.unsubscribe();
/// # Ok::<(), stateloom_bridge::Error>(())
/// ```
pub struct SqliteStore<E> {
    inner: Rc<Inner<E>>,
}

/// Builds a [`SqliteStore`]: its tables, its materializer, its schema version and the
/// [`BatchUpdates`] it notifies in.
///
/// # Examples
/// See [`SqliteStore`].
pub struct SqliteStoreBuilder<E> {
    tables: Vec<String>,
    materializer: Option<Rc<MaterializeFn<E>>>,
    schema_version: i64,
    batch_updates: BatchUpdates,
    durability: Durability,
}

/// How hard a commit on a database file works to survive a crash.
///
/// The store always uses SQLite's write-ahead log (WAL).
///
/// # Examples
/// ```
/// use stateloom_bridge::{Durability, SqliteStore};
///
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::<()>::builder()
///     .durability(Durability::Full)
///     .open(dir.path().join("events.db"))?;
/// # drop(store);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=NORMAL`: a committed event survives the process being killed, but the
    /// last commits before a power loss or an operating-system crash may be rolled back
    /// (the log is synced to disk at checkpoints, not at every commit). The database is
    /// never corrupted. The default: commits are many times faster.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is synced to disk before it returns, and survives
    /// a power loss.
    Full,
}

/// What a successful [`SqliteStore::commit`] did.
///
/// # Examples
/// See [`SqliteStore::commit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    /// Committed: the (last) event has this sequence number in the log.
    Applied {
        /// The sequence number of the (last) event.
        seq: i64,
    },
    /// Made while the store was dispatching: queued, and applied after the current
    /// dispatch. If it then fails, [`SqliteStore::take_failed`] returns it.
    Queued,
}

/// A failed commit: the error, and the event(s) given back.
///
/// # Examples
/// See [`SqliteStore::commit`].
pub struct CommitError<T> {
    /// The event, or events, that were not committed.
    pub event: T,
    /// Why.
    pub error: Error,
}

impl<T> fmt::Debug for CommitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommitError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for CommitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "commit failed: {}", self.error)
    }
}

impl<T> std::error::Error for CommitError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Counters of a store's work, for tests and tuning.
///
/// # Examples
/// See [`SqliteStore::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Committed transactions (one per commit, batch or rebuild).
    pub commits: u64,
    /// Re-runs of subscribed queries after commits.
    pub refreshes: u64,
    /// Subscriber callbacks called after commits.
    pub notifications: u64,
    /// Notification passes run (each inside the store's `BatchUpdates`).
    pub passes: u64,
    /// Events materialized from the log while opening or rebuilding.
    pub replayed: u64,
}

/// One or many events, committed in one transaction.
enum Events<E> {
    One(E),
    Many(Vec<E>),
}

impl<E> Events<E> {
    fn as_slice(&self) -> &[E] {
        match self {
            Events::One(event) => std::slice::from_ref(event),
            Events::Many(events) => events,
        }
    }

    fn into_vec(self) -> Vec<E> {
        match self {
            Events::One(event) => vec![event],
            Events::Many(events) => events,
        }
    }
}

struct Inner<E> {
    conn: Connection,
    access: RefCell<AccessCache>,
    tables: Vec<String>,
    materializer: Option<Rc<MaterializeFn<E>>>,
    batch: BatchUpdates,
    live: RefCell<Vec<LiveEntry>>,
    next_live: Cell<u64>,
    /// A commit, rebuild or its settling is on the stack.
    busy: Cell<bool>,
    pending: RefCell<VecDeque<Events<E>>>,
    failed: RefCell<Vec<CommitError<Vec<E>>>>,
    path: Option<PathBuf>,
    stats: Cell<StoreStats>,
}

impl<E: Serialize + DeserializeOwned + 'static> SqliteStore<E> {
    /// Starts building a store.
    ///
    /// # Examples
    /// See [`SqliteStore`].
    pub fn builder() -> SqliteStoreBuilder<E> {
        SqliteStoreBuilder {
            tables: Vec::new(),
            materializer: None,
            schema_version: 1,
            batch_updates: BatchUpdates::default(),
            durability: Durability::default(),
        }
    }

    /// Appends `event` to the log and materializes it, in one transaction, then re-runs the
    /// subscribed queries that read a table it wrote and notifies those whose result
    /// changed, in one pass. Made while the store dispatches, the commit is queued instead.
    ///
    /// # Errors
    /// [`Error::Materialize`] if the materializer failed, [`Error::EventCodec`] if the
    /// event could not be encoded, [`Error::Sqlite`] for other database errors. Nothing was
    /// written; the event is given back in the [`CommitError`].
    ///
    /// # Panics
    /// If the materializer or a subscriber panics: the panic continues after the store is
    /// consistent again (a panicking materializer's transaction is rolled back; the other
    /// subscribers of a pass are still called).
    ///
    /// # Examples
    /// ```
    /// use stateloom_bridge::{Commit, SqliteStore};
    ///
    /// let store = SqliteStore::<i64>::builder()
    ///     .table("CREATE TABLE n (v INTEGER CHECK (v >= 0))")
    ///     .materializer(|v, db| db.execute("INSERT INTO n VALUES (?1)", [v]).map(drop))
    ///     .open_in_memory()?;
    /// assert_eq!(store.commit(1).map_err(|e| e.error)?, Commit::Applied { seq: 1 });
    /// let failed = store.commit(-1).unwrap_err();
    /// assert_eq!((failed.event, failed.error.code()), (-1, "MATERIALIZE"));
    /// assert_eq!(store.event_count()?, 1); // rolled back; the store goes on
    /// assert_eq!(store.commit(2).map_err(|e| e.error)?, Commit::Applied { seq: 2 });
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn commit(&self, event: E) -> std::result::Result<Commit, CommitError<E>> {
        self.run_commit(Events::One(event))
            .map_err(|e| CommitError {
                event: match e.event {
                    Events::One(event) => event,
                    Events::Many(_) => unreachable!("one event was committed"),
                },
                error: e.error,
            })
    }

    /// Commits `events` in one transaction, with one notification pass: all or none.
    ///
    /// # Errors
    /// As [`commit`](Self::commit); no event was written.
    ///
    /// # Panics
    /// As [`commit`](Self::commit).
    ///
    /// # Examples
    /// ```
    /// use stateloom_bridge::{Commit, SqliteStore};
    ///
    /// let store = SqliteStore::<i64>::builder()
    ///     .table("CREATE TABLE n (v INTEGER)")
    ///     .materializer(|v, db| db.execute("INSERT INTO n VALUES (?1)", [v]).map(drop))
    ///     .open_in_memory()?;
    /// assert_eq!(store.commit_all((1..=100).collect()).map_err(|e| e.error)?, Commit::Applied { seq: 100 });
    /// assert_eq!(store.stats().commits, 1);
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn commit_all(&self, events: Vec<E>) -> std::result::Result<Commit, CommitError<Vec<E>>> {
        self.run_commit(Events::Many(events))
            .map_err(|e| CommitError {
                event: e.event.into_vec(),
                error: e.error,
            })
    }

    /// Runs `query` now (read your writes: it sees every applied commit).
    ///
    /// # Errors
    /// What SQLite reports (a syntax error, no row for [`SqlQuery::value`], ...).
    ///
    /// # Examples
    /// See [`Writer`].
    pub fn query<T: 'static>(&self, query: &SqlQuery<T>) -> Result<T> {
        self.inner.run_query(query)
    }

    /// Calls `callback` with the result of `query` now (unless
    /// [`skip_initial_run`](SubscribeOptions::skip_initial_run)) and after every commit that
    /// changes it, until the subscription ends.
    ///
    /// # Errors
    /// What SQLite reports when preparing or first running the query.
    ///
    /// # Examples
    /// See [`SqliteStore`].
    pub fn subscribe<T: 'static>(
        &self,
        query: &SqlQuery<T>,
        options: SubscribeOptions,
        callback: impl FnMut(&T) + 'static,
    ) -> Result<ExternalSubscription> {
        let inner = &self.inner;
        let reads = inner
            .access
            .borrow_mut()
            .access(&inner.conn, query.sql())?
            .reads
            .clone();
        let initial = inner.run_query(query)?;
        let live = Rc::new(Live::new(query.clone(), initial, Box::new(callback)));
        if !options.skip_initial_run {
            live.notify();
        }
        let id = inner.next_live.get();
        inner.next_live.set(id + 1);
        inner.live.borrow_mut().push(LiveEntry {
            id,
            reads,
            query: live.clone(),
        });
        let store = Rc::downgrade(&self.inner);
        Ok(ExternalSubscription::new(move || {
            live.deactivate();
            if let Some(store) = store.upgrade() {
                store.live.borrow_mut().retain(|entry| entry.id != id);
            }
        }))
    }

    /// Re-materializes every table from the event log, in one transaction, and notifies the
    /// subscribers whose results changed. The state afterwards is the state before, for
    /// materializers that depend only on the events.
    ///
    /// # Errors
    /// [`Error::Busy`] if called while the store dispatches; a materializer or decoding
    /// error, after which nothing changed.
    ///
    /// # Examples
    /// ```
    /// use stateloom_bridge::{SqlQuery, SqliteStore};
    ///
    /// let store = SqliteStore::<i64>::builder()
    ///     .table("CREATE TABLE n (v INTEGER)")
    ///     .materializer(|v, db| db.execute("INSERT INTO n VALUES (?1)", [v]).map(drop))
    ///     .open_in_memory()?;
    /// store.commit_all(vec![1, 2, 3]).map_err(|e| e.error)?;
    /// let sum = SqlQuery::<i64>::value("SELECT sum(v) FROM n", []);
    /// store.rebuild()?;
    /// assert_eq!(store.query(&sum)?, 6);
    /// assert_eq!(store.stats().replayed, 3);
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn rebuild(&self) -> Result<()> {
        let inner = &*self.inner;
        if inner.busy.replace(true) {
            return Err(Error::Busy);
        }
        let _busy = BusyGuard(&inner.busy);
        let mut first_panic = None;
        inner.batch.phase(Phase::BeforeChange);
        let result = match catch_unwind(AssertUnwindSafe(|| inner.rebuild_tables(None))) {
            Ok(Ok(())) => {
                let all = inner.access.borrow().all_tables();
                inner.dispatch(&all, &mut first_panic);
                Ok(())
            }
            Ok(Err(error)) => Err(error),
            Err(payload) => {
                first_panic = Some(payload);
                Ok(())
            }
        };
        inner.settle(&mut first_panic);
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
        result
    }

    /// How many events the log holds.
    ///
    /// # Errors
    /// What SQLite reports.
    ///
    /// # Examples
    /// See [`commit`](Self::commit).
    pub fn event_count(&self) -> Result<i64> {
        Ok(self
            .inner
            .conn
            .query_row("SELECT count(*) FROM stateloom_events", [], |r| r.get(0))?)
    }

    /// Every event of the log with its sequence number, oldest first.
    ///
    /// # Errors
    /// What SQLite reports, or [`Error::EventCodec`] for an event that does not decode.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_bridge::SqliteStore::<String>::builder().open_in_memory()?;
    /// store.commit("hello".into()).map_err(|e| e.error)?;
    /// assert_eq!(store.events()?, [(1, "hello".to_string())]);
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn events(&self) -> Result<Vec<(i64, E)>> {
        let mut stmt = self
            .inner
            .conn
            .prepare("SELECT seq, payload FROM stateloom_events ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, payload) = row?;
            let event = serde_json::from_str(&payload).map_err(|source| Error::EventCodec {
                seq: Some(seq),
                source,
            })?;
            events.push((seq, event));
        }
        Ok(events)
    }

    /// Takes the commits that were queued (made while the store dispatched) and then
    /// failed, with their events.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_bridge::SqliteStore::<i64>::builder().open_in_memory()?;
    /// assert!(store.take_failed().is_empty());
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn take_failed(&self) -> Vec<CommitError<Vec<E>>> {
        std::mem::take(&mut *self.inner.failed.borrow_mut())
    }

    /// Whether a commit, rebuild or its notifications are running now.
    ///
    /// # Examples
    /// See [`StoreBridge::pool`](crate::StoreBridge::pool).
    pub fn is_dispatching(&self) -> bool {
        self.inner.busy.get()
    }

    /// The database file, or `None` in memory.
    ///
    /// # Examples
    /// ```
    /// let store = stateloom_bridge::SqliteStore::<()>::builder().open_in_memory()?;
    /// assert_eq!(store.path(), None);
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Counters of the work done so far.
    ///
    /// # Examples
    /// ```
    /// use stateloom_bridge::{SqlQuery, SqliteStore, SubscribeOptions};
    ///
    /// let store = SqliteStore::<(String, i64)>::builder()
    ///     .table("CREATE TABLE a (v INTEGER)")
    ///     .table("CREATE TABLE b (v INTEGER)")
    ///     .materializer(|(table, v), db| {
    ///         db.execute(&format!("INSERT INTO {table} VALUES (?1)"), [v]).map(drop)
    ///     })
    ///     .open_in_memory()?;
    /// let on_a = SqlQuery::<i64>::value("SELECT count(*) FROM a", []);
    /// let _sub = store.subscribe(&on_a, SubscribeOptions::default(), |_| {})?;
    /// store.commit(("b".into(), 1)).map_err(|e| e.error)?; // `a` not written: no re-run
    /// assert_eq!(store.stats().refreshes, 0);
    /// store.commit(("a".into(), 1)).map_err(|e| e.error)?;
    /// assert_eq!((store.stats().refreshes, store.stats().notifications), (1, 1));
    /// # Ok::<(), stateloom_bridge::Error>(())
    /// ```
    pub fn stats(&self) -> StoreStats {
        self.inner.stats.get()
    }

    fn run_commit(&self, events: Events<E>) -> std::result::Result<Commit, CommitError<Events<E>>> {
        let inner = &*self.inner;
        if inner.busy.replace(true) {
            inner.pending.borrow_mut().push_back(events);
            return Ok(Commit::Queued);
        }
        let _busy = BusyGuard(&inner.busy);
        let mut first_panic = None;
        inner.batch.phase(Phase::BeforeChange);
        let result = match catch_unwind(AssertUnwindSafe(|| inner.apply(events.as_slice()))) {
            Ok(Ok((seq, writes))) => {
                inner.dispatch(&writes, &mut first_panic);
                Ok(Commit::Applied { seq })
            }
            Ok(Err(error)) => Err(error),
            Err(payload) => {
                first_panic = Some(payload);
                Ok(Commit::Queued)
            }
        };
        inner.settle(&mut first_panic);
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
        result.map_err(|error| CommitError {
            event: events,
            error,
        })
    }
}

type Panic = Box<dyn std::any::Any + Send>;

/// Clears the `busy` flag however a commit ends.
struct BusyGuard<'a>(&'a Cell<bool>);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl<E: Serialize + DeserializeOwned + 'static> Inner<E> {
    fn bump(&self, f: impl FnOnce(&mut StoreStats)) {
        let mut stats = self.stats.get();
        f(&mut stats);
        self.stats.set(stats);
    }

    fn run_query<T: 'static>(&self, query: &SqlQuery<T>) -> Result<T> {
        self.access.borrow_mut().access(&self.conn, query.sql())?;
        let mut stmt = self.conn.prepare_cached(query.sql())?;
        Ok(query.run(&mut stmt)?)
    }

    /// Appends and materializes `events` in one transaction; returns the last sequence
    /// number and the tables written.
    fn apply(&self, events: &[E]) -> Result<(i64, TableSet)> {
        let tx = self.conn.unchecked_transaction()?;
        let writes = RefCell::new(TableSet::default());
        let writer = Writer {
            conn: &tx,
            access: &self.access,
            writes: &writes,
        };
        let mut seq = 0;
        for event in events {
            let payload = serde_json::to_string(event)
                .map_err(|source| Error::EventCodec { seq: None, source })?;
            let name = event_name::<E>(&payload);
            writer.execute(
                "INSERT INTO stateloom_events (name, payload) VALUES (?1, ?2)",
                (name, &payload),
            )?;
            seq = tx.last_insert_rowid();
            if let Some(materialize) = &self.materializer {
                materialize(event, &writer).map_err(|source| Error::Materialize {
                    event: name.to_owned(),
                    source,
                })?;
            }
        }
        tx.commit()?;
        self.bump(|s| s.commits += 1);
        Ok((seq, writes.into_inner()))
    }

    /// Re-runs the live queries that read a written table, then calls the subscribers of
    /// those whose result changed, in one pass inside the store's `BatchUpdates`.
    fn dispatch(&self, writes: &TableSet, first_panic: &mut Option<Panic>) {
        if writes.is_empty() {
            return;
        }
        let affected: Vec<Rc<dyn LiveQuery>> = self
            .live
            .borrow()
            .iter()
            .filter(|entry| entry.reads.intersects(writes))
            .map(|entry| entry.query.clone())
            .collect();
        if affected.is_empty() {
            return;
        }
        let mut changed = Vec::new();
        for query in affected {
            self.bump(|s| s.refreshes += 1);
            match catch_unwind(AssertUnwindSafe(|| query.refresh(&self.conn))) {
                Ok(true) => changed.push(query),
                Ok(false) => {}
                Err(payload) => {
                    first_panic.get_or_insert(payload);
                }
            }
        }
        if changed.is_empty() {
            return;
        }
        self.bump(|s| s.passes += 1);
        let mut pass_panic = None;
        let mut notified = 0;
        let pass = catch_unwind(AssertUnwindSafe(|| {
            self.batch.run(&mut || {
                for query in &changed {
                    notified += 1;
                    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| query.notify())) {
                        pass_panic.get_or_insert(payload);
                    }
                }
            })
        }));
        self.bump(|s| s.notifications += notified);
        if let Some(payload) = pass_panic.or(pass.err()) {
            first_panic.get_or_insert(payload);
        }
    }

    /// Applies the commits queued during the dispatch, each with its own dispatch, then
    /// reports [`Phase::AfterSettle`]; commits queued meanwhile start another round.
    fn settle(&self, first_panic: &mut Option<Panic>) {
        let mut rounds = 0;
        loop {
            // The commits queued so far; those they cause wait for the next round.
            let round: Vec<_> = self.pending.borrow_mut().drain(..).collect();
            for events in round {
                match catch_unwind(AssertUnwindSafe(|| self.apply(events.as_slice()))) {
                    Ok(Ok((_, writes))) => self.dispatch(&writes, first_panic),
                    Ok(Err(error)) => self.failed.borrow_mut().push(CommitError {
                        event: events.into_vec(),
                        error,
                    }),
                    Err(payload) => {
                        first_panic.get_or_insert(payload);
                    }
                }
            }
            if let Err(payload) =
                catch_unwind(AssertUnwindSafe(|| self.batch.phase(Phase::AfterSettle)))
            {
                first_panic.get_or_insert(payload);
            }
            if self.pending.borrow().is_empty() {
                break;
            }
            rounds += 1;
            if rounds >= MAX_SETTLE_ROUNDS {
                let left: Vec<_> = self.pending.borrow_mut().drain(..).collect();
                for events in left {
                    self.failed.borrow_mut().push(CommitError {
                        event: events.into_vec(),
                        error: Error::SettleLoop { rounds },
                    });
                }
                break;
            }
            self.batch.phase(Phase::BeforeChange);
        }
    }
}

/// The name of an event, from its JSON: the variant of an externally tagged enum, or the
/// type's name.
fn event_name<E>(payload: &str) -> &str {
    let tagged = payload
        .strip_prefix("{\"")
        .or_else(|| payload.strip_prefix('"'))
        .and_then(|rest| rest.find('"').map(|end| &rest[..end]));
    match tagged {
        Some(name) if !name.is_empty() && !name.contains('\\') => name,
        _ => std::any::type_name::<E>(),
    }
}

impl<E: Serialize + DeserializeOwned + 'static> ExternalStore for SqliteStore<E> {
    type Query<T: 'static> = SqlQuery<T>;
    type Error = Error;

    fn query<T: Clone + 'static>(&self, query: &SqlQuery<T>) -> Result<T> {
        SqliteStore::query(self, query)
    }

    fn subscribe<T: Clone + 'static>(
        &self,
        query: &SqlQuery<T>,
        options: SubscribeOptions,
        callback: Box<dyn FnMut(&T)>,
    ) -> Result<ExternalSubscription> {
        SqliteStore::subscribe(self, query, options, callback)
    }

    fn batch_updates(&self) -> BatchUpdates {
        self.inner.batch.clone()
    }

    fn is_dispatching(&self) -> bool {
        self.inner.busy.get()
    }
}

impl<E> Clone for SqliteStore<E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<E> fmt::Debug for SqliteStore<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("subscriptions", &self.inner.live.borrow().len())
            .field("stats", &self.inner.stats.get())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::event_name;

    #[test]
    fn event_names_come_from_the_enum_variant() {
        assert_eq!(event_name::<()>(r#"{"Added":{"id":1}}"#), "Added");
        assert_eq!(event_name::<()>(r#""Cleared""#), "Cleared");
        assert_eq!(event_name::<i64>("5"), "i64");
    }
}
