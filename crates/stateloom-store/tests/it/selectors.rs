//! Selectors: core computeds that notify only when their output changes, and their interop
//! with core computeds, effects and `Subscribable`.

use stateloom_core::{Subscribable, computed, create_root, effect};
use stateloom_store::Store;

use crate::{Counter, Log};

fn counter_store() -> Store<Counter> {
    Store::new(Counter {
        count: 0,
        label: "clicks".into(),
    })
}

#[test]
fn a_selector_whose_output_did_not_change_does_not_notify() {
    let store = counter_store();
    let count = store.select(|s| s.count);
    let label = store.select(|s| s.label.clone());
    let log = Log::default();
    let (a, b) = (log.clone(), log.clone());
    let _c = count.subscribe(move |n| a.push(format!("count {n}")));
    let _l = label.subscribe(move |l| b.push(format!("label {l}")));
    store.update(|s| s.count += 1);
    store.update(|s| s.label = "taps".into());
    store.update(|s| s.count += 0); // a write, but no selected value changes
    store.set_state(store.get_state());
    insta::assert_snapshot!(log.take(), @r"
    count 1
    label taps
    ");
}

#[test]
fn subscribe_selector_calls_only_the_listeners_whose_slice_changed() {
    let store = Store::new(vec![0_u32; 10]);
    let log = Log::default();
    let subs: Vec<_> = (0..10)
        .map(|i| {
            let log = log.clone();
            store.subscribe_selector(
                move |s| s[i],
                move |new, old| log.push(format!("field {i}: {old} -> {new}")),
            )
        })
        .collect();
    store.update(|s| s[3] += 1);
    store.update(|s| s[3] += 1);
    store.update(|s| {
        s[7] = 5;
        s[8] = 0;
    });
    insta::assert_snapshot!(log.take(), @r"
    field 3: 0 -> 1
    field 3: 1 -> 2
    field 7: 0 -> 5
    ");
    drop(subs);
}

#[test]
fn selectors_are_read_inside_core_computeds_and_effects() {
    let store = counter_store();
    let count = store.select(|s| s.count);
    let log = Log::default();
    let ((), root) = create_root(|| {
        let doubled = computed(move || count.get() * 2);
        let s = store.clone();
        let whole = computed(move || s.with(|c| format!("{}:{}", c.label, c.count)));
        let l = log.clone();
        effect(move || l.push(format!("doubled {}, whole {}", doubled.get(), whole.get())));
    });
    store.update(|s| s.count = 3);
    store.update(|s| s.label = "taps".into());
    root.dispose();
    store.update(|s| s.count = 4);
    insta::assert_snapshot!(log.take(), @r"
    doubled 0, whole clicks:0
    doubled 6, whole clicks:3
    doubled 6, whole taps:3
    ");
}

#[test]
fn an_effect_on_a_selector_skips_writes_that_leave_it_unchanged() {
    let store = counter_store();
    let is_even = store.select(|s| s.count % 2 == 0);
    let log = Log::default();
    let l = log.clone();
    let ((), root) = create_root(|| {
        effect(move || l.push(format!("even {}", is_even.get())));
    });
    for n in 1..=4 {
        store.update(move |s| s.count = n * 2);
    }
    store.update(|s| s.count = 9);
    root.dispose();
    insta::assert_snapshot!(log.take(), @r"
    even true
    even false
    ");
}

#[test]
fn select_with_uses_the_given_equality() {
    let store = Store::new(vec![1, 2]);
    let items = store.select_with(|v| v.clone(), |a, b| a.len() == b.len());
    let log = Log::default();
    let l = log.clone();
    let _sub = items.subscribe(move |v| l.push(format!("{v:?}")));
    store.update(|v| v[0] = 10); // same length: not a change
    store.update(|v| v.push(3));
    insta::assert_snapshot!(log.take(), @"[10, 2, 3]");
}

#[test]
fn a_store_and_its_selectors_are_subscribable() {
    fn describe<T: std::fmt::Debug>(source: &dyn Subscribable<T>) -> String {
        format!("{:?}", source.get())
    }
    let store = Store::new((1, "a"));
    let first = store.select(|s| s.0);
    assert_eq!(describe(&store), r#"(1, "a")"#);
    assert_eq!(describe(&first), "1");

    let log = Log::default();
    let l = log.clone();
    let sub = Subscribable::subscribe(
        &store,
        Box::new(move |s: &(i32, &str)| l.push(format!("{s:?}"))),
    );
    store.update(|s| s.0 = 2);
    sub.unsubscribe();
    store.update(|s| s.0 = 3);
    insta::assert_snapshot!(log.take(), @r#"(2, "a")"#);
}

#[test]
fn selectors_are_disposed_with_the_store() {
    let store = Store::new(1);
    let selector = store.select(|n| n + 1);
    assert_eq!(selector.get(), 2);
    store.destroy();
    assert!(!selector.is_alive());
    assert!(selector.try_get().is_err());
}
