//! The coordinator's scenarios from the LiveStore–Jotai bridge, and what it does better.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use stateloom_atom::{AtomScope, atom, derived};
use stateloom_bridge::{BatchCoordinator, BatchUpdates, Phase, StoreBridge};

use crate::fake::FakeStore;

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::default()
}

fn entries(log: &Log) -> String {
    log.borrow().join("\n")
}

#[test]
fn n_updates_in_one_batch_flush_once_with_the_last_value_per_atom() {
    let scope = AtomScope::new();
    let (a, b) = (atom(0), atom(0));
    let coordinator = BatchCoordinator::new(scope.clone());
    let seen = log();
    let both = derived(move |get| (get.get(a), get.get(b)));
    let l = seen.clone();
    let _sub = scope.sub(both, move |(a, b)| l.borrow_mut().push(format!("{a} {b}")));
    coordinator.batch_updates().run(&mut || {
        for i in 1..=10 {
            coordinator.queue_update(b, i * 10);
            coordinator.queue_update(a, i);
        }
        assert_eq!(coordinator.queue_len(), 2);
    });
    assert_eq!(coordinator.flush_count(), 1);
    insta::assert_snapshot!(entries(&seen), @"10 100");
}

#[test]
fn updates_apply_in_first_queued_order() {
    let scope = AtomScope::new();
    let (a, b) = (atom(0), atom(0));
    let order = log();
    let (l1, l2) = (order.clone(), order.clone());
    let _sa = scope.sub(a, move |v| l1.borrow_mut().push(format!("a={v}")));
    let _sb = scope.sub(b, move |v| l2.borrow_mut().push(format!("b={v}")));
    let coordinator = BatchCoordinator::new(scope.clone());
    // Subscribers run at the end of the flush's batch, in the order of their signals'
    // creation; the values are what matters: b's second value replaced its first in place.
    coordinator.batch_updates().run(&mut || {
        coordinator.queue_update(b, 1);
        coordinator.queue_update(a, 1);
        coordinator.queue_update(b, 2);
    });
    assert_eq!((scope.get(a), scope.get(b)), (1, 2));
    insta::assert_snapshot!(entries(&order), @r"
    a=1
    b=2
    ");
}

#[test]
fn outside_a_batch_an_update_applies_at_once() {
    let scope = AtomScope::new();
    let n = atom(0);
    let coordinator = BatchCoordinator::new(scope.clone());
    coordinator.queue_update(n, 5);
    assert_eq!(scope.get(n), 5);
    assert_eq!(coordinator.flush_count(), 0);
}

#[test]
fn nested_batches_flush_once_at_depth_zero() {
    let scope = AtomScope::new();
    let n = atom(0);
    let coordinator = BatchCoordinator::new(scope.clone());
    let batch = coordinator.batch_updates();
    batch.run(&mut || {
        coordinator.queue_update(n, 1);
        batch.run(&mut || {
            coordinator.queue_update(n, 2);
            batch.run(&mut || coordinator.queue_update(n, 3));
            assert_eq!(scope.get(n), 0);
        });
        assert_eq!(scope.get(n), 0);
    });
    assert_eq!((scope.get(n), coordinator.flush_count()), (3, 1));
}

#[test]
fn the_flush_is_deferred_while_the_store_dispatches() {
    let scope = AtomScope::new();
    let n = atom(0);
    let dispatching = Rc::new(Cell::new(true));
    let d = dispatching.clone();
    let coordinator = BatchCoordinator::new(scope.clone()).with_dispatch_probe(move || d.get());
    coordinator
        .batch_updates()
        .run(&mut || coordinator.queue_update(n, 1));
    assert!(coordinator.is_flush_deferred());
    assert_eq!(scope.get(n), 0);
    assert!(!coordinator.poll().unwrap()); // still dispatching
    dispatching.set(false);
    assert!(coordinator.poll().unwrap());
    assert_eq!((scope.get(n), coordinator.flush_count()), (1, 1));
}

#[test]
fn a_deferred_flush_runs_at_the_next_pass_after_the_dispatch() {
    let scope = AtomScope::new();
    let n = atom(0);
    let dispatching = Rc::new(Cell::new(true));
    let d = dispatching.clone();
    let coordinator = BatchCoordinator::new(scope.clone()).with_dispatch_probe(move || d.get());
    let batch = coordinator.batch_updates();
    batch.run(&mut || coordinator.queue_update(n, 1));
    dispatching.set(false);
    batch.run(&mut || coordinator.queue_update(n, 2));
    assert_eq!((scope.get(n), coordinator.flush_count()), (2, 1));
}

#[test]
fn with_phases_the_flush_waits_for_after_settle_without_polling() {
    let scope = AtomScope::new();
    let n = atom(0);
    let coordinator = BatchCoordinator::new(scope.clone());
    let batch = coordinator.batch_updates();
    let seen = log();
    let l = seen.clone();
    let _sub = scope.sub(n, move |v| l.borrow_mut().push(format!("n={v}")));
    batch.phase(Phase::BeforeChange);
    batch.run(&mut || coordinator.queue_update(n, 1));
    batch.run(&mut || coordinator.queue_update(n, 2));
    seen.borrow_mut().push("dispatch over".into());
    assert!(coordinator.is_flush_deferred());
    batch.phase(Phase::AfterSettle);
    insta::assert_snapshot!(entries(&seen), @r"
    dispatch over
    n=2
    ");
}

#[test]
fn updates_queued_during_a_flush_are_flushed_in_a_follow_up() {
    let scope = AtomScope::new();
    let (source, echo) = (atom(0), atom(0));
    let coordinator = BatchCoordinator::new(scope.clone());
    let c = coordinator.clone();
    let _sub = scope.sub(source, move |v| c.queue_update(echo, v * 10));
    let seen = log();
    let l = seen.clone();
    let _echo = scope.sub(echo, move |v| l.borrow_mut().push(format!("echo={v}")));
    coordinator
        .batch_updates()
        .run(&mut || coordinator.queue_update(source, 4));
    assert_eq!(scope.get(echo), 40);
    assert_eq!(coordinator.flush_count(), 2);
    insta::assert_snapshot!(entries(&seen), @"echo=40");
}

#[test]
fn a_store_created_without_the_wrapper_is_refused_with_a_stable_code() {
    let coordinator = BatchCoordinator::new(AtomScope::new());
    let unwired = FakeStore::new(BatchUpdates::default(), false);
    let error = coordinator.assert_wired(&unwired).unwrap_err();
    assert_eq!(error.code(), "BRIDGE_UNWIRED");
    assert!(error.to_string().contains("BRIDGE_UNWIRED"), "{error}");
    let other = BatchCoordinator::new(AtomScope::new());
    let wired_elsewhere = FakeStore::new(other.batch_updates(), false);
    assert_eq!(
        StoreBridge::new(wired_elsewhere, coordinator.clone())
            .unwrap_err()
            .code(),
        "BRIDGE_UNWIRED"
    );
    let wired = FakeStore::new(coordinator.batch_updates(), false);
    assert!(coordinator.assert_wired(&wired).is_ok());
}

#[test]
fn cancel_drops_the_queue_and_the_deferred_flush() {
    let scope = AtomScope::new();
    let n = atom(0);
    let coordinator = BatchCoordinator::new(scope.clone()).with_dispatch_probe(|| true);
    coordinator
        .batch_updates()
        .run(&mut || coordinator.queue_update(n, 1));
    assert_eq!(coordinator.queue_len(), 1);
    coordinator.cancel_pending();
    assert!(!coordinator.is_flush_deferred());
    assert!(!coordinator.poll().unwrap());
    assert_eq!((scope.get(n), coordinator.flush_count()), (0, 0));
}

#[test]
fn a_dispatch_that_never_ends_is_reported_as_starvation() {
    let scope = AtomScope::new();
    let n = atom(0);
    let coordinator = BatchCoordinator::new(scope.clone())
        .with_dispatch_probe(|| true)
        .with_max_deferrals(10);
    coordinator.queue_update(n, 1);
    let error = coordinator.wait_for_flush().unwrap_err();
    assert_eq!(error.code(), "FLUSH_STARVATION");
    insta::assert_snapshot!(error, @"flush starved: the external store was still dispatching after 11 deferrals, 1 updates queued (code FLUSH_STARVATION)");
    // The update is still there for a later flush or a cancel.
    assert_eq!(coordinator.queue_len(), 1);
}

#[test]
fn wait_for_flush_returns_at_once_when_nothing_is_pending() {
    let coordinator = BatchCoordinator::new(AtomScope::new()).with_dispatch_probe(|| true);
    assert!(coordinator.wait_for_flush().is_ok());
}

#[test]
fn a_panicking_subscriber_leaves_every_update_applied() {
    let scope = AtomScope::new();
    let (a, b) = (atom(0), atom(0));
    let coordinator = BatchCoordinator::new(scope.clone());
    let _boom = scope.sub(a, |_| panic!("subscriber failed"));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        coordinator.batch_updates().run(&mut || {
            coordinator.queue_update(a, 1);
            coordinator.queue_update(b, 2);
        })
    }));
    assert!(outcome.is_err());
    assert_eq!(
        (scope.get(a), scope.get(b), coordinator.queue_len()),
        (1, 2, 0)
    );
    // The coordinator goes on working.
    coordinator
        .batch_updates()
        .run(&mut || coordinator.queue_update(b, 3));
    assert_eq!(scope.get(b), 3);
}

