//! Reading, writing, listeners, re-entrant writes and destruction.

use std::cell::Cell;
use std::rc::Rc;

use stateloom_core::{batch, runtime_stats};
use stateloom_store::{Error, Patch, Store, Write};

use crate::{Counter, Log};

/// A partial update of `Counter`: only the fields that are `Some`.
#[derive(Default)]
struct CounterPatch {
    count: Option<i64>,
    label: Option<&'static str>,
}

impl Patch<Counter> for CounterPatch {
    fn apply(self, state: &mut Counter) {
        if let Some(count) = self.count {
            state.count = count;
        }
        if let Some(label) = self.label {
            state.label = label.to_owned();
        }
    }
}

#[test]
fn the_three_kinds_of_write_notify_with_new_and_old() {
    let store = Store::new(Counter::default());
    let log = Log::default();
    let l = log.clone();
    let _sub = store.subscribe(move |new, old| l.push(format!("{old:?} -> {new:?}")));
    store.set_state(Counter {
        count: 1,
        label: "a".into(),
    });
    store.update(|s| s.count += 10);
    store.patch(CounterPatch {
        label: Some("b"),
        ..Default::default()
    });
    store.patch(CounterPatch {
        count: Some(0),
        label: None,
    });
    insta::assert_snapshot!(log.take(), @r#"
    Counter { count: 0, label: "" } -> Counter { count: 1, label: "a" }
    Counter { count: 1, label: "a" } -> Counter { count: 11, label: "a" }
    Counter { count: 11, label: "a" } -> Counter { count: 11, label: "b" }
    Counter { count: 11, label: "b" } -> Counter { count: 0, label: "b" }
    "#);
    assert_eq!(store.version(), 4);
}

#[test]
fn listeners_run_in_order_and_unsubscribe_stops_them() {
    let store = Store::new(0);
    let log = Log::default();
    let (a, b) = (log.clone(), log.clone());
    let first = store.subscribe(move |new, _| a.push(format!("first {new}")));
    let second = store.subscribe(move |new, _| b.push(format!("second {new}")));
    store.set_state(1);
    first.unsubscribe();
    store.set_state(2);
    assert!(second.is_active());
    insta::assert_snapshot!(log.take(), @r"
    first 1
    second 1
    second 2
    ");
}

#[test]
fn a_write_from_a_listener_is_queued_until_every_listener_saw_the_current_one() {
    let store = Store::new(0);
    let log = Log::default();
    let (s, a, b) = (store.clone(), log.clone(), log.clone());
    let _first = store.subscribe(move |new, old| {
        a.push(format!("first {old}->{new}"));
        if *new == 1 {
            s.set_state(2);
            a.push(format!("first sees {} after its write", s.get_state()));
        }
    });
    let _second = store.subscribe(move |new, old| b.push(format!("second {old}->{new}")));
    store.set_state(1);
    assert_eq!(store.get_state(), 2);
    insta::assert_snapshot!(log.take(), @r"
    first 0->1
    first sees 1 after its write
    second 0->1
    first 1->2
    second 1->2
    ");
}

#[test]
fn unsubscribing_another_listener_during_a_notification_skips_it() {
    let store = Store::new(0);
    let log = Log::default();
    let victim = Rc::new(Cell::new(None));
    let (v, a, b) = (victim.clone(), log.clone(), log.clone());
    let _first = store.subscribe(move |new, _| {
        a.push(format!("first {new}"));
        if let Some(sub) = v.take() {
            stateloom_store::StoreSubscription::unsubscribe(sub);
        }
    });
    victim.set(Some(
        store.subscribe(move |new, _| b.push(format!("second {new}"))),
    ));
    store.set_state(1);
    store.set_state(2);
    insta::assert_snapshot!(log.take(), @r"
    first 1
    first 2
    ");
}

#[test]
fn listeners_fire_per_write_even_inside_a_core_batch() {
    let store = Store::new(0);
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let _sub = store.subscribe(move |_, _| c.set(c.get() + 1));
    batch(|| {
        store.set_state(1);
        store.update(|n| *n += 1);
        assert_eq!(store.get_state(), 2);
    });
    assert_eq!(calls.get(), 2);
}

#[test]
fn a_panicking_update_changes_nothing_and_the_store_stays_usable() {
    let store = Store::new(vec![1]);
    let s = store.clone();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.update(|v| {
            v.push(2);
            panic!("boom");
        })
    }));
    assert!(result.is_err());
    assert_eq!(store.get_state(), [1]);
    store.update(|v| v.push(3));
    assert_eq!(store.get_state(), [1, 3]);
}

#[test]
fn a_write_made_by_an_update_closure_is_queued_behind_it() {
    let store = Store::new(vec![1]);
    let s = store.clone();
    store.update(move |v| {
        // The closure works on a copy; a write to the store from here comes after it.
        s.update(|v| v.push(3));
        assert_eq!(s.get_state(), [1]);
        v.push(2);
    });
    assert_eq!(store.get_state(), [1, 2, 3]);
    assert_eq!(store.version(), 2);
}

#[test]
fn a_write_queued_by_an_update_closure_that_panics_is_dropped() {
    let store = Store::new(vec![1]);
    let s = store.clone();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.update({
            let s = s.clone();
            move |_| {
                s.update(|v| v.push(99));
                panic!("boom");
            }
        })
    }));
    assert!(result.is_err());
    store.update(|v| v.push(2));
    assert_eq!(store.get_state(), [1, 2]);
}

