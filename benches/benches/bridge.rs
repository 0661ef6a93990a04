//! Bridge benches: the event-sourced SQLite store's commits (one event, a 10,000-event
//! batch), the time from a commit to a subscriber's callback, 100 live queries of which one
//! changes, each next to the same SQL run by hand with rusqlite where that applies.
//! LiveStore 0.4 runs the same groups in `benches/js/peers/bridge.mjs`.
//!
//! Database files are in WAL mode with `synchronous=NORMAL` (the store's default
//! `Durability::Normal`): a commit survives the process being killed, not a power loss.

use std::cell::Cell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use stateloom_atom::AtomScope;
use stateloom_bridge::{
    BatchCoordinator, SqlQuery, SqliteStore, SqliteStoreBuilder, StoreBridge, SubscribeOptions,
};

const BATCH: i64 = 10_000;
const TABLES: usize = 10;
const BUCKETS: usize = 10;

#[derive(Serialize, Deserialize)]
enum Todo {
    Created { id: i64, text: String },
}

const CREATE_TODOS: &str = "CREATE TABLE todos (id INTEGER PRIMARY KEY, text TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)";
const INSERT_TODO: &str = "INSERT INTO todos (id, text) VALUES (?1, ?2)";

fn todo_store() -> SqliteStoreBuilder<Todo> {
    SqliteStore::builder()
        .table(CREATE_TODOS)
        .materializer(|Todo::Created { id, text }, db| {
            db.execute(INSERT_TODO, (id, text)).map(drop)
        })
}

fn created(id: i64) -> Todo {
    Todo::Created {
        id,
        text: "buy milk".to_string(),
    }
}

/// The store's work done by hand: the same pragmas, the same two statements (the event as
/// JSON into the log, the row into the table) in one transaction.
struct ByHand {
    conn: Connection,
}

impl ByHand {
    fn open(path: &Path) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.execute_batch(
            "CREATE TABLE stateloom_events (seq INTEGER PRIMARY KEY, name TEXT NOT NULL, payload TEXT NOT NULL);",
        )
        .unwrap();
        conn.execute_batch(CREATE_TODOS).unwrap();
        Self { conn }
    }

    fn commit(&self, events: &[Todo]) {
        let tx = self.conn.unchecked_transaction().unwrap();
        for event in events {
            let payload = serde_json::to_string(event).unwrap();
            tx.prepare_cached("INSERT INTO stateloom_events (name, payload) VALUES (?1, ?2)")
                .unwrap()
                .execute(("Created", &payload))
                .unwrap();
            let Todo::Created { id, text } = event;
            tx.prepare_cached(INSERT_TODO)
                .unwrap()
                .execute((id, text))
                .unwrap();
        }
        tx.commit().unwrap();
    }

    fn count(&self) -> i64 {
        self.conn
            .query_row("SELECT count(*) FROM todos", [], |r| r.get(0))
            .unwrap()
    }
}

/// Fresh database paths in one temporary directory.
struct Files {
    dir: tempfile::TempDir,
    next: Cell<u32>,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            next: Cell::new(0),
        }
    }

    fn fresh(&self) -> PathBuf {
        let n = self.next.get();
        self.next.set(n + 1);
        if n > 0 {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(self.dir.path().join(format!("{}.db{suffix}", n - 1)));
            }
        }
        self.dir.path().join(format!("{n}.db"))
    }
}

/// One single-event commit to a database file (target: 20,000 per second; LiveStore 0.4:
/// 404 per second).
fn commit_1(c: &mut Criterion) {
    let mut group = c.benchmark_group("bridge_commit_1");
    let files = Files::new();
    let store = todo_store().open(files.fresh()).unwrap();
    let next = Cell::new(1_i64);
    let commit = || {
        let id = next.get();
        next.set(id + 1);
        store
            .commit(black_box(created(id)))
            .map_err(|e| e.error)
            .unwrap();
    };
    commit();
    assert_eq!(store.event_count().unwrap(), 1);
    group.bench_function("stateloom", |b| b.iter(commit));

    let by_hand = ByHand::open(&files.fresh());
    let next = Cell::new(1_i64);
    let commit = || {
        let id = next.get();
        next.set(id + 1);
        by_hand.commit(std::slice::from_ref(&black_box(created(id))));
    };
    commit();
    assert_eq!(by_hand.count(), 1);
    group.bench_function("rusqlite", |b| b.iter(commit));
    group.finish();
}

