//! User code that disposes, re-runs or creates nodes while the kernel is in the middle of a
//! dependency check, a flush or a disposal.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use stateloom_core::{
    Computed, Effect, Error, Signal, computed, create_root, effect, on_cleanup, runtime_stats,
    signal, untrack,
};

use crate::Log;

/// A slot for a handle that a closure created earlier disposes later.
fn slot<T>() -> Rc<Cell<Option<T>>> {
    Rc::new(Cell::new(None))
}

/// Regression: an effect disposed by a computed it depends on, while the effect's own
/// dependency check was running, made the check climb back through a freed link (a read out
/// of bounds in release builds).
#[test]
fn issue_an_effect_disposed_during_its_own_check_is_simply_gone() {
    let before = runtime_stats();
    let ((s, b, victim), root) = create_root(|| {
        let s = signal(0_i64);
        let victim: Rc<Cell<Option<Effect>>> = slot();
        let a = computed(move || {
            s.get();
            0_i64
        });
        let v = victim.clone();
        let a2 = computed(move || {
            if s.get() != 0 {
                v.get().expect("the effect exists").dispose();
            }
            s.get()
        });
        let b = computed(move || {
            a.get();
            a2.get();
            0_i64
        });
        victim.set(Some(effect(move || {
            b.get();
        })));
        (s, b, victim)
    });
    s.set(1);
    let victim = victim.get().expect("set");
    assert!(!victim.is_alive());
    // The rest of the graph is intact and keeps working.
    assert_eq!(b.get(), 0);
    s.set(2);
    s.set(3);
    assert_eq!(b.get(), 0);
    root.dispose();
    assert_eq!(runtime_stats(), before);
}

#[test]
fn a_computed_disposed_during_its_own_check_reads_as_disposed() {
    let s = signal(0_i64);
    let victim: Rc<Cell<Option<Computed<i64>>>> = slot();
    let v = victim.clone();
    let a = computed(move || {
        if s.get() == 1 {
            v.get().expect("set").dispose();
        }
        s.get() % 2
    });
    let middle = computed(move || a.get() + 10);
    let top = computed(move || middle.get() + 100);
    victim.set(Some(top));
    assert_eq!(top.get(), 110);
    s.set(1);
    assert!(
        top.try_get().is_err(),
        "disposed while it was being checked"
    );
    assert_eq!(middle.get(), 11);
}