#[test]
fn destroy_ignores_later_writes_and_reads_fail_cleanly() {
    let store = Store::new(1);
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let sub = store.subscribe(move |_, _| c.set(c.get() + 1));
    store.destroy();
    store.destroy();
    assert!(!sub.is_active());
    store.set_state(2);
    assert_eq!(store.try_set_state(3), Err(3));
    assert!(store.try_dispatch(Write::replace(4)).is_err());
    assert!(matches!(store.try_get_state(), Err(Error::Destroyed)));
    assert_eq!(calls.get(), 0);
}

#[test]
#[should_panic(expected = "the store was destroyed")]
fn reading_a_destroyed_store_panics_with_a_clear_message() {
    let store = Store::new(1);
    store.destroy();
    store.get_state();
}

#[test]
fn destroy_from_a_listener_waits_for_the_current_write() {
    let store = Store::new(0);
    let log = Log::default();
    let (s, a, b) = (store.clone(), log.clone(), log.clone());
    let _first = store.subscribe(move |new, _| {
        a.push(format!("first {new}"));
        s.destroy();
        s.set_state(99); // ignored: the store is being destroyed
    });
    let _second = store.subscribe(move |new, _| b.push(format!("second {new}")));
    store.set_state(1);
    assert!(store.is_destroyed());
    assert!(store.try_get_state().is_err());
    insta::assert_snapshot!(log.take(), @r"
    first 1
    second 1
    ");
}

#[test]
fn create_and_destroy_keeps_the_graph_flat() {
    let before = runtime_stats();
    for n in 0..100 {
        let store = Store::new(n);
        let selector = store.select(|n| n * 2);
        assert_eq!(selector.get(), n * 2);
        let _sub = store.subscribe(|_, _| {});
        store.set_state(n + 1);
        store.destroy();
    }
    assert_eq!(runtime_stats(), before);
}

#[test]
fn a_store_built_inside_an_effect_outlives_its_reruns() {
    let trigger = stateloom_core::signal(0);
    let stores: Rc<std::cell::RefCell<Vec<Store<i64>>>> = Rc::default();
    let s = stores.clone();
    let ((), root) = stateloom_core::create_root(|| {
        stateloom_core::effect(move || {
            let n = trigger.get();
            s.borrow_mut().push(Store::new(n));
        });
    });
    trigger.set(1);
    root.dispose();
    let values: Vec<i64> = stores.borrow().iter().map(Store::get_state).collect();
    assert_eq!(values, [0, 1]);
}

#[test]
fn dropping_the_last_handle_frees_the_state_and_selectors() {
    let before = runtime_stats();
    let store = Store::new(Counter::default());
    let count = store.select(|s| s.count);
    let copy = store.clone();
    drop(store);
    assert_eq!(count.get(), 0, "a clone keeps the store alive");
    drop(copy);
    assert!(!count.is_alive());
    assert_eq!(runtime_stats(), before);
}
