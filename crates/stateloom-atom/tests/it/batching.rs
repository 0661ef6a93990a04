//! When listeners run: after a whole write, once each, with final values; through shared
//! sub-trees, every one of them.

use stateloom_atom::{Atom, AtomScope, atom, derived, write_only_atom};
use stateloom_core::batch;

use crate::Log;

#[test]
fn a_write_setting_several_atoms_notifies_each_subscriber_once_with_final_values() {
    let scope = AtomScope::new();
    let (a, b) = (atom(1), atom(10));
    let sum = derived(move |get| get.get(a) + get.get(b));
    let log = Log::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let _s1 = scope.sub(a, move |v| l1.push(format!("a {v}")));
    let _s2 = scope.sub(b, move |v| l2.push(format!("b {v}")));
    let _s3 = scope.sub(sum, move |v| l3.push(format!("sum {v}")));
    let l = log.clone();
    let both = write_only_atom(move |set, n: i32| {
        set.set(a, n);
        set.set(a, n + 1);
        set.set(b, n * 10);
        l.push(format!("write done, sum reads {}", set.get(sum)));
    });
    scope.write(both, 2);
    insta::assert_snapshot!(log.take(), @r"
    write done, sum reads 23
    a 3
    b 20
    sum 23
    ");
}

#[test]
fn a_write_that_ends_where_it_started_notifies_nobody() {
    let scope = AtomScope::new();
    let a = atom(1);
    let log = Log::default();
    let l = log.clone();
    let _s = scope.sub(a, move |v| l.push(v));
    let wobble = write_only_atom(move |set, ()| {
        set.set(a, 5);
        set.set(a, 1);
    });
    scope.write(wobble, ());
    assert_eq!(log.take(), "");
}

#[test]
fn subscriptions_through_shared_sub_trees_all_fire_once_per_change() {
    let scope = AtomScope::new();
    let base = atom(1);
    let left = derived(move |get| get.get(base) + 1);
    let right = derived(move |get| get.get(base) * 10);
    let both = derived(move |get| get.get(left) + get.get(right));
    let log = Log::default();
    let mut subs = Vec::new();
    for (name, atom) in [("left", left), ("right", right), ("both", both)] {
        let l = log.clone();
        subs.push(scope.sub(atom, move |v| l.push(format!("{name} {v}"))));
    }
    let l = log.clone();
    subs.push(scope.sub(both, move |v| l.push(format!("both again {v}"))));
    scope.set(base, 2);
    insta::assert_snapshot!(log.take(), @r"
    left 3
    right 20
    both 23
    both again 23
    ");
}

#[test]
fn a_kernel_batch_around_atom_writes_defers_listeners_to_its_end() {
    let scope = AtomScope::new();
    let (a, b) = (atom(0), atom(0));
    let log = Log::default();
    let (l1, l2) = (log.clone(), log.clone());
    let _s1 = scope.sub(a, move |v| l1.push(format!("a {v}")));
    let _s2 = scope.sub(b, move |v| l2.push(format!("b {v}")));
    batch(|| {
        scope.set(a, 1);
        scope.set(b, 1);
        log.push("batch end");
    });
    insta::assert_snapshot!(log.take(), @r"
    batch end
    a 1
    b 1
    ");
}

#[test]
fn a_listener_may_write_atoms_and_its_writes_are_seen_by_later_listeners() {
    let scope = AtomScope::new();
    let (a, mirror) = (atom(0), atom(0));
    let log = Log::default();
    let s = scope.clone();
    let _s1 = scope.sub(a, move |v| s.set(mirror, *v * 100));
    let l = log.clone();
    let _s2 = scope.sub(mirror, move |v| l.push(format!("mirror {v}")));
    scope.set(a, 2);
    assert_eq!(log.take(), "mirror 200");
}

/// Base atoms whose mount hooks add one to `open` in `counter`'s scope and whose cleanups
/// take it away again; the hook of each also sets its own atom to one.
fn counted(counter: &AtomScope, open: Atom<i32>) -> (Atom<i32>, Atom<i32>) {
    let make = || {
        let counter = counter.clone();
        atom(0).on_mount(move |ctx| {
            ctx.set(1);
            counter.update(open, |n| *n += 1);
            let counter = counter.clone();
            move || counter.update(open, |n| *n -= 1)
        })
    };
    (make(), make())
}

#[test]
fn issue_the_hooks_and_cleanups_one_subscription_sets_off_are_one_batch() {
    let scope = AtomScope::new();
    let open = atom(0);
    let (a, b) = counted(&scope, open);
    let sum = derived(move |get| get.get(a) + get.get(b));
    let log = Log::default();
    let l = log.clone();
    let _watch = scope.sub(open, move |v| l.push(format!("open {v}")));
    let l = log.clone();
    let sub = scope.sub(sum, move |v| l.push(format!("sum {v}")));
    log.push("unsubscribing");
    sub.unsubscribe();
    insta::assert_snapshot!(log.take(), @r"
    open 2
    sum 2
    unsubscribing
    open 0
    ");
}

#[test]
fn issue_dispose_runs_every_cleanup_in_one_batch() {
    let elsewhere = AtomScope::new();
    let open = atom(0);
    let (a, b) = counted(&elsewhere, open);
    let scope = AtomScope::new();
    let _a = scope.sub(a, |_| {});
    let _b = scope.sub(b, |_| {});
    let log = Log::default();
    let l = log.clone();
    let _watch = elsewhere.sub(open, move |v| l.push(format!("open {v}")));
    scope.dispose();
    assert_eq!(log.take(), "open 0");
}
