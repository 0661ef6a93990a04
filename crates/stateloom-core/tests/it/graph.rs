//! Propagation rules: glitch-free diamonds, equality cut-off, laziness, dynamic dependencies.

use std::cell::Cell;
use std::rc::Rc;

use stateloom_core::{computed, computed_with_equals, effect, signal, signal_with_equals};

use crate::Log;

fn counter() -> (Rc<Cell<u32>>, Rc<Cell<u32>>) {
    let c = Rc::new(Cell::new(0));
    (c.clone(), c)
}

#[test]
fn diamond_is_glitch_free_and_recomputes_each_node_once() {
    let log = Log::default();
    let a = signal(1);
    let l = log.clone();
    let b = computed(move || {
        l.push("b");
        a.get() * 2
    });
    let l = log.clone();
    let c = computed(move || {
        l.push("c");
        a.get() + 10
    });
    let l = log.clone();
    let d = computed(move || {
        let (b, c) = (b.get(), c.get());
        l.push(format!("d sees b={b} c={c}"));
        b + c
    });
    let l = log.clone();
    effect(move || l.push(format!("effect d={}", d.get())));
    insta::assert_snapshot!(log.take(), @r"
    b
    c
    d sees b=2 c=11
    effect d=13
    ");
    a.set(5);
    insta::assert_snapshot!(log.take(), @r"
    b
    c
    d sees b=10 c=15
    effect d=25
    ");
}

#[test]
fn equal_recomputation_stops_propagation() {
    let log = Log::default();
    let n = signal(2);
    let l = log.clone();
    let parity = computed(move || {
        l.push("parity");
        n.get() % 2
    });
    let l = log.clone();
    let label = computed(move || {
        l.push("label");
        if parity.get() == 0 { "even" } else { "odd" }
    });
    let l = log.clone();
    effect(move || l.push(format!("effect {}", label.get())));
    log.take();
    n.set(4);
    insta::assert_snapshot!(log.take(), @"parity");
    n.set(5);
    insta::assert_snapshot!(log.take(), @r"
    parity
    label
    effect odd
    ");
}

#[test]
fn computeds_are_lazy_and_cached() {
    let (runs, r) = counter();
    let s = signal(1);
    let c = computed(move || {
        r.set(r.get() + 1);
        s.get() + 1
    });
    assert_eq!(runs.get(), 0, "nothing read it yet");
    s.set(2);
    s.set(3);
    assert_eq!(runs.get(), 0, "writes alone do not compute");
    assert_eq!(c.get(), 4);
    assert_eq!(c.get(), 4);
    assert_eq!(runs.get(), 1, "the second read is cached");
    s.set(4);
    assert_eq!(runs.get(), 1);
    assert_eq!(c.get(), 5);
    assert_eq!(runs.get(), 2);
}

#[test]
fn unreachable_computed_after_branch_switch_is_not_recomputed() {
    let log = Log::default();
    let use_left = signal(true);
    let left_src = signal(1);
    let right_src = signal(100);
    let l = log.clone();
    let left = computed(move || {
        l.push("left");
        left_src.get() * 2
    });
    let l = log.clone();
    let right = computed(move || {
        l.push("right");
        right_src.get() * 2
    });
    let l = log.clone();
    effect(move || {
        let v = if use_left.get() {
            left.get()
        } else {
            right.get()
        };
        l.push(format!("effect {v}"));
    });
    insta::assert_snapshot!(log.take(), @r"
    left
    effect 2
    ");
    use_left.set(false);
    insta::assert_snapshot!(log.take(), @r"
    right
    effect 200
    ");
    left_src.set(7);
    assert_eq!(
        log.take(),
        "",
        "left is no longer reachable from the effect"
    );
    right_src.set(3);
    insta::assert_snapshot!(log.take(), @r"
    right
    effect 6
    ");
}

#[test]
fn custom_equality_on_signals_and_computeds() {
    let (runs, r) = counter();
    let s = signal_with_equals(10_i32, |a, b| a / 10 == b / 10);
    let c = computed_with_equals(move || s.get(), |_, _| false);
    effect(move || {
        c.get();
        r.set(r.get() + 1);
    });
    s.set(15);
    assert_eq!(runs.get(), 1, "15 equals 10 by the signal's equality");
    assert_eq!(s.get(), 10);
    s.set(21);
    assert_eq!(runs.get(), 2);
    let always = signal_with_equals(0, |_, _| false);
    let (runs2, r2) = counter();
    effect(move || {
        always.get();
        r2.set(r2.get() + 1);
    });
    always.set(0);
    assert_eq!(runs2.get(), 2, "never-equal notifies on every write");
}

#[test]
fn effects_are_eager_and_track_dynamically() {
    let (runs, r) = counter();
    let flag = signal(false);
    let a = signal(1);
    effect(move || {
        r.set(r.get() + 1);
        if flag.get() {
            a.get();
        }
    });
    assert_eq!(runs.get(), 1, "ran at creation");
    a.set(2);
    assert_eq!(runs.get(), 1, "a is not read yet");
    flag.set(true);
    assert_eq!(runs.get(), 2);
    a.set(3);
    assert_eq!(runs.get(), 3);
}

#[test]
fn update_always_notifies_and_set_skips_equal_values() {
    let (runs, r) = counter();
    let list = signal(vec![1]);
    effect(move || {
        list.with(|_| ());
        r.set(r.get() + 1);
    });
    list.set(vec![1]);
    assert_eq!(runs.get(), 1);
    list.update(|l| l.push(2));
    assert_eq!(runs.get(), 2);
    assert_eq!(list.get(), [1, 2]);
    list.update(|_| {});
    assert_eq!(
        runs.get(),
        3,
        "an update cannot be compared, so it notifies"
    );
}

#[test]
fn subscribe_fires_on_change_only_and_is_untracked() {
    let log = Log::default();
    let s = signal(1);
    let other = signal(0);
    let l = log.clone();
    let sub = s.subscribe(move |v| l.push(format!("s={v} other={}", other.get())));
    s.set(1);
    other.set(5);
    s.set(2);
    sub.unsubscribe();
    s.set(3);
    insta::assert_snapshot!(log.take(), @"s=2 other=5");
}

#[test]
fn subscribable_works_as_a_trait_object() {
    use stateloom_core::Subscribable;
    let s = signal(1);
    let c = computed(move || s.get() * 10);
    let sources: Vec<Box<dyn Subscribable<i32>>> = vec![Box::new(s), Box::new(c)];
    let log = Log::default();
    let subs: Vec<_> = sources
        .iter()
        .map(|src| {
            let l = log.clone();
            src.subscribe(Box::new(move |v| l.push(v)))
        })
        .collect();
    s.set(2);
    assert_eq!(sources.iter().map(|s| s.get()).collect::<Vec<_>>(), [2, 20]);
    insta::assert_snapshot!(log.take(), @r"
    2
    20
    ");
    drop(subs);
}
