//! Failure behaviour: cycles, effect loops, panics in user code, disposed handles.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use stateloom_core::{
    Computed, Error, computed, effect, runtime_stats, set_flush_round_limit, signal,
};

use crate::{Log, panic_message};

#[test]
fn a_computed_reading_itself_is_a_cycle_error() {
    let me: Rc<Cell<Option<Computed<i32>>>> = Rc::new(Cell::new(None));
    let handle = me.clone();
    let c = computed(move || handle.get().map_or(0, |c| c.get() + 1));
    me.set(Some(c));
    let err = c.try_get().expect_err("cycle");
    assert!(matches!(err, Error::Cycle { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("cycle detected"), "{message}");
    if cfg!(debug_assertions) {
        assert!(
            message.contains("(created at crates/stateloom-core/tests/it/failures.rs:"),
            "{message}"
        );
    }
    let panic = catch_unwind(AssertUnwindSafe(|| c.get())).expect_err("get panics");
    assert!(panic_message(&*panic).starts_with("cycle detected"));
}

#[test]
fn a_cycle_through_other_computeds_is_an_error_not_an_overflow() {
    let slot: Rc<Cell<Option<Computed<i32>>>> = Rc::new(Cell::new(None));
    let s = slot.clone();
    let a = computed(move || s.get().map_or(0, |c| c.get()) + 1);
    let b = computed(move || a.get() + 1);
    let c = computed(move || b.get() + 1);
    slot.set(Some(c));
    assert!(matches!(c.try_get(), Err(Error::Cycle { .. })));
    assert!(matches!(a.try_get(), Err(Error::Cycle { .. })));
    // Break the cycle: everything recomputes normally.
    slot.set(None);
    let fresh = signal(0);
    let d = computed(move || fresh.get() + 1);
    assert_eq!(d.get(), 1);
}

#[test]
fn an_effect_loop_stops_with_a_clear_error() {
    let a = signal(0);
    let b = signal(0);
    effect(move || b.set(a.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(|| {
        effect(move || a.set(b.get() + 1));
    }));
    let message = panic_message(&*result.expect_err("the loop is reported"));
    assert!(
        message.starts_with("effects did not settle after 100 flush rounds"),
        "{message}"
    );
    assert!(
        message.ends_with(
            "the effects still scheduled were dropped from this flush without running and run \
             again when what they read changes"
        ),
        "{message}"
    );
    // The runtime is still usable for everything else, and touching the loop reports it again.
    let again = catch_unwind(AssertUnwindSafe(|| a.set(-1)));
    assert!(
        panic_message(&*again.expect_err("still a loop")).starts_with("effects did not settle")
    );
    let c = signal(1);
    let d = computed(move || c.get() * 2);
    c.set(2);
    assert_eq!(d.get(), 4);
}

/// Regression: an effect that never settles ran 10,000 times (10,000 side effects) before the
/// flush gave up.
#[test]
fn issue_a_runaway_effect_stops_after_100_runs_by_default() {
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    let s = signal(0.0_f64);
    let result = catch_unwind(AssertUnwindSafe(|| {
        effect(move || {
            r.set(r.get() + 1);
            s.get();
            s.set(f64::NAN);
        })
    }));
    let message = panic_message(&*result.expect_err("the loop is reported"));
    assert!(message.contains("after 100 flush rounds"), "{message}");
    // Its run at creation, then one per round.
    assert_eq!(runs.get(), 1 + 100);
    // Dropped from the flush, still subscribed: the next write runs it again, once per round.
    let again = catch_unwind(AssertUnwindSafe(|| s.set(1.0)));
    assert!(again.is_err());
    assert_eq!(runs.get(), 1 + 100 + 100);
}

#[test]
fn the_flush_round_limit_is_configurable_per_runtime() {
    let previous = set_flush_round_limit(3);
    assert_eq!(previous, 100, "the default");
    let log = Log::default();
    let flag = signal(false);
    let l = log.clone();
    let result = catch_unwind(AssertUnwindSafe(|| {
        effect(move || {
            let v = flag.get();
            l.push(v);
            flag.set(!v);
        })
    }));
    let message = panic_message(&*result.expect_err("the loop is reported"));
    assert!(message.contains("after 3 flush rounds"), "{message}");
    insta::assert_snapshot!(log.take(), @r"
    false
    true
    false
    true
    ");
    // A loop that settles within the limit is not an error.
    let n = signal(0);
    let l = log.clone();
    effect(move || {
        let v = n.get();
        if v < 3 {
            n.set(v + 1);
        }
        l.push(v);
    });
    insta::assert_snapshot!(log.take(), @r"
    0
    1
    2
    3
    ");
    assert_eq!(set_flush_round_limit(previous), 3);
    let zero = catch_unwind(|| set_flush_round_limit(0));
    assert!(panic_message(&*zero.expect_err("0 is refused")).contains("at least 1"));
}

#[test]
fn a_panicking_effect_does_not_stop_the_flush_and_the_first_panic_is_reraised() {
    let log = Log::default();
    let s = signal(0);
    for name in ["a", "b", "c", "d"] {
        let l = log.clone();
        effect(move || {
            let v = s.get();
            if v > 0 && (name == "b" || name == "d") {
                panic!("effect {name} failed at {v}");
            }
            l.push(format!("{name} {v}"));
        });
    }
    log.take();
    let panic = catch_unwind(AssertUnwindSafe(|| s.set(1))).expect_err("re-raised");
    assert_eq!(panic_message(&*panic), "effect b failed at 1");
    insta::assert_snapshot!(log.take(), @r"
    a 1
    c 1
    ");
    // The failed effects keep their subscriptions and run again on the next change.
    let _ = catch_unwind(AssertUnwindSafe(|| s.set(2)));
    insta::assert_snapshot!(log.take(), @r"
    a 2
    c 2
    ");
}

#[test]
fn a_panicking_computed_leaves_the_graph_usable_and_connected() {
    let log = Log::default();
    let s = signal(1);
    let fail = Rc::new(Cell::new(false));
    let f = fail.clone();
    let base = computed(move || {
        let v = s.get();
        assert!(!f.get(), "computed failed at {v}");
        v
    });
    let mid = computed(move || base.get() * 10);
    let l = log.clone();
    effect(move || l.push(format!("effect {}", mid.get())));
    fail.set(true);
    let panic = catch_unwind(AssertUnwindSafe(|| s.set(2))).expect_err("effect saw the panic");
    assert_eq!(panic_message(&*panic), "computed failed at 2");
    assert!(
        catch_unwind(AssertUnwindSafe(|| mid.get())).is_err(),
        "still failing"
    );
    fail.set(false);
    // A later write still reaches the effect through the computeds that panicked.
    s.set(3);
    assert_eq!(mid.get(), 30);
    insta::assert_snapshot!(log.take(), @r"
    effect 10
    effect 30
    ");
}

#[test]
fn a_panic_in_a_deep_read_restores_tracking() {
    let s = signal(0);
    let t = signal(0);
    let bad = computed(move || {
        if s.get() == 1 {
            panic!("bad");
        }
        s.get()
    });
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    // The effect reads `t` after catching the panic of `bad`: `t` must be tracked by the
    // effect, not by `bad`.
    effect(move || {
        let _ = catch_unwind(AssertUnwindSafe(|| bad.get()));
        t.get();
        r.set(r.get() + 1);
    });
    s.set(1);
    let after_panic = runs.get();
    t.set(1);
    assert_eq!(runs.get(), after_panic + 1, "t is tracked by the effect");
}

#[test]
fn disposed_handles_error_on_read_and_ignore_writes() {
    let s = signal(1);
    let c = computed(move || s.get());
    let e = effect(|| {});
    s.dispose();
    s.dispose();
    c.dispose();
    c.dispose();
    e.dispose();
    e.dispose();
    let err = s.try_get().expect_err("disposed");
    assert!(
        matches!(err, Error::Disposed { kind: "signal", .. }),
        "{err:?}"
    );
    assert!(matches!(
        c.try_get(),
        Err(Error::Disposed {
            kind: "computed",
            ..
        })
    ));
    let message = panic_message(&*catch_unwind(|| s.get()).expect_err("get panics"));
    assert!(
        message.starts_with("read of a disposed signal"),
        "{message}"
    );
    if cfg!(debug_assertions) {
        assert!(
            message.contains("(created at crates/stateloom-core/tests/it/failures.rs:"),
            "{message}"
        );
    }
    s.set(5); // a no-op
    s.update(|v| *v += 1); // a no-op
    assert_eq!(s.try_set(7), Err(7));
    assert!(!s.is_alive() && !c.is_alive() && !e.is_alive());
}

#[test]
fn disposal_frees_nodes_and_links_and_is_idempotent() {
    let before = runtime_stats();
    let s = signal(1);
    let c = computed(move || s.get() + 1);
    let seen = Rc::new(RefCell::new(0));
    let out = seen.clone();
    let e = effect(move || *out.borrow_mut() = c.get());
    assert_eq!(runtime_stats().nodes, before.nodes + 3);
    assert_eq!(runtime_stats().links, before.links + 2);
    e.dispose();
    c.dispose();
    s.dispose();
    s.dispose();
    assert_eq!(runtime_stats(), before);
}

#[test]
fn reading_a_disposed_dependency_inside_an_effect_is_reported_there() {
    let s = signal(1);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let out = seen.clone();
    let trigger = signal(0);
    effect(move || {
        trigger.get();
        out.borrow_mut().push(s.try_get());
    });
    s.dispose();
    trigger.set(1);
    let seen = seen.borrow();
    assert_eq!(seen[0], Ok(1));
    assert!(matches!(seen[1], Err(Error::Disposed { .. })));
}
