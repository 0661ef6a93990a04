//! The SQLite store: LiveStore's query-subscription scenarios, selective re-runs, one pass
//! per commit, re-entrant commits, opening, rebuilding and failures.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use stateloom_bridge::{BatchUpdates, Commit, Error, SqlQuery, SqliteStore, SubscribeOptions};

use crate::todo::{TodoEvent, added, builder, count, dump, todo_texts};

type Log = Rc<RefCell<Vec<String>>>;

fn entries(log: &Log) -> String {
    log.borrow().join("\n")
}

fn commit(store: &SqliteStore<TodoEvent>, event: TodoEvent) -> Commit {
    store.commit(event).map_err(|e| e.error).unwrap()
}

#[test]
fn subscription_basic_calls_back_with_the_initial_result_then_each_change() {
    let store = builder().open_in_memory().unwrap();
    let seen: Log = Rc::default();
    let l = seen.clone();
    let _sub = store
        .subscribe(&todo_texts(), SubscribeOptions::default(), move |t| {
            l.borrow_mut().push(format!("{t:?}"))
        })
        .unwrap();
    commit(&store, added(1, "milk"));
    insta::assert_snapshot!(entries(&seen), @r#"
    []
    ["milk"]
    "#);
}

#[test]
fn subscription_skip_initial_run_calls_back_only_on_changes() {
    let store = builder().open_in_memory().unwrap();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let _sub = store
        .subscribe(
            &todo_texts(),
            SubscribeOptions::default().skip_initial_run(),
            move |_| c.set(c.get() + 1),
        )
        .unwrap();
    assert_eq!(calls.get(), 0);
    commit(&store, added(1, "milk"));
    assert_eq!(calls.get(), 1);
}

#[test]
fn subscription_unsubscribe_stops_only_that_subscriber() {
    let store = builder().open_in_memory().unwrap();
    let seen: Log = Rc::default();
    let (l1, l2) = (seen.clone(), seen.clone());
    let opts = SubscribeOptions::default().skip_initial_run();
    let first = store
        .subscribe(&todo_texts(), opts, move |t| {
            l1.borrow_mut().push(format!("first {t:?}"))
        })
        .unwrap();
    let _second = store
        .subscribe(&todo_texts(), opts, move |t| {
            l2.borrow_mut().push(format!("second {t:?}"))
        })
        .unwrap();
    commit(&store, added(1, "a"));
    first.unsubscribe();
    commit(&store, added(2, "b"));
    insta::assert_snapshot!(entries(&seen), @r#"
    first ["a"]
    second ["a"]
    second ["a", "b"]
    "#);
}

#[derive(Debug, PartialEq, Clone)]
struct Row {
    id: i64,
    text: String,
    done: bool,
}

#[test]
fn subscription_to_a_whole_table() {
    let store = builder().open_in_memory().unwrap();
    let all = SqlQuery::rows("SELECT * FROM todos", [], |r| {
        Ok(Row {
            id: r.get(0)?,
            text: r.get(1)?,
            done: r.get(2)?,
        })
    });
    let last = Rc::new(RefCell::new(Vec::new()));
    let l = last.clone();
    let _sub = store
        .subscribe(&all, SubscribeOptions::default(), move |rows: &Vec<Row>| {
            *l.borrow_mut() = rows.clone()
        })
        .unwrap();
    commit(&store, added(1, "milk"));
    commit(&store, TodoEvent::Completed { id: 1 });
    assert_eq!(
        *last.borrow(),
        [Row {
            id: 1,
            text: "milk".into(),
            done: true
        }]
    );
}

#[test]
fn only_queries_reading_a_written_table_rerun_and_only_changed_results_notify() {
    let store = builder().open_in_memory().unwrap();
    let seen: Log = Rc::default();
    let opts = SubscribeOptions::default().skip_initial_run();
    let mut subs = Vec::new();
    for (name, query) in [
        ("todos", count("todos")),
        ("tags", count("tags")),
        (
            "done",
            SqlQuery::value("SELECT count(*) FROM todos WHERE done = 1", []),
        ),
    ] {
        let l = seen.clone();
        subs.push(
            store
                .subscribe(&query, opts, move |n: &i64| {
                    l.borrow_mut().push(format!("{name}={n}"))
                })
                .unwrap(),
        );
    }
    commit(&store, added(1, "milk")); // todos: both todos queries re-run, one changes
    assert_eq!(store.stats().refreshes, 2);
    commit(
        &store,
        TodoEvent::Tagged {
            id: 1,
            tag: "shop".into(),
        },
    ); // tags only
    assert_eq!(store.stats().refreshes, 3);
    commit(&store, TodoEvent::Completed { id: 1 }); // count unchanged, done changes
    assert_eq!(store.stats().refreshes, 5);
    insta::assert_snapshot!(entries(&seen), @r"
    todos=1
    tags=1
    done=1
    ");
}

#[test]
fn one_commit_notifies_in_one_pass() {
    let passes: Log = Rc::default();
    let p = passes.clone();
    let store = builder()
        .batch_updates(BatchUpdates::new(move |pass| {
            p.borrow_mut().push("begin".into());
            pass();
            p.borrow_mut().push("end".into());
        }))
        .open_in_memory()
        .unwrap();
    let opts = SubscribeOptions::default().skip_initial_run();
    let mut subs = Vec::new();
    for (name, query) in [("todos", count("todos")), ("tags", count("tags"))] {
        let l = passes.clone();
        subs.push(
            store
                .subscribe(&query, opts, move |n: &i64| {
                    l.borrow_mut().push(format!("{name}={n}"))
                })
                .unwrap(),
        );
    }
    store
        .commit_all(vec![
            added(1, "a"),
            TodoEvent::Tagged {
                id: 1,
                tag: "x".into(),
            },
        ])
        .unwrap();
    insta::assert_snapshot!(entries(&passes), @r"
    begin
    todos=1
    tags=1
    end
    ");
}

#[test]
fn a_commit_from_a_subscriber_is_queued_and_applied_after_the_dispatch() {
    let store = builder().open_in_memory().unwrap();
    let seen: Log = Rc::default();
    let (l, s) = (seen.clone(), store.clone());
    let _auto_tag = store
        .subscribe(
            &count("todos"),
            SubscribeOptions::default().skip_initial_run(),
            move |n: &i64| {
                l.borrow_mut().push(format!("todos={n}"));
                let outcome = s.commit(TodoEvent::Tagged {
                    id: *n,
                    tag: "new".into(),
                });
                l.borrow_mut()
                    .push(format!("inner commit: {:?}", outcome.unwrap()));
                // Read your writes holds for applied commits; the queued one is not yet.
                l.borrow_mut()
                    .push(format!("tags now {}", s.query(&count("tags")).unwrap()));
            },
        )
        .unwrap();
    let l = seen.clone();
    let _tags = store
        .subscribe(
            &count("tags"),
            SubscribeOptions::default().skip_initial_run(),
            move |n: &i64| l.borrow_mut().push(format!("tags={n}")),
        )
        .unwrap();
    let outer = commit(&store, added(1, "milk"));
    seen.borrow_mut().push(format!("outer commit: {outer:?}"));
    insta::assert_snapshot!(entries(&seen), @r"
    todos=1
    inner commit: Queued
    tags now 0
    tags=1
    outer commit: Applied { seq: 1 }
    ");
    assert_eq!(store.event_count().unwrap(), 2);
}

#[test]
fn a_failing_materializer_rolls_back_and_the_store_stays_usable() {
    let store = builder().open_in_memory().unwrap();
    commit(&store, added(1, "milk"));
    let before = dump(&store);
    let failed = store.commit(added(1, "duplicate id")).unwrap_err();
    assert_eq!(failed.event, added(1, "duplicate id"));
    assert_eq!(failed.error.code(), "MATERIALIZE");
    insta::assert_snapshot!(failed.error, @"materializing event `Added` failed: UNIQUE constraint failed: todos.id (code MATERIALIZE)");
    assert_eq!(dump(&store), before);
    assert_eq!(store.event_count().unwrap(), 1);
    assert_eq!(commit(&store, added(2, "eggs")), Commit::Applied { seq: 2 });
}

#[test]
fn a_failing_batch_commits_none_of_its_events() {
    let store = builder().open_in_memory().unwrap();
    let failed = store
        .commit_all(vec![added(1, "a"), added(2, "b"), added(1, "again")])
        .unwrap_err();
    assert_eq!(failed.event.len(), 3);
    assert_eq!(store.event_count().unwrap(), 0);
    assert_eq!(dump(&store), "");
}

#[test]
fn a_panicking_materializer_leaves_nothing_half_written() {
    let store = SqliteStore::<TodoEvent>::builder()
        .table(crate::todo::TABLES)
        .materializer(|event, db| {
            crate::todo::materialize(event, db)?;
            if let TodoEvent::Added { text, .. } = event
                && text == "boom"
            {
                panic!("materializer bug");
            }
            Ok(())
        })
        .open_in_memory()
        .unwrap();
    commit(&store, added(1, "a"));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        store.commit(added(2, "boom")).map_err(|e| e.error.code())
    }));
    assert!(outcome.is_err());
    assert_eq!(dump(&store), r#"todo 1 "a" 0"#);
    assert_eq!(store.event_count().unwrap(), 1);
    assert!(!store.is_dispatching());
    assert_eq!(commit(&store, added(3, "c")), Commit::Applied { seq: 2 });
}

#[test]
fn a_panicking_subscriber_does_not_stop_the_others() {
    let store = builder().open_in_memory().unwrap();
    let opts = SubscribeOptions::default().skip_initial_run();
    let _boom = store
        .subscribe(&count("todos"), opts, |_| panic!("subscriber bug"))
        .unwrap();
    let last = Rc::new(Cell::new(0));
    let l = last.clone();
    let _ok = store
        .subscribe(&count("todos"), opts, move |n| l.set(*n))
        .unwrap();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        store.commit(added(1, "a")).map_err(|e| e.error.code())
    }));
    assert!(outcome.is_err());
    assert_eq!(last.get(), 1);
    assert!(!store.is_dispatching());
    assert_eq!(store.event_count().unwrap(), 1); // committed before the panic
}

