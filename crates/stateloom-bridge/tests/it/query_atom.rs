//! Query atoms over the SQLite store: in sync, in any scope, in derived atoms, one batch
//! per commit, cached per store, released through the pool.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use stateloom_atom::{AtomScope, derived};
use stateloom_bridge::{BatchCoordinator, DisposePool, SqliteStore, StoreBridge, SubscribeOptions};

use crate::todo::{TodoEvent, added, builder, count, todo_texts};

type Log = Rc<RefCell<Vec<String>>>;

fn entries(log: &Log) -> String {
    log.borrow().join("\n")
}

struct Fixture {
    scope: AtomScope,
    coordinator: BatchCoordinator,
    store: SqliteStore<TodoEvent>,
    bridge: StoreBridge<SqliteStore<TodoEvent>>,
}

fn fixture() -> Fixture {
    let scope = AtomScope::new();
    let coordinator = BatchCoordinator::new(scope.clone());
    let store = builder()
        .batch_updates(coordinator.batch_updates())
        .open_in_memory()
        .unwrap();
    let bridge = StoreBridge::new(store.clone(), coordinator.clone()).unwrap();
    Fixture {
        scope,
        coordinator,
        store,
        bridge,
    }
}

fn commit(store: &SqliteStore<TodoEvent>, event: TodoEvent) {
    store.commit(event).map_err(|e| e.error).unwrap();
}

#[test]
fn a_query_atom_is_readable_in_any_scope_and_in_derived_atoms() {
    let f = fixture();
    let texts = f.bridge.query_atom(todo_texts()).unwrap();
    let summary = derived(move |get| get.with(texts, |t| t.join(", ")));
    let other = AtomScope::new();
    commit(&f.store, added(1, "milk"));
    commit(&f.store, added(2, "eggs"));
    assert_eq!(f.scope.get(summary), "milk, eggs");
    assert_eq!(other.get(summary), "milk, eggs");
    assert_eq!(summary.get(), "milk, eggs"); // the default scope too
}

#[test]
fn all_atoms_of_one_commit_update_in_one_batch() {
    let f = fixture();
    let todos = f.bridge.query_atom(count("todos")).unwrap();
    let tags = f.bridge.query_atom(count("tags")).unwrap();
    let both = derived(move |get| format!("{} todos, {} tags", get.get(todos), get.get(tags)));
    let seen: Log = Rc::default();
    let l = seen.clone();
    let _sub = f.scope.sub(both, move |v| l.borrow_mut().push(v.clone()));
    f.store
        .commit_all(vec![
            added(1, "a"),
            TodoEvent::Tagged {
                id: 1,
                tag: "x".into(),
            },
        ])
        .unwrap();
    f.store
        .commit_all(vec![
            added(2, "b"),
            TodoEvent::Tagged {
                id: 2,
                tag: "y".into(),
            },
        ])
        .unwrap();
    insta::assert_snapshot!(entries(&seen), @r"
    1 todos, 1 tags
    2 todos, 2 tags
    ");
    assert_eq!(f.coordinator.flush_count(), 2);
}

#[test]
fn an_unchanged_result_does_not_notify() {
    let f = fixture();
    let n = f.bridge.query_atom(count("todos")).unwrap();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let _sub = f.scope.sub(n, move |_| c.set(c.get() + 1));
    commit(&f.store, added(1, "milk"));
    commit(
        &f.store,
        TodoEvent::Renamed {
            id: 1,
            text: "oat milk".into(),
        },
    ); // same count
    commit(&f.store, TodoEvent::Completed { id: 1 });
    assert_eq!(calls.get(), 1);
}

#[test]
fn atoms_update_after_the_store_has_called_its_own_subscribers() {
    let f = fixture();
    let seen: Log = Rc::default();
    let l = seen.clone();
    let _store_sub = f
        .store
        .subscribe(
            &count("todos"),
            SubscribeOptions::default().skip_initial_run(),
            move |n| l.borrow_mut().push(format!("store subscriber: {n}")),
        )
        .unwrap();
    let n = f.bridge.query_atom(count("todos")).unwrap();
    let l = seen.clone();
    let _atom_sub = f.scope.sub(n, move |n| {
        l.borrow_mut().push(format!("atom subscriber: {n}"))
    });
    commit(&f.store, added(1, "milk"));
    seen.borrow_mut().push("commit returned".into());
    insta::assert_snapshot!(entries(&seen), @r"
    store subscriber: 1
    atom subscriber: 1
    commit returned
    ");
}

#[test]
fn a_commit_from_an_atom_subscriber_is_applied_before_commit_returns() {
    let f = fixture();
    let todos = f.bridge.query_atom(count("todos")).unwrap();
    let tags = f.bridge.query_atom(count("tags")).unwrap();
    let store = f.store.clone();
    let _auto_tag = f.scope.sub(todos, move |n| {
        let outcome = store.commit(TodoEvent::Tagged {
            id: *n,
            tag: "new".into(),
        });
        assert!(matches!(outcome, Ok(stateloom_bridge::Commit::Queued)));
    });
    commit(&f.store, added(1, "milk"));
    assert_eq!((f.scope.get(todos), f.scope.get(tags)), (1, 1));
    assert_eq!(f.store.event_count().unwrap(), 2);
}

#[test]
fn the_cache_is_per_store() {
    let f = fixture();
    let a = f.bridge.query_atom(count("todos")).unwrap();
    assert_eq!(f.bridge.query_atom(count("todos")).unwrap(), a);
    let g = fixture();
    let b = g.bridge.query_atom(count("todos")).unwrap();
    assert_ne!(a, b);
    commit(&f.store, added(1, "only in f"));
    assert_eq!((f.scope.get(a), g.scope.get(b)), (1, 0));
}

#[test]
fn disposing_the_pool_releases_the_subscriptions_and_keeps_the_last_values() {
    let scope = AtomScope::new();
    let coordinator = BatchCoordinator::new(scope.clone());
    let store = builder()
        .batch_updates(coordinator.batch_updates())
        .open_in_memory()
        .unwrap();
    let pool = DisposePool::new();
    let bridge = StoreBridge::with_pool(store.clone(), coordinator, pool.clone()).unwrap();
    let n = bridge.query_atom(count("todos")).unwrap();
    commit(&store, added(1, "a"));
    assert_eq!(store.stats().refreshes, 1);
    pool.dispose();
    assert!(bridge.is_empty());
    commit(&store, added(2, "b"));
    assert_eq!(store.stats().refreshes, 1); // nobody listens any more
    assert_eq!(scope.get(n), 1);
    assert_eq!(AtomScope::new().get(n), 1); // a new scope sees the kept value too
    assert_eq!(
        bridge.query_atom(count("tags")).unwrap_err().code(),
        "POOL_DISPOSED"
    );
}

#[test]
fn disposing_the_scope_releases_the_subscriptions() {
    let f = fixture();
    let _n = f.bridge.query_atom(count("todos")).unwrap();
    f.scope.dispose();
    assert!(f.bridge.pool().is_disposed());
    commit(&f.store, added(1, "a"));
    assert_eq!(f.store.stats().refreshes, 0);
}

#[test]
fn a_failing_query_gives_the_error_and_caches_nothing() {
    let f = fixture();
    let error = f.bridge.query_atom(count("no_such_table")).unwrap_err();
    assert_eq!(error.code(), "SQLITE");
    assert!(f.bridge.is_empty());
}