#[test]
fn the_fake_store_reaches_atoms_through_the_bridge_in_one_batch() {
    let scope = AtomScope::new();
    let coordinator = BatchCoordinator::new(scope.clone());
    let store = FakeStore::new(coordinator.batch_updates(), false);
    let bridge = StoreBridge::new(store.clone(), coordinator.clone()).unwrap();
    let x = bridge.query_atom::<i64>("x").unwrap();
    let y = bridge.query_atom::<i64>("y").unwrap();
    let sum = derived(move |get| get.get(x) + get.get(y));
    let seen = log();
    let l = seen.clone();
    let _sub = scope.sub(sum, move |v| l.borrow_mut().push(format!("sum={v}")));
    // Without phases the flush waits for the probe (the store's dispatch flag) to clear and
    // for someone to ask: the next pass, an update, `poll` or `wait_for_flush`.
    store.set(&[("x", 1), ("y", 2)]);
    assert_eq!(scope.get(sum), 0);
    coordinator.wait_for_flush().unwrap();
    store.set(&[("x", 1)]); // unchanged: nobody is notified
    coordinator.wait_for_flush().unwrap();
    store.set(&[("y", 5)]);
    coordinator.wait_for_flush().unwrap();
    insta::assert_snapshot!(entries(&seen), @r"
    sum=3
    sum=6
    ");
    assert_eq!(coordinator.flush_count(), 3);
}

#[test]
fn a_phased_fake_store_flushes_after_settling() {
    let scope = AtomScope::new();
    let coordinator = BatchCoordinator::new(scope.clone());
    let store = FakeStore::new(coordinator.batch_updates(), true);
    let bridge = StoreBridge::new(store.clone(), coordinator.clone()).unwrap();
    let x = bridge.query_atom::<i64>("x").unwrap();
    let dispatching_seen = Rc::new(Cell::new(None));
    let d = dispatching_seen.clone();
    let s = store.clone();
    let _sub = scope.sub(x, move |_| d.set(Some(s.dispatching.get())));
    store.set(&[("x", 7)]);
    assert_eq!(scope.get(x), 7);
    assert_eq!(dispatching_seen.get(), Some(false));
}

#[test]
fn the_flush_runs_inside_the_kernel_batch_hook_once() {
    let scope = AtomScope::new();
    let (a, b) = (atom(0), atom(0));
    let seen = log();
    let (l1, l2, l3) = (seen.clone(), seen.clone(), seen.clone());
    let _sa = scope.sub(a, move |v| l1.borrow_mut().push(format!("a={v}")));
    let _sb = scope.sub(b, move |v| l2.borrow_mut().push(format!("b={v}")));
    // A UI toolkit's batch, say: every kernel flush runs inside it.
    stateloom_core::set_batch_hook(move |flush| {
        l3.borrow_mut().push("ui batch begins".into());
        flush();
        l3.borrow_mut().push("ui batch ends".into());
    });
    let coordinator = BatchCoordinator::new(scope.clone());
    coordinator.batch_updates().run(&mut || {
        coordinator.queue_update(a, 1);
        coordinator.queue_update(b, 2);
    });
    stateloom_core::clear_batch_hook();
    insta::assert_snapshot!(entries(&seen), @r"
    ui batch begins
    a=1
    b=2
    ui batch ends
    ");
}

#[test]
fn a_panicking_release_does_not_stop_the_others() {
    let pool = stateloom_bridge::DisposePool::new();
    let released = Rc::new(Cell::new(0));
    let r = released.clone();
    pool.add(move || r.set(r.get() + 1));
    pool.add(|| panic!("release failed"));
    let r = released.clone();
    pool.add(move || r.set(r.get() + 1));
    assert!(catch_unwind(AssertUnwindSafe(|| pool.dispose())).is_err());
    assert_eq!(released.get(), 2);
    assert!(pool.is_disposed() && pool.is_empty());
}