#[test]
fn a_failing_queued_commit_is_kept_for_the_caller() {
    let store = builder().open_in_memory().unwrap();
    let s = store.clone();
    let _sub = store
        .subscribe(
            &count("todos"),
            SubscribeOptions::default().skip_initial_run(),
            move |_| {
                let _ = s.commit(added(1, "duplicate"));
            },
        )
        .unwrap();
    commit(&store, added(1, "a"));
    let failed = store.take_failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].event, [added(1, "duplicate")]);
    assert_eq!(failed[0].error.code(), "MATERIALIZE");
}

#[test]
fn commits_that_keep_causing_commits_stop_with_an_error() {
    let store = builder().open_in_memory().unwrap();
    let s = store.clone();
    let _sub = store
        .subscribe(
            &count("todos"),
            SubscribeOptions::default().skip_initial_run(),
            move |n| {
                let _ = s.commit(added(n + 1, "more"));
            },
        )
        .unwrap();
    commit(&store, added(1, "a"));
    let failed = store.take_failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error.code(), "SETTLE_LOOP");
    assert!(!store.is_dispatching());
    assert_eq!(
        store.event_count().unwrap(),
        1 + i64::from(stateloom_bridge::MAX_SETTLE_ROUNDS)
    );
}

#[test]
fn reopening_a_database_replays_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("todos.db");
    let calls = Rc::new(Cell::new(0));
    let open = |calls: Rc<Cell<u32>>| {
        builder()
            .materializer(move |event, db| {
                calls.set(calls.get() + 1);
                crate::todo::materialize(event, db)
            })
            .open(&path)
            .unwrap()
    };
    let store = open(calls.clone());
    commit(&store, added(1, "milk"));
    commit(&store, added(2, "eggs"));
    let state = dump(&store);
    drop(store);
    calls.set(0);
    let store = open(calls.clone());
    assert_eq!(calls.get(), 0);
    assert_eq!(store.stats().replayed, 0);
    assert_eq!(dump(&store), state);
    assert_eq!(commit(&store, added(3, "tea")), Commit::Applied { seq: 3 });
}

