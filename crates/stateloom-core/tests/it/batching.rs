//! Batches: fresh reads, no-op batches, nesting, panics, the batch hook.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use stateloom_core::{batch, clear_batch_hook, computed, effect, set_batch_hook, signal, untrack};

use crate::{Log, panic_message};

#[test]
fn reads_inside_a_batch_are_fresh_computeds_too() {
    let log = Log::default();
    let a = signal(1);
    let double = computed(move || a.get() * 2);
    let l = log.clone();
    effect(move || l.push(format!("effect {}", double.get())));
    let l = log.clone();
    batch(|| {
        a.set(5);
        l.push(format!("in batch: a={} double={}", a.get(), double.get()));
        a.set(6);
        l.push(format!("in batch: a={} double={}", a.get(), double.get()));
    });
    insta::assert_snapshot!(log.take(), @r"
    effect 2
    in batch: a=5 double=10
    in batch: a=6 double=12
    effect 12
    ");
}

#[test]
fn a_batch_that_ends_where_it_started_runs_nothing() {
    let runs = Rc::new(Cell::new(0));
    let computes = Rc::new(Cell::new(0));
    let a = signal(1);
    let b = signal("x".to_string());
    let k = computes.clone();
    let c = computed(move || {
        k.set(k.get() + 1);
        a.get() * 2
    });
    let r = runs.clone();
    effect(move || {
        c.get();
        b.get();
        r.set(r.get() + 1);
    });
    batch(|| {
        a.set(2);
        a.set(3);
        a.set(1);
        b.set("y".into());
        b.set("x".into());
    });
    assert_eq!(runs.get(), 1, "the effect did not run again");
    assert_eq!(computes.get(), 1, "the computed did not recompute");
}

#[test]
fn nested_batches_flush_once_at_the_outermost_end() {
    let log = Log::default();
    let a = signal(0);
    let l = log.clone();
    effect(move || l.push(format!("effect {}", a.get())));
    let l = log.clone();
    let value = batch(|| {
        a.set(1);
        batch(|| a.set(2));
        l.push("inner batch ended");
        a.set(3);
        "returned"
    });
    log.push(value);
    insta::assert_snapshot!(log.take(), @r"
    effect 0
    inner batch ended
    effect 3
    returned
    ");
}

#[test]
fn pending_effects_run_when_the_batch_body_panics_and_the_panic_continues() {
    let log = Log::default();
    let a = signal(0);
    let l = log.clone();
    effect(move || l.push(format!("effect {}", a.get())));
    let result = catch_unwind(AssertUnwindSafe(|| {
        batch(|| {
            a.set(1);
            panic!("body failed");
        })
    }));
    let err = result.expect_err("the panic continues");
    assert_eq!(panic_message(&*err), "body failed");
    insta::assert_snapshot!(log.take(), @r"
    effect 0
    effect 1
    ");
    a.set(2);
    assert_eq!(log.take(), "effect 2", "the runtime is usable afterwards");
}

#[test]
fn untrack_hides_reads_from_the_enclosing_effect() {
    let runs = Rc::new(Cell::new(0));
    let a = signal(0);
    let b = signal(0);
    let r = runs.clone();
    effect(move || {
        a.get();
        untrack(|| b.get());
        r.set(r.get() + 1);
    });
    b.set(1);
    assert_eq!(runs.get(), 1);
    a.set(1);
    assert_eq!(runs.get(), 2);
}

#[test]
fn the_batch_hook_wraps_each_flush_once() {
    let log = Log::default();
    let a = signal(0);
    let b = signal(0);
    let l = log.clone();
    effect(move || l.push(format!("effect a={} b={}", a.get(), b.get())));
    let l = log.clone();
    set_batch_hook(move |flush| {
        l.push("hook begin");
        flush();
        l.push("hook end");
    });
    batch(|| {
        a.set(1);
        b.set(1);
    });
    a.set(1); // no change: no flush, no hook
    // A hook that forgets to flush does not lose effects.
    let l = log.clone();
    set_batch_hook(move |_flush| l.push("lazy hook"));
    b.set(2);
    clear_batch_hook();
    a.set(3);
    insta::assert_snapshot!(log.take(), @r"
    effect a=0 b=0
    hook begin
    effect a=1 b=1
    hook end
    lazy hook
    effect a=1 b=2
    effect a=3 b=2
    ");
}

#[test]
fn updates_commit_at_once_outside_a_batch_and_merge_inside_one() {
    let list = signal(vec![1]);
    let len = computed(move || list.with(Vec::len));
    let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = seen.clone();
    effect(move || log.borrow_mut().push((len.get(), list.with(|l| l.clone()))));
    list.update(|l| l.push(2));
    assert_eq!(
        list.get_untracked(),
        [1, 2],
        "committed before `update` returns"
    );
    batch(|| {
        list.update(|l| l.push(3));
        list.set(vec![7]);
        list.update(|l| l.extend([8, 9])); // applies to the pending value
        assert_eq!(
            len.get(),
            3,
            "a read inside the batch sees the latest write"
        );
    });
    batch(|| {
        list.set(vec![0]);
        list.update(|l| l.clear());
    });
    assert_eq!(
        *seen.borrow(),
        [
            (1, vec![1]),
            (2, vec![1, 2]),
            (3, vec![7, 8, 9]),
            (0, vec![]),
        ]
    );
}