/// One commit of 10,000 events to a fresh database file (target: 500,000 events per
/// second; LiveStore 0.4: 2,665).
fn commit_batch_10k(c: &mut Criterion) {
    let mut group = c.benchmark_group("bridge_commit_batch_10k");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    let files = Files::new();
    let events = || (1..=BATCH).map(created).collect::<Vec<_>>();
    {
        let store = todo_store().open(files.fresh()).unwrap();
        store.commit_all(events()).map_err(|e| e.error).unwrap();
        assert_eq!(store.event_count().unwrap(), BATCH);
    }
    group.bench_function("stateloom", |b| {
        b.iter_batched(
            || (todo_store().open(files.fresh()).unwrap(), events()),
            |(store, events)| {
                store.commit_all(events).map_err(|e| e.error).unwrap();
                store
            },
            BatchSize::PerIteration,
        )
    });
    {
        let by_hand = ByHand::open(&files.fresh());
        by_hand.commit(&events());
        assert_eq!(by_hand.count(), BATCH);
    }
    group.bench_function("rusqlite", |b| {
        b.iter_batched(
            || (ByHand::open(&files.fresh()), events()),
            |(by_hand, events)| {
                by_hand.commit(&events);
                by_hand
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// From the start of a commit to the call of a subscriber of a query on the written table:
/// a store subscriber, and a query atom's subscriber through the coordinator (target:
/// 50 µs; LiveStore 0.4: 1.8 ms).
fn commit_to_callback(c: &mut Criterion) {
    let mut group = c.benchmark_group("bridge_commit_to_callback");
    let files = Files::new();
    // The newest todo's id: it changes with every commit and costs the same however many
    // rows the table has (a count would scan a table that grows with every sample).
    let newest = SqlQuery::<i64>::value("SELECT max(id) FROM todos", []);

    let store = todo_store().open(files.fresh()).unwrap();
    store.commit(created(0)).map_err(|e| e.error).unwrap(); // `max(id)` is not null from here
    let called = Rc::new(Cell::new(None::<Instant>));
    let seen = called.clone();
    let _sub = store
        .subscribe(
            &newest,
            SubscribeOptions::default().skip_initial_run(),
            move |_| seen.set(Some(Instant::now())),
        )
        .unwrap();
    let next = Cell::new(1_i64);
    let latency = |store: &SqliteStore<Todo>, called: &Cell<Option<Instant>>| {
        let id = next.get();
        next.set(id + 1);
        called.set(None);
        let start = Instant::now();
        store.commit(created(id)).map_err(|e| e.error).unwrap();
        called.get().expect("the subscriber was called") - start
    };
    latency(&store, &called);
    group.bench_function("stateloom", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| latency(&store, &called)).sum())
    });

    let scope = AtomScope::new();
    let coordinator = BatchCoordinator::new(scope.clone());
    let store = todo_store()
        .batch_updates(coordinator.batch_updates())
        .open(files.fresh())
        .unwrap();
    store.commit(created(0)).map_err(|e| e.error).unwrap();
    let bridge = StoreBridge::new(store.clone(), coordinator).unwrap();
    let atom = bridge.query_atom(newest).unwrap();
    let called = Rc::new(Cell::new(None::<Instant>));
    let seen = called.clone();
    let _atom_sub = scope.sub(atom, move |_| seen.set(Some(Instant::now())));
    next.set(1);
    latency(&store, &called);
    group.bench_function("stateloom_query_atom", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| latency(&store, &called)).sum())
    });
    group.finish();
}

#[derive(Serialize, Deserialize)]
struct Insert {
    table: usize,
    bucket: i64,
}

/// 100 subscribed queries over 10 tables (the newest row of each bucket, through an index),
/// and one commit into one table and bucket: 10 queries re-run, one result changes, one
/// callback runs (LiveStore 0.4 calls all 10 subscribers of the table).
fn queries_100(c: &mut Criterion) {
    let mut group = c.benchmark_group("bridge_queries_100");
    let files = Files::new();
    let inserts: Vec<String> = (0..TABLES)
        .map(|t| format!("INSERT INTO t{t} (bucket) VALUES (?1)"))
        .collect();
    let mut builder = SqliteStore::<Insert>::builder()
        .materializer(move |event, db| db.execute(&inserts[event.table], [event.bucket]).map(drop));
    for t in 0..TABLES {
        builder = builder.table(format!(
            "CREATE TABLE t{t} (id INTEGER PRIMARY KEY, bucket INTEGER NOT NULL);
             CREATE INDEX t{t}_bucket ON t{t} (bucket, id);"
        ));
    }
    let store = builder.open(files.fresh()).unwrap();
    let callbacks = Rc::new(Cell::new(0_u64));
    let subs: Vec<_> = (0..TABLES)
        .flat_map(|t| (0..BUCKETS).map(move |b| (t, b)))
        .map(|(t, b)| {
            let query = SqlQuery::<i64>::value(
                &format!("SELECT coalesce(max(id), 0) FROM t{t} WHERE bucket = ?1"),
                [(b as i64).into()],
            );
            let callbacks = callbacks.clone();
            store
                .subscribe(
                    &query,
                    SubscribeOptions::default().skip_initial_run(),
                    move |_| callbacks.set(callbacks.get() + 1),
                )
                .unwrap()
        })
        .collect();
    let commit = || {
        store
            .commit(Insert {
                table: 3,
                bucket: 5,
            })
            .map_err(|e| e.error)
            .unwrap();
    };
    let before = store.stats();
    commit();
    assert_eq!(callbacks.get(), 1, "exactly one result changed");
    assert_eq!(store.stats().refreshes - before.refreshes, BUCKETS as u64);
    group.bench_function("stateloom", |b| b.iter(commit));
    assert_eq!(callbacks.get(), store.event_count().unwrap() as u64);
    group.finish();
    drop(subs);
}

fn benches(c: &mut Criterion) {
    commit_1(c);
    commit_batch_10k(c);
    commit_to_callback(c);
    queries_100(c);
}

fn main() -> ExitCode {
    stateloom_benches::harness::main(&[], benches)
}