#[test]
fn a_newer_schema_version_rematerializes_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("todos.db");
    let store = builder().open(&path).unwrap();
    commit(&store, added(1, "milk"));
    commit(&store, TodoEvent::Completed { id: 1 });
    drop(store);
    // Version 2 keeps texts in upper case.
    let store = SqliteStore::<TodoEvent>::builder()
        .table(crate::todo::TABLES)
        .schema_version(2)
        .materializer(|event, db| match event {
            TodoEvent::Added { id, text } => crate::todo::materialize(
                &TodoEvent::Added {
                    id: *id,
                    text: text.to_uppercase(),
                },
                db,
            ),
            other => crate::todo::materialize(other, db),
        })
        .open(&path)
        .unwrap();
    assert_eq!(store.stats().replayed, 2);
    assert_eq!(dump(&store), r#"todo 1 "MILK" 1"#);
}

#[test]
fn a_database_of_a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("todos.db");
    let store = builder().schema_version(3).open(&path).unwrap();
    commit(&store, added(1, "milk"));
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    let error = builder().schema_version(2).open(&path).unwrap_err();
    assert_eq!(error.code(), "NEWER_SCHEMA");
    insta::assert_snapshot!(error, @"the database has schema version 3, newer than 2 (code NEWER_SCHEMA)");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    // The right program still opens it.
    let store = builder().schema_version(3).open(&path).unwrap();
    assert_eq!(dump(&store), r#"todo 1 "milk" 0"#);
}

