//! Scopes: isolation, derived atoms reading from the scope they are used in, disposal and
//! ownership.

use std::panic::{AssertUnwindSafe, catch_unwind};

use stateloom_atom::{AtomScope, Error, atom, derived};
use stateloom_core::{effect, runtime_stats, signal};

use crate::Log;

#[test]
fn scopes_are_isolated_and_a_derived_atom_reads_from_the_scope_it_is_used_in() {
    let count = atom(1);
    let double = derived(move |get| get.get(count) * 2);
    let (a, b) = (AtomScope::new(), AtomScope::new());
    let log = Log::default();
    let (la, lb) = (log.clone(), log.clone());
    let _sa = a.sub(double, move |v| la.push(format!("a {v}")));
    let _sb = b.sub(double, move |v| lb.push(format!("b {v}")));
    a.set(count, 5);
    b.set(count, 7);
    a.set(count, 6);
    assert_eq!((a.get(double), b.get(double), double.get()), (12, 14, 2));
    insta::assert_snapshot!(log.take(), @r"
    a 10
    b 14
    a 12
    ");
}

#[test]
fn dispose_frees_every_node_the_scope_created_and_later_use_fails_cleanly() {
    let n = atom(1);
    let double = derived(move |get| get.get(n) * 2);
    let before = runtime_stats();
    let scope = AtomScope::new();
    scope.set(n, 2);
    assert_eq!(scope.get(double), 4);
    let _sub = scope.sub(double, |_| {});
    assert!(runtime_stats().nodes > before.nodes);
    scope.dispose();
    scope.dispose();
    assert_eq!(runtime_stats(), before);
    assert!(scope.is_disposed());
    assert_eq!(scope.try_get(n), Err(Error::ScopeDisposed));
    let message = catch_unwind(AssertUnwindSafe(|| scope.set(n, 3)))
        .map_err(|p| p.downcast_ref::<String>().cloned().unwrap_or_default())
        .unwrap_err();
    assert!(message.contains("scope was disposed"), "{message}");
}

#[test]
fn dropping_the_last_handle_disposes_the_scope() {
    let n = atom(1);
    let before = runtime_stats();
    {
        let scope = AtomScope::new();
        let clone = scope.clone();
        clone.set(n, 3);
        let _sub = scope.sub(n, |_| {});
        drop(clone);
        assert!(
            runtime_stats().nodes > before.nodes,
            "one handle keeps it alive"
        );
    }
    assert_eq!(runtime_stats(), before);
}

#[test]
fn a_scope_first_used_inside_an_effect_outlives_the_effect_run() {
    let n = atom(1);
    let trigger = signal(0);
    let scope = AtomScope::new();
    let log = Log::default();
    let l = log.clone();
    let s = scope.clone();
    // The scope creates the atom's node while the effect runs; re-running the effect (which
    // disposes what its previous run owned) must not take the node with it.
    effect(move || {
        trigger.get();
        l.push(s.get(n));
    });
    scope.set(n, 2);
    trigger.set(1);
    scope.set(n, 3);
    insta::assert_snapshot!(log.take(), @r"
    1
    2
    2
    3
    ");
}

#[test]
fn a_scope_created_inside_an_effect_is_not_owned_by_it() {
    let n = atom(1);
    let trigger = signal(0);
    let made = std::rc::Rc::new(std::cell::RefCell::new(None));
    let m = made.clone();
    effect(move || {
        trigger.get();
        if m.borrow().is_none() {
            let scope = AtomScope::new();
            scope.set(n, 9);
            *m.borrow_mut() = Some(scope);
        }
    });
    trigger.set(1);
    let scope = made.borrow().clone().expect("created");
    assert_eq!(scope.get(n), 9);
}

#[test]
fn reset_starts_every_atom_again_from_its_initial_value() {
    let n = atom(1);
    let scope = AtomScope::new();
    let log = Log::default();
    let l = log.clone();
    let sub = scope.sub(n, move |v| l.push(v));
    scope.set(n, 2);
    scope.reset();
    assert!(!sub.is_active(), "reset ends subscriptions");
    assert_eq!(scope.get(n), 1);
    scope.set(n, 3);
    assert_eq!(log.take(), "2");
    assert!(!scope.is_disposed());
}

#[test]
fn the_same_atom_in_many_scopes_keeps_one_value_per_scope() {
    let n = atom(0);
    let scopes: Vec<AtomScope> = (0..10).map(|_| AtomScope::new()).collect();
    for (i, s) in scopes.iter().enumerate() {
        s.set(n, i);
    }
    let values: Vec<usize> = scopes.iter().map(|s| s.get(n)).collect();
    assert_eq!(values, (0..10).collect::<Vec<_>>());
    assert_eq!(scopes[3].len(), 1);
}

#[test]
fn a_thread_exits_cleanly_with_mounted_atoms_in_its_default_and_a_leaked_scope() {
    let ran = std::thread::spawn(|| {
        let n = atom(0).on_mount(move |set| {
            set.set(1);
            let set = set.clone();
            move || {
                // Runs at thread exit or not at all; it must never abort the process.
                let _ = set.set(2);
            }
        });
        let double = derived(move |get| get.get(n) * 2);
        let _kept = double.subscribe(|_| {});
        let leaked = AtomScope::new();
        let _also_kept = leaked.sub(double, |_| {});
        std::mem::forget(leaked);
        n.get()
    })
    .join()
    .expect("the thread exits without panicking");
    assert_eq!(ran, 1);
}
