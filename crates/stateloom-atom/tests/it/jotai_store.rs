//! Behaviours of Jotai's vanilla store tests that apply here, ported: listeners on equal
//! values, bail-outs, dependencies that change, writes that read derived atoms, write-only
//! atoms, laziness, and mounting through `get`.

use std::cell::Cell;
use std::rc::Rc;

use stateloom_atom::{AtomScope, atom, derived, write_only_atom};

use crate::Log;

fn counter() -> (Rc<Cell<u32>>, Rc<Cell<u32>>) {
    let c = Rc::new(Cell::new(0));
    (c.clone(), c)
}

#[test]
fn should_not_fire_subscription_if_primitive_atom_value_is_the_same() {
    let scope = AtomScope::new();
    let a = atom(0);
    let (calls, c) = counter();
    let _sub = scope.sub(a, move |_| c.set(c.get() + 1));
    scope.set(a, 1);
    scope.set(a, 1);
    assert_eq!(calls.get(), 1);
}

#[test]
fn should_not_fire_subscription_if_derived_atom_value_is_the_same() {
    let scope = AtomScope::new();
    let a = atom(0);
    let is_even = derived(move |get| get.get(a) % 2 == 0);
    let (calls, c) = counter();
    let _sub = scope.sub(is_even, move |_| c.set(c.get() + 1));
    scope.set(a, 2);
    scope.set(a, 4);
    assert_eq!(calls.get(), 0);
    scope.set(a, 5);
    assert_eq!(calls.get(), 1);
}

#[test]
fn should_not_recompute_a_derived_atom_value_if_unchanged() {
    let scope = AtomScope::new();
    let a = atom(1);
    let zero = derived(move |get| get.get(a).min(0)); // 0 for every positive `a`
    let (computes, c) = counter();
    let plus_one = derived(move |get| {
        c.set(c.get() + 1);
        get.get(zero) + 1
    });
    let _sub = scope.sub(plus_one, |_| {});
    assert_eq!(computes.get(), 1);
    scope.set(a, 2);
    scope.set(a, 3);
    assert_eq!(computes.get(), 1, "its input recomputed to an equal value");
}

#[test]
fn should_bail_out_with_the_same_value_with_chained_dependency() {
    let scope = AtomScope::new();
    let a = atom(1);
    let parity = derived(move |get| get.get(a) % 2);
    let label = derived(move |get| format!("parity {}", get.get(parity)));
    let log = Log::default();
    let l = log.clone();
    let _sub = scope.sub(label, move |v| l.push(v));
    scope.set(a, 3);
    scope.set(a, 4);
    scope.set(a, 6);
    assert_eq!(log.take(), "parity 0");
}

#[test]
fn should_notify_subscription_with_tree_dependencies_once_and_consistently() {
    let scope = AtomScope::new();
    let a = atom(1);
    let double = derived(move |get| get.get(a) * 2);
    let sum = derived(move |get| get.get(a) + get.get(double));
    let log = Log::default();
    let l = log.clone();
    let _sub = scope.sub(sum, move |v| l.push(v));
    scope.set(a, 2);
    scope.set(a, 3);
    // Never a mix of an old `a` with a new `double`.
    insta::assert_snapshot!(log.take(), @r"
    6
    9
    ");
}

#[test]
fn should_update_with_conditional_dependencies() {
    let scope = AtomScope::new();
    let f1 = atom(false);
    let f2 = atom(false);
    let both = derived(move |get| get.get(f1) && get.get(f2));
    let log = Log::default();
    let l = log.clone();
    let _sub = scope.sub(both, move |v| l.push(v));
    scope.set(f2, true); // not a dependency yet (`f1` is false), but must not be missed
    scope.set(f1, true);
    assert!(scope.get(both));
    scope.set(f2, false);
    insta::assert_snapshot!(log.take(), @r"
    true
    false
    ");
}

#[test]
fn should_use_the_right_dependencies_after_they_change_without_a_subscriber() {
    let scope = AtomScope::new();
    let flag = atom(true);
    let (a, b) = (atom(1), atom(2));
    let (reads, r) = counter();
    let pick = derived(move |get| {
        r.set(r.get() + 1);
        if get.get(flag) {
            get.get(a)
        } else {
            get.get(b)
        }
    });
    assert_eq!(scope.get(pick), 1);
    scope.set(flag, false);
    assert_eq!(scope.get(pick), 2);
    scope.set(a, 10); // no longer read
    assert_eq!(scope.get(pick), 2);
    assert_eq!(reads.get(), 2);
    scope.set(b, 20);
    assert_eq!(scope.get(pick), 20);
}

#[test]
fn should_update_derived_atoms_during_write() {
    let scope = AtomScope::new();
    let a = atom(1);
    let double = derived(move |get| get.get(a) * 2);
    let log = Log::default();
    let l = log.clone();
    let bump = write_only_atom(move |set, ()| {
        l.push(format!("before {}", set.get(double)));
        set.set(a, set.get(a) + 1);
        l.push(format!("after {}", set.get(double)));
    });
    scope.write(bump, ());
    insta::assert_snapshot!(log.take(), @r"
    before 2
    after 4
    ");
}

#[test]
fn a_write_only_atom_has_a_unit_value_and_returns_what_its_write_returns() {
    let scope = AtomScope::new();
    let a = atom(5);
    let take = write_only_atom(move |set, ()| {
        let v = set.get(a);
        set.set(a, 0);
        v
    });
    assert_eq!(scope.write(take, ()), 5);
    assert_eq!(scope.write(take, ()), 0);
    scope.get(take);
}

#[test]
fn should_not_call_read_functions_of_atoms_nobody_reads() {
    let scope = AtomScope::new();
    let a = atom(0);
    let (reads, r) = counter();
    let _lazy = derived(move |get| {
        r.set(r.get() + 1);
        get.get(a)
    });
    scope.set(a, 1);
    assert_eq!(reads.get(), 0);
}

#[test]
fn get_does_not_mount_and_unsubscribe_unmounts_dependencies() {
    let log = Log::default();
    let scope = AtomScope::new();
    let l = log.clone();
    let base = atom(0).on_mount(move |_| {
        l.push("mount");
        let l = l.clone();
        move || l.push("unmount")
    });
    let derived_a = derived(move |get| get.get(base) + 1);
    assert_eq!(scope.get(derived_a), 1);
    assert!(!scope.is_mounted(base));
    let sub = scope.sub(derived_a, |_| {});
    sub.unsubscribe();
    insta::assert_snapshot!(log.take(), @r"
    mount
    unmount
    ");
}

#[test]
fn an_atom_mounted_through_two_paths_mounts_once() {
    let log = Log::default();
    let scope = AtomScope::new();
    let l = log.clone();
    let base = atom(1).on_mount(move |_| {
        l.push("mount base");
        let l = l.clone();
        move || l.push("unmount base")
    });
    let left = derived(move |get| get.get(base) + 1);
    let right = derived(move |get| get.get(base) + 2);
    let s1 = scope.sub(left, |_| {});
    let s2 = scope.sub(right, |_| {});
    s1.unsubscribe();
    log.push("left gone");
    s2.unsubscribe();
    insta::assert_snapshot!(log.take(), @r"
    mount base
    left gone
    unmount base
    ");
}