/// Disposing a node that sits on the check's path, or a dependency of one, makes the check
/// start again; it never follows the freed links, and it still reaches the right answer.
#[test]
fn disposing_nodes_on_the_check_path_restarts_the_check_with_the_right_answer() {
    let log = Log::default();
    let before = runtime_stats();
    let ((s, extra), root) = create_root(|| {
        let s = signal(0_i64);
        let extra = signal(5_i64);
        let doomed: Rc<Cell<Option<Signal<i64>>>> = slot();
        let d = doomed.clone();
        // `first` cuts off (its value only changes at 2); `second` disposes `extra`, which
        // `middle`, on the path being checked, depends on.
        let first = computed(move || s.get() / 2);
        let second = computed(move || {
            let v = s.get();
            if v == 1 {
                d.get().expect("set").dispose();
            }
            v
        });
        let middle = computed(move || first.get() + second.get() + extra.try_get().unwrap_or(-100));
        doomed.set(Some(extra));
        let l = log.clone();
        effect(move || l.push(format!("effect sees {}", middle.get())));
        (s, extra)
    });
    s.set(1);
    assert!(!extra.is_alive());
    s.set(2);
    insta::assert_snapshot!(log.take(), @r"
    effect sees 5
    effect sees -99
    effect sees -97
    ");
    root.dispose();
    assert_eq!(runtime_stats(), before);
}

#[test]
fn disposing_the_computed_being_walked_through_leaves_its_subscriber_unnotified() {
    let log = Log::default();
    let s = signal(0_i64);
    let holder: Rc<Cell<Option<Computed<i64>>>> = slot();
    let h = holder.clone();
    let inner = computed(move || {
        let v = s.get();
        if v == 1 {
            h.get().expect("set").dispose();
        }
        v % 3
    });
    let between = computed(move || inner.get() * 2);
    holder.set(Some(between));
    let l = log.clone();
    let e = effect(move || l.push(format!("run {:?}", between.try_get())));
    s.set(1);
    // `between` was disposed while the effect's check walked through it; disposal does not
    // notify, so the effect keeps its last value and is not run with a half-checked graph.
    assert!(!between.is_alive());
    assert!(e.is_alive());
    s.set(2);
    assert_eq!(inner.get(), 2);
    insta::assert_snapshot!(log.take(), @"run Ok(0)");
}

/// A dependency that reads, untracked, a node the check is walking through: a cycle hidden
/// by `untrack`. The read is a cycle error (the node is being brought up to date), the check
/// neither hangs nor follows stale links, and the graph keeps every dependency.
#[test]
fn a_read_of_a_node_being_checked_is_a_cycle_error() {
    let s = signal(0_i64);
    let top: Rc<Cell<Option<Computed<i64>>>> = slot();
    let peeks = Rc::new(RefCell::new(Vec::new()));
    let (t, p) = (top.clone(), peeks.clone());
    let below = computed(move || {
        let v = s.get();
        if let Some(c) = t.get() {
            p.borrow_mut().push(untrack(|| c.try_get()));
        }
        v
    });
    let upper = computed(move || below.get() + 1);
    top.set(Some(upper));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sn = seen.clone();
    effect(move || sn.borrow_mut().push(upper.get()));
    for v in 1..4 {
        s.set(v);
    }
    assert_eq!(
        *seen.borrow(),
        [1, 2, 3, 4],
        "one run at creation and one per write"
    );
    let peeks = peeks.borrow();
    // At creation `upper` was running; after that, a check was bringing it up to date.
    assert_eq!(peeks.len(), 4);
    assert!(
        peeks.iter().all(|r| matches!(r, Err(Error::Cycle { .. }))),
        "{peeks:?}"
    );
    let fresh = signal(1);
    let doubled = computed(move || fresh.get() * 2);
    fresh.set(21);
    assert_eq!(doubled.get(), 42);
}

/// Two computeds that came to depend on each other over time (each read the other while the
/// other was up to date) make a cycle in the graph; a check walking it stops instead of going
/// round forever.
#[test]
fn a_dependency_cycle_formed_over_time_does_not_hang_a_check() {
    let s = signal(1_i64);
    let toggle = signal(false);
    let b_slot: Rc<Cell<Option<Computed<i64>>>> = slot();
    let bs = b_slot.clone();
    let a = computed(move || {
        let b = bs.get().expect("set");
        let _ = b.try_get();
        s.get() % 2
    });
    let b = computed(move || {
        let v = s.get() % 2;
        if toggle.get() {
            let _ = a.try_get();
        }
        v
    });
    b_slot.set(Some(b));
    assert_eq!(a.get(), 1);
    toggle.set(true);
    assert_eq!(b.get(), 1); // `b` now reads `a`, which reads `b`
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    effect(move || {
        let _ = a.try_get();
        r.set(r.get() + 1);
    });
    for v in 2..6 {
        s.set(v);
    }
    assert!(runs.get() >= 1);
    s.set(7);
    let fresh = signal(2);
    assert_eq!(computed(move || fresh.get() + 1).get(), 3);
}

/// A cleanup that disposes its own effect, before the effect's re-run: the effect stops.
#[test]
fn an_effect_disposed_by_its_own_cleanup_does_not_run_again() {
    let log = Log::default();
    let s = signal(0);
    let me: Rc<Cell<Option<Effect>>> = slot();
    let (l, m) = (log.clone(), me.clone());
    let e = effect(move || {
        let v = s.get();
        l.push(format!("run {v}"));
        let (l, m) = (l.clone(), m.clone());
        on_cleanup(move || {
            l.push(format!("cleanup {v}"));
            if v == 1 {
                m.get().expect("set").dispose();
            }
        });
    });
    me.set(Some(e));
    s.set(1);
    s.set(2);
    s.set(3);
    assert!(!e.is_alive());
    insta::assert_snapshot!(log.take(), @r"
    run 0
    cleanup 0
    run 1
    cleanup 1
    ");
}

/// A `Root::run` closure that disposes an ancestor of the root: what it creates afterwards
/// has no owner left, so it belongs to nobody instead of a freed (or reused) slot.
#[test]
fn nodes_created_under_an_owner_disposed_mid_run_belong_to_nobody() {
    let before = runtime_stats();
    let (inner, outer) = create_root(|| create_root(|| ()).1);
    let outer = Rc::new(RefCell::new(Some(outer)));
    let o = outer.clone();
    let (orphan, registered) = inner.run(move || {
        o.borrow_mut().take().expect("set").dispose();
        let orphan = signal(7);
        (orphan, on_cleanup(|| {}))
    });
    assert!(!registered, "a disposed owner takes no cleanups");
    assert_eq!(orphan.get(), 7);
    // A node created right after reuses the freed slots; the orphan is not tied to it.
    let ((), other) = create_root(|| {
        signal(1);
    });
    other.dispose();
    assert_eq!(orphan.get(), 7);
    inner.dispose(); // already disposed with `outer`: nothing happens
    assert_eq!(runtime_stats().nodes, before.nodes + 1);
    orphan.dispose();
    assert_eq!(runtime_stats(), before);
}

/// A cleanup that adds nodes and cleanups to an owner that is being disposed: they are
/// disposed with it, not left behind.
#[test]
fn nodes_and_cleanups_added_to_an_owner_during_its_disposal_go_with_it() {
    let log = Log::default();
    let before = runtime_stats();
    let l = log.clone();
    let ((), root) = create_root(move || {
        // The older child, so it is disposed after the effect below.
        let sibling = Rc::new(create_root(|| ()).1);
        effect(move || {
            let (l, sibling) = (l.clone(), sibling.clone());
            on_cleanup(move || {
                let l2 = l.clone();
                let late = sibling.run(move || {
                    on_cleanup(move || l2.push("late cleanup on the sibling"));
                    signal("created during disposal")
                });
                l.push(format!("effect cleanup made {:?}", late.get_untracked()));
            });
        });
    });
    root.dispose();
    insta::assert_snapshot!(log.take(), @r#"
    effect cleanup made "created during disposal"
    late cleanup on the sibling
    "#);
    assert_eq!(runtime_stats(), before);
}

/// Runs its closure when dropped: a value or closure whose destructor is user code.
struct OnDrop(Option<Box<dyn FnOnce()>>);

impl OnDrop {
    fn new(f: impl FnOnce() + 'static) -> Self {
        Self(Some(Box::new(f)))
    }
}

impl PartialEq for OnDrop {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

#[test]
fn a_payload_destructor_may_dispose_and_create_nodes() {
    let made: Rc<RefCell<Vec<Signal<i64>>>> = Rc::default();
    let victims: Vec<Signal<i64>> = (0..4).map(|i| signal(100 + i)).collect();
    let m = made.clone();
    let vs = victims.clone();
    let ((), root) = create_root(move || {
        let guard = OnDrop::new(move || {
            // Gives blocks back while the payload that holds this closure is being dropped,
            // and takes them again.
            for v in &vs {
                v.dispose();
            }
            for i in 0..8 {
                let s = signal(i);
                let c = computed(move || s.get() * 10);
                assert_eq!(c.get(), i * 10);
                m.borrow_mut().push(s);
            }
        });
        let c = computed(move || {
            let _ = &guard;
            1
        });
        c.get();
    });
    root.dispose();
    assert!(victims.iter().all(|v| !v.is_alive()));
    let made = made.borrow();
    assert_eq!(made.len(), 8);
    for (i, s) in made.iter().enumerate() {
        assert_eq!(
            s.get(),
            i as i64,
            "nodes made by the destructor hold their values"
        );
        s.set(-1);
        assert_eq!(s.get(), -1);
    }
}

#[test]
fn a_destructor_that_disposes_a_sibling_during_a_root_disposal_frees_every_block_once() {
    let log = Log::default();
    let next: Rc<Cell<Option<Signal<OnDrop>>>> = slot();
    let (l, n) = (log.clone(), next.clone());
    let ((), root) = create_root(move || {
        let l2 = l.clone();
        let later = signal(OnDrop::new(move || l2.push("later dropped")));
        n.set(Some(later));
        // Created after `later`, so disposed first; its destructor disposes `later` and
        // creates a node that nothing owns.
        let n = n.clone();
        signal(OnDrop::new(move || {
            l.push("first dropped");
            n.take().expect("later").dispose();
            let fresh = signal(OnDrop::new(|| {}));
            l.push(format!("fresh alive {}", fresh.is_alive()));
            fresh.dispose();
        }));
    });
    let before = runtime_stats();
    root.dispose();
    insta::assert_snapshot!(log.take(), @r"
    first dropped
    later dropped
    fresh alive true
    ");
    assert!(runtime_stats().nodes < before.nodes);
    // The blocks went back once each: the nodes made now take them and work.
    let a = signal(OnDrop::new(|| {}));
    let b = signal(OnDrop::new(|| {}));
    assert!(a.is_alive() && b.is_alive());
    a.dispose();
    b.dispose();
}