#[test]
fn a_database_of_a_newer_format_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("todos.db");
    drop(builder().open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE stateloom_meta SET value = 99 WHERE key = 'format'",
            [],
        )
        .unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let error = builder().open(&path).unwrap_err();
    assert!(matches!(
        error,
        Error::NewerSchema {
            what: "format",
            found: 99,
            ..
        }
    ));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_corrupt_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("todos.db");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let error = builder().open(&path).unwrap_err();
    assert_eq!(error.code(), "CORRUPT_DATABASE");
    assert!(error.to_string().contains("todos.db"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn a_file_that_cannot_be_opened_is_an_sqlite_error_not_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let error = builder()
        .open(dir.path().join("missing").join("todos.db"))
        .unwrap_err();
    assert_eq!(error.code(), "SQLITE");
}

#[test]
fn a_failing_rematerialization_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("todos.db");
    let store = builder().open(&path).unwrap();
    commit(&store, added(1, "milk"));
    drop(store);
    let error = SqliteStore::<TodoEvent>::builder()
        .table(crate::todo::TABLES)
        .schema_version(2)
        .materializer(|_, db| db.execute("INSERT INTO missing VALUES (1)", []).map(drop))
        .open(&path)
        .unwrap_err();
    assert_eq!(error.code(), "MATERIALIZE");
    let store = builder().open(&path).unwrap();
    assert_eq!(dump(&store), r#"todo 1 "milk" 0"#);
}

#[test]
fn rebuild_gives_the_same_state_and_notifies_only_changes() {
    let store = builder().open_in_memory().unwrap();
    commit(&store, added(1, "milk"));
    commit(
        &store,
        TodoEvent::Tagged {
            id: 1,
            tag: "shop".into(),
        },
    );
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let _sub = store
        .subscribe(
            &todo_texts(),
            SubscribeOptions::default().skip_initial_run(),
            move |_| c.set(c.get() + 1),
        )
        .unwrap();
    let before = dump(&store);
    store.rebuild().unwrap();
    assert_eq!(dump(&store), before);
    assert_eq!(calls.get(), 0); // same result: no notification
    assert_eq!(store.stats().replayed, 2);
}

#[test]
fn rebuild_from_a_subscriber_is_refused_as_busy() {
    let store = builder().open_in_memory().unwrap();
    let s = store.clone();
    let code = Rc::new(RefCell::new(String::new()));
    let c = code.clone();
    let _sub = store
        .subscribe(
            &count("todos"),
            SubscribeOptions::default().skip_initial_run(),
            move |_| *c.borrow_mut() = s.rebuild().unwrap_err().code().to_string(),
        )
        .unwrap();
    commit(&store, added(1, "a"));
    assert_eq!(*code.borrow(), "BUSY");
}

#[test]
fn events_round_trip_through_the_log() {
    let store = builder().open_in_memory().unwrap();
    commit(&store, added(1, "milk"));
    commit(&store, TodoEvent::Cleared);
    assert_eq!(
        store.events().unwrap(),
        [(1, added(1, "milk")), (2, TodoEvent::Cleared)]
    );
}
