//! Equal writes: a write whose result is the current state is skipped on every path, with
//! `PartialEq` or a custom equality, and user code around the comparison may re-enter.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use stateloom_core::{create_root, effect};
use stateloom_store::{
    FnCodec, History, MemoryStorage, Next, Persist, Store, Update, Write, middleware_fn,
};

use crate::{Counter, Log};

fn counter(count: i64, label: &str) -> Counter {
    Counter {
        count,
        label: label.to_owned(),
    }
}

/// Logs every listener call and every run of an effect reading the whole state.
fn watch(
    store: &Store<Counter>,
    log: &Log,
) -> (stateloom_store::StoreSubscription, stateloom_core::Root) {
    let l = log.clone();
    let sub =
        store.subscribe(move |new, old| l.push(format!("listener {} -> {}", old.count, new.count)));
    let (s, l) = (store.clone(), log.clone());
    let ((), root) = create_root(|| {
        effect(move || l.push(format!("effect {}", s.with(|c| c.count))));
    });
    (sub, root)
}

#[test]
fn issue_an_equal_write_notifies_no_listener_and_reruns_no_effect() {
    let store = Store::new(counter(1, "a"));
    let log = Log::default();
    let (_sub, root) = watch(&store, &log);
    store.set_state(counter(1, "a"));
    store.update(|_| {});
    store.update(|c| c.count += 0);
    store.patch(|c: &mut Counter| c.label = "a".into());
    store.named("same").set_state(store.get_state());
    store.dispatch(Write::replace(counter(1, "a")).with_action("dispatched"));
    assert_eq!(store.version(), 0, "nothing was committed");
    store.update(|c| c.count = 2);
    root.dispose();
    insta::assert_snapshot!(log.take(), @r"
    effect 1
    effect 2
    listener 1 -> 2
    ");
    assert_eq!(store.version(), 1);
}

#[test]
fn issue_an_equal_write_is_not_an_undo_step_and_keeps_the_redo_steps() {
    let history = History::new(10);
    let store = Store::builder(0).middleware(history.clone()).build();
    store.set_state(1);
    store.set_state(1);
    store.update(|_| {});
    assert_eq!(history.undo_len(), 1);
    assert!(history.undo());
    store.set_state(0); // the state after the undo: not a new step, so redo survives
    assert_eq!((history.undo_len(), history.redo_len()), (0, 1));
    assert!(history.redo());
    assert_eq!(store.get_state(), 1);
}

#[test]
fn issue_an_equal_write_is_not_saved() {
    let codec = || {
        FnCodec::new(
            |n: &i64| n.to_string().into_bytes(),
            |b: &[u8]| {
                String::from_utf8_lossy(b)
                    .parse()
                    .map_err(|e| format!("{e}"))
            },
        )
    };
    let storage = MemoryStorage::new();
    let persist = Persist::builder("n", storage.clone(), codec()).build();
    let store = Store::builder(0).middleware(persist.clone()).build();
    store.set_state(0);
    assert_eq!(persist.save_count(), 0);
    store.set_state(5);
    store.set_state(5);
    store.update(|n| *n *= 1);
    assert_eq!(persist.save_count(), 1);
    store.destroy();

    // Hydrating data equal to the initial state commits nothing either.
    let persist = Persist::builder("n", storage, codec()).build();
    let store = Store::builder(5).middleware(persist.clone()).build();
    assert!(persist.has_hydrated());
    assert_eq!(store.version(), 0);
}

#[test]
fn issue_a_middleware_that_rewrites_a_write_to_the_current_state_is_silent() {
    // A clamp: the count stays within 0..=10, whatever the write does.
    let clamp = middleware_fn(|_api, next: Next<Counter>, write: Write<Counter>| {
        next.run(write.map_update(|update| {
            Update::Mutate(Box::new(move |c: &mut Counter| {
                update.apply(c);
                c.count = c.count.clamp(0, 10);
            }))
        }));
    });
    // A veto by rewrite: a write named "locked" becomes a write of the current state.
    let lock = middleware_fn(
        |api: &stateloom_store::Api<Counter>, next: Next<Counter>, write: Write<Counter>| {
            if write.action() == Some("locked") {
                next.run(Write::replace(api.get_state()));
            } else {
                next.run(write);
            }
        },
    );
    let history = History::new(10);
    let store = Store::builder(counter(10, "full"))
        .middleware(clamp)
        .middleware(lock)
        .middleware(history.clone())
        .build();
    let log = Log::default();
    let (_sub, root) = watch(&store, &log);
    store.update(|c| c.count += 5); // clamped back to 10
    store.named("locked").set_state(counter(3, "changed"));
    store.update(|c| c.count -= 1);
    root.dispose();
    insta::assert_snapshot!(log.take(), @r"
    effect 10
    effect 9
    listener 10 -> 9
    ");
    assert_eq!(history.undo_len(), 1);
}

#[test]
fn issue_a_listener_writing_an_equal_value_back_settles_after_one_call() {
    let store = Store::new(counter(0, ""));
    let calls = Rc::new(Cell::new(0));
    let (s, c) = (store.clone(), calls.clone());
    let _sub = store.subscribe(move |new, _| {
        c.set(c.get() + 1);
        // A normalizing listener: it writes what it sees back. Bounded so that a store
        // that notifies equal writes fails this test instead of looping.
        if c.get() < 5 {
            s.set_state(new.clone());
            s.update(|_| {});
        }
    });
    store.update(|c| c.count = 1);
    assert_eq!(calls.get(), 1);
    assert_eq!(store.version(), 1);
}

#[test]
fn a_custom_equality_decides_what_a_change_is() {
    let store = Store::builder_with_equals(counter(0, "a"), |a, b| a.count == b.count).build();
    let log = Log::default();
    let (_sub, root) = watch(&store, &log);
    store.update(|c| c.label = "ignored".into());
    store.update(|c| c.count = 1);
    root.dispose();
    insta::assert_snapshot!(log.take(), @r"
    effect 0
    effect 1
    listener 0 -> 1
    ");
    assert_eq!(store.with(|c| c.label.clone()), "a");
}

#[test]
fn a_state_without_partial_eq_makes_a_store_that_can_notify_every_write() {
    /// No `PartialEq`: the store cannot compare it unless told how.
    #[derive(Clone)]
    struct Opaque(#[allow(dead_code)] Rc<()>);

    let store = Store::new_with_equals(Opaque(Rc::new(())), |_, _| false);
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let _sub = store.subscribe(move |_, _| c.set(c.get() + 1));
    store.update(|_| {});
    store.set_state(store.get_state());
    assert_eq!((calls.get(), store.version()), (2, 2));

    let by_pointer = Store::new_with_equals(Opaque(Rc::new(())), |a, b| Rc::ptr_eq(&a.0, &b.0));
    by_pointer.set_state(by_pointer.get_state());
    by_pointer.set_state(Opaque(Rc::new(())));
    assert_eq!(by_pointer.version(), 1);
}

thread_local! {
    /// Makes `panicky` and `writes_then_panics` panic while set.
    static PANIC: Cell<bool> = const { Cell::new(false) };
    /// The store `reentrant` writes to, and what it logs.
    static REENTRANT: RefCell<Option<(Store<i64>, Log)>> = const { RefCell::new(None) };
    /// The store `writes_then_panics` writes to.
    static WRITER: RefCell<Option<Store<i64>>> = const { RefCell::new(None) };
}

fn panicky(a: &Counter, b: &Counter) -> bool {
    assert!(!PANIC.get(), "equality failed");
    a == b
}

#[test]
fn issue_a_panicking_equality_leaves_the_store_consistent_and_usable() {
    let history = History::new(10);
    let storage = MemoryStorage::new();
    let codec = FnCodec::new(
        |c: &Counter| c.count.to_string().into_bytes(),
        |b: &[u8]| {
            let count = String::from_utf8_lossy(b)
                .parse()
                .map_err(|e| format!("{e}"))?;
            Ok(counter(count, ""))
        },
    );
    let persist = Persist::builder("c", storage, codec).build();
    let store = Store::builder_with_equals(counter(0, ""), panicky)
        .middleware(persist.clone())
        .middleware(history.clone())
        .build();
    let log = Log::default();
    let (_sub, root) = watch(&store, &log);
    let (can_undo, can_redo) = (history.can_undo(), history.can_redo());
    store.set_state(counter(1, ""));
    log.take();

    let attempt = |f: &dyn Fn()| {
        PANIC.set(true);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        PANIC.set(false);
        assert!(result.is_err(), "the equality panicked");
    };
    let queued = store.clone();
    let s = store.clone();
    attempt(&|| s.set_state(counter(2, "")));
    attempt(&|| s.update(|c| c.count = 3));
    let h = history.clone();
    attempt(&|| {
        h.undo();
    });
    // Nothing of those writes was applied, recorded or saved, and the undo step is back.
    assert_eq!(store.get_state(), counter(1, ""));
    assert_eq!(store.version(), 1);
    assert_eq!((history.undo_len(), history.redo_len()), (1, 0));
    assert_eq!((can_undo.get(), can_redo.get()), (true, false));
    assert_eq!(persist.save_count(), 1);
    assert_eq!(log.take(), "");

    // The store is idle and usable: writes commit, undo works, queued writes still run.
    let once = Cell::new(true);
    let _writer = store.subscribe(move |new, _| {
        if new.count == 4 && once.replace(false) {
            queued.update(|c| c.count = 5);
        }
    });
    store.set_state(counter(4, ""));
    assert_eq!(store.get_state(), counter(5, ""));
    assert_eq!(history.undo_len(), 3);
    assert!(history.undo());
    assert_eq!(store.get_state(), counter(4, ""));
    root.dispose();
    insta::assert_snapshot!(log.take(), @r"
    effect 4
    listener 1 -> 4
    effect 5
    listener 4 -> 5
    effect 4
    listener 5 -> 4
    ");
}

fn reentrant(a: &i64, b: &i64) -> bool {
    REENTRANT.with_borrow(|slot| {
        if let Some((store, log)) = slot {
            // Reading is fine; a write is queued behind the one being compared.
            log.push(format!(
                "equals({a}, {b}) sees {}",
                store.get_state_untracked()
            ));
            if *b == 1 {
                store.set_state(10);
            }
        }
    });
    a == b
}

#[test]
fn an_equality_that_reads_and_writes_the_store_has_its_write_queued() {
    let store = Store::new_with_equals(0, reentrant);
    let log = Log::default();
    REENTRANT.set(Some((store.clone(), log.clone())));
    let l = log.clone();
    let _sub = store.subscribe(move |new, old| l.push(format!("listener {old} -> {new}")));
    store.set_state(1);
    REENTRANT.set(None);
    assert_eq!(store.get_state(), 10);
    insta::assert_snapshot!(log.take(), @r"
    equals(0, 1) sees 0
    listener 0 -> 1
    equals(1, 10) sees 1
    listener 1 -> 10
    ");
}

/// Writes 99 to the store in `WRITER`, then panics while `PANIC` is set.
fn writes_then_panics(a: &i64, b: &i64) -> bool {
    if PANIC.get() {
        WRITER.with_borrow(|store| store.as_ref().map(|s| s.set_state(99)));
        panic!("equality failed after writing");
    }
    a == b
}

#[test]
fn issue_a_panicking_equality_leaves_no_queued_write_behind() {
    let store = Store::new_with_equals(0, writes_then_panics);
    WRITER.set(Some(store.clone()));
    let s = store.clone();
    PANIC.set(true);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.set_state(1)));
    PANIC.set(false);
    assert!(result.is_err());
    // The write the equality queued reacted to a write that never happened: it is gone, and
    // the next write is applied alone.
    store.set_state(2);
    WRITER.set(None);
    assert_eq!((store.get_state(), store.version()), (2, 1));
}

/// A core effect that panics after a committed write: the write stays committed, and the write
/// another effect queued in reaction to it is kept, whether the write replaced the state or
/// changed it in place.
#[test]
fn a_panicking_effect_after_a_commit_keeps_the_write_and_what_it_queued() {
    fn run(write: impl FnOnce(&Store<i64>)) -> (i64, u64) {
        let store = Store::new(0_i64);
        let (reactor, bomb) = (store.clone(), store.clone());
        let ((), root) = create_root(|| {
            // Created first, so it runs first: asks for 2 once it sees 1 (queued: busy).
            effect(move || {
                if reactor.get_state() == 1 {
                    reactor.set_state(2);
                }
            });
            effect(move || {
                if bomb.get_state() == 1 {
                    panic!("effect failed");
                }
            });
        });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(&store)));
        assert!(result.is_err(), "the effect's panic reaches the writer");
        assert_eq!(store.get_state(), 1, "the write stays committed");
        // The next write drains what the first one's effects queued.
        store.set_state(5);
        let seen = (store.get_state(), store.version());
        root.dispose();
        seen
    }
    let replaced = run(|s| s.set_state(1));
    let changed = run(|s| s.update(|v| *v = 1));
    assert_eq!(replaced, changed);
    assert_eq!(
        replaced.0, 2,
        "the queued write was applied after the next one"
    );
}
