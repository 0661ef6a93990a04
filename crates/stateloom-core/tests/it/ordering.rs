//! Effect scheduling: creation order, once per flush, nested effects and their cleanups.

use std::cell::Cell;
use std::rc::Rc;

use stateloom_core::{Effect, batch, computed, effect, on_cleanup, signal};

use crate::Log;

#[test]
fn effects_on_one_source_run_in_creation_order() {
    let log = Log::default();
    let s = signal(0);
    let mid = computed(move || s.get() + 1);
    for name in ["first", "second", "third"] {
        let l = log.clone();
        // The second effect reaches `s` through a computed, the others directly.
        if name == "second" {
            effect(move || l.push(format!("{name} {}", mid.get())));
        } else {
            effect(move || l.push(format!("{name} {}", s.get())));
        }
    }
    log.take();
    s.set(1);
    insta::assert_snapshot!(log.take(), @r"
    first 1
    second 2
    third 1
    ");
}

#[test]
fn creation_order_holds_after_an_effect_relinks() {
    // `first` drops and re-creates its link to `s`, which moves it to the end of `s`'s
    // subscriber list; the flush still runs it first.
    let log = Log::default();
    let s = signal(0);
    let toggle = signal(false);
    let l = log.clone();
    effect(move || {
        if toggle.get() {
            l.push(format!("first {}", s.get()));
        } else {
            l.push("first (not reading s)");
        }
    });
    let l = log.clone();
    effect(move || l.push(format!("second {}", s.get())));
    toggle.set(true);
    log.take();
    s.set(5);
    insta::assert_snapshot!(log.take(), @r"
    first 5
    second 5
    ");
}

#[test]
fn each_effect_runs_at_most_once_per_flush() {
    let runs = Rc::new(Cell::new(0));
    let a = signal(1);
    let b = signal(2);
    let sum = computed(move || a.get() + b.get());
    let product = computed(move || a.get() * b.get());
    let r = runs.clone();
    effect(move || {
        // Reaches `a` and `b` directly and through two computeds.
        a.get();
        b.get();
        sum.get();
        product.get();
        r.set(r.get() + 1);
    });
    batch(|| {
        a.set(10);
        b.set(20);
        a.set(11);
    });
    assert_eq!(runs.get(), 2);
}

#[test]
fn rerunning_an_effect_disposes_its_inner_effects_inner_cleanups_first() {
    let log = Log::default();
    let outer_src = signal(0);
    let inner_src = signal(0);
    let l = log.clone();
    effect(move || {
        let o = outer_src.get();
        l.push(format!("outer run {o}"));
        let l2 = l.clone();
        effect(move || {
            let i = inner_src.get();
            l2.push(format!("  inner run {i} (outer {o})"));
            let l3 = l2.clone();
            on_cleanup(move || l3.push(format!("  inner cleanup {i} (outer {o})")));
        });
        let l2 = l.clone();
        on_cleanup(move || l2.push(format!("outer cleanup {o}")));
    });
    insta::assert_snapshot!(log.take(), @r"
    outer run 0
      inner run 0 (outer 0)
    ");
    inner_src.set(1);
    insta::assert_snapshot!(log.take(), @r"
      inner cleanup 0 (outer 0)
      inner run 1 (outer 0)
    ");
    // Only the inner effect re-ran; the outer one still reacts.
    outer_src.set(1);
    insta::assert_snapshot!(log.take(), @r"
      inner cleanup 1 (outer 0)
    outer cleanup 0
    outer run 1
      inner run 1 (outer 1)
    ");
    // Both depend on something changed in one batch: the outer runs, its new inner runs at
    // creation, and the old inner (disposed) does not run again.
    batch(|| {
        outer_src.set(2);
        inner_src.set(2);
    });
    insta::assert_snapshot!(log.take(), @r"
      inner cleanup 1 (outer 1)
    outer cleanup 1
    outer run 2
      inner run 2 (outer 2)
    ");
}

#[test]
fn an_effect_that_disposes_itself_mid_run_never_runs_again() {
    let log = Log::default();
    let s = signal(0);
    let me: Rc<Cell<Option<Effect>>> = Rc::new(Cell::new(None));
    let handle = me.clone();
    let l = log.clone();
    let e = effect(move || {
        let v = s.get();
        l.push(format!("run {v}"));
        let l2 = l.clone();
        on_cleanup(move || l2.push(format!("cleanup {v}")));
        if v == 1 {
            handle.get().expect("handle stored").dispose();
            l.push("after dispose, the run finishes");
        }
    });
    me.set(Some(e));
    s.set(1);
    assert!(!e.is_alive());
    s.set(2);
    s.set(3);
    insta::assert_snapshot!(log.take(), @r"
    run 0
    cleanup 0
    run 1
    after dispose, the run finishes
    cleanup 1
    ");
}

#[test]
fn effects_scheduled_by_effects_run_in_the_same_flush() {
    let log = Log::default();
    let a = signal(0);
    let b = signal(0);
    let l = log.clone();
    effect(move || {
        let v = b.get();
        l.push(format!("b-watcher {v}"));
    });
    let l = log.clone();
    effect(move || {
        let v = a.get();
        l.push(format!("a-watcher {v}, writes b"));
        b.set(v * 10);
    });
    log.take();
    a.set(2);
    insta::assert_snapshot!(log.take(), @r"
    a-watcher 2, writes b
    b-watcher 20
    ");
}
