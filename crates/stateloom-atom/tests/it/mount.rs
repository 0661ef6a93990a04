//! Mounting: `on_mount` runs when the first subscriber (direct, or through a mounted
//! dependent) arrives in a scope, and its cleanup when the last one leaves.

use std::cell::RefCell;
use std::rc::Rc;

use stateloom_atom::{Atom, AtomScope, MountContext, atom, atom_with_reducer, derived};

use crate::Log;

/// An atom whose mount and unmount are logged under `name`.
fn logged(log: &Log, name: &'static str, init: i32) -> Atom<i32> {
    let log = log.clone();
    atom(init).on_mount(move |_| {
        log.push(format!("mount {name}"));
        let log = log.clone();
        move || log.push(format!("unmount {name}"))
    })
}

#[test]
fn the_first_subscriber_mounts_and_the_last_one_unmounts() {
    let log = Log::default();
    let scope = AtomScope::new();
    let a = logged(&log, "a", 0);
    assert!(!scope.is_mounted(a));
    scope.get(a);
    assert_eq!(log.take(), "", "reading does not mount");
    let s1 = scope.sub(a, |_| {});
    let s2 = scope.sub(a, |_| {});
    assert!(scope.is_mounted(a));
    s1.unsubscribe();
    log.push("one left");
    s2.unsubscribe();
    assert!(!scope.is_mounted(a));
    insta::assert_snapshot!(log.take(), @r"
    mount a
    one left
    unmount a
    ");
}

#[test]
fn subscribing_to_a_derived_atom_mounts_its_dependencies_first() {
    let log = Log::default();
    let scope = AtomScope::new();
    let a = logged(&log, "a", 1);
    let b = logged(&log, "b", 2);
    let sum = derived(move |get| get.get(a) + get.get(b));
    let l = log.clone();
    let sub = scope.sub(sum, move |v| l.push(format!("sum {v}")));
    assert!(scope.is_mounted(a) && scope.is_mounted(b) && scope.is_mounted(sum));
    scope.set(a, 10);
    sub.unsubscribe();
    assert!(!scope.is_mounted(a) && !scope.is_mounted(b));
    insta::assert_snapshot!(log.take(), @r"
    mount a
    mount b
    sum 12
    unmount a
    unmount b
    ");
}

#[test]
fn a_dependency_that_is_no_longer_read_is_unmounted_and_a_new_one_mounted() {
    let log = Log::default();
    let scope = AtomScope::new();
    let use_left = atom(true);
    let left = logged(&log, "left", 1);
    let right = logged(&log, "right", 2);
    let pick = derived(move |get| {
        if get.get(use_left) {
            get.get(left)
        } else {
            get.get(right)
        }
    });
    let l = log.clone();
    let _sub = scope.sub(pick, move |v| l.push(format!("pick {v}")));
    scope.set(use_left, false);
    assert!(!scope.is_mounted(left) && scope.is_mounted(right));
    scope.set(left, 100); // no longer a dependency: nothing happens
    scope.set(use_left, true);
    insta::assert_snapshot!(log.take(), @r"
    mount left
    pick 2
    mount right
    unmount left
    pick 100
    mount left
    unmount right
    ");
}

#[test]
fn a_value_set_in_on_mount_reaches_the_new_subscriber_and_dependents() {
    let scope = AtomScope::new();
    let log = Log::default();
    let source = atom(0).on_mount(|set| {
        set.set(42);
        || ()
    });
    let label = derived(move |get| format!("value {}", get.get(source)));
    let l = log.clone();
    let _sub = scope.sub(label, move |v| l.push(v));
    assert_eq!(scope.get(label), "value 42");
    assert_eq!(log.take(), "value 42");
}

#[test]
fn a_kept_context_writes_later_and_does_nothing_after_dispose() {
    let kept: Rc<RefCell<Option<MountContext<i32>>>> = Rc::default();
    let k = kept.clone();
    let ticks = atom(0).on_mount(move |ctx| {
        *k.borrow_mut() = Some(ctx.clone());
        || ()
    });
    let scope = AtomScope::new();
    let log = Log::default();
    let l = log.clone();
    let _sub = scope.sub(ticks, move |v| l.push(v));
    let set = kept.borrow().clone().expect("mounted");
    assert_eq!(set.set(1), Some(()));
    assert_eq!(set.set(2), Some(()));
    scope.dispose();
    assert_eq!(set.set(3), None);
    assert_eq!(set.get(ticks), None);
    assert!(set.scope().is_none());
    insta::assert_snapshot!(log.take(), @r"
    1
    2
    ");
}

#[test]
fn mount_state_is_per_scope_and_dispose_runs_the_cleanups() {
    let log = Log::default();
    let a = logged(&log, "a", 0);
    let (s1, s2) = (AtomScope::new(), AtomScope::new());
    let _x = s1.sub(a, |_| {});
    let _y = s2.sub(a, |_| {});
    assert!(s1.is_mounted(a) && s2.is_mounted(a));
    s1.dispose();
    log.push("s1 disposed");
    drop(s2);
    insta::assert_snapshot!(log.take(), @r"
    mount a
    mount a
    unmount a
    s1 disposed
    unmount a
    ");
}

#[test]
fn a_writable_atom_mount_hook_writes_through_its_write_function() {
    let scope = AtomScope::new();
    let count = atom_with_reducer(0, |n: &i32, d: i32| n + d).on_mount(|set| {
        set.set(5);
        set.set(5);
        || ()
    });
    let _sub = scope.sub(count, |_| {});
    assert_eq!(scope.get(count), 10);
}

#[test]
fn unsubscribing_inside_the_callback_unmounts_after_it_returns() {
    let log = Log::default();
    let scope = AtomScope::new();
    let a = logged(&log, "a", 0);
    let slot: Rc<RefCell<Option<stateloom_core::Subscription>>> = Rc::default();
    let (l, s) = (log.clone(), slot.clone());
    let sub = scope.sub(a, move |v| {
        l.push(format!("got {v}"));
        if let Some(sub) = s.borrow_mut().take() {
            sub.unsubscribe();
        }
    });
    *slot.borrow_mut() = Some(sub);
    scope.set(a, 1);
    scope.set(a, 2);
    assert!(!scope.is_mounted(a));
    insta::assert_snapshot!(log.take(), @r"
    mount a
    got 1
    unmount a
    ");
}

#[test]
fn a_panicking_read_function_leaves_the_scope_and_mount_hooks_working() {
    let log = Log::default();
    let scope = AtomScope::new();
    let n = atom(-1);
    let checked = derived(move |get| {
        let v = get.get(n);
        assert!(v >= 0, "negative input");
        v
    });
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scope.get(checked)));
    assert!(caught.is_err());
    scope.set(n, 2);
    assert_eq!(scope.get(checked), 2);
    // Lifecycle work still runs after the panic (nothing was left marked as busy).
    let a = logged(&log, "a", 0);
    let sub = scope.sub(a, |_| {});
    sub.unsubscribe();
    insta::assert_snapshot!(log.take(), @r"
    mount a
    unmount a
    ");
}
