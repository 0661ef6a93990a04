//! What a mount hook can do through its `MountContext`: read any atom, write any writable
//! atom (by value or with an updater), subscribe, all in the scope it was mounted in; and
//! what a hook that does all that and then panics leaves behind.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use stateloom_atom::{AtomScope, MountContext, atom, atom_with_reducer, derived, writable_atom};
use stateloom_core::{Subscription, runtime_stats};

use crate::Log;

#[test]
fn issue_a_mount_hook_reads_any_atom_in_its_scope() {
    let name = atom(String::from("anonymous"));
    let shout = derived(move |get| get.get(name).to_uppercase());
    let log = Log::default();
    let l = log.clone();
    let greeting = atom(String::new()).on_mount(move |ctx| {
        let plain = ctx.get(name).expect("live scope");
        let loud = ctx.with(shout, |s| s.clone()).expect("live scope");
        l.push(format!("hook read {plain} / {loud}"));
        || ()
    });
    let (a, b) = (AtomScope::new(), AtomScope::new());
    a.set(name, "ada".into());
    b.set(name, "grace".into());
    let _sa = a.sub(greeting, |_| {});
    let _sb = b.sub(greeting, |_| {});
    insta::assert_snapshot!(log.take(), @r"
    hook read ada / ADA
    hook read grace / GRACE
    ");
}

#[test]
fn issue_a_mount_hook_sets_other_atoms_and_its_own_with_an_updater() {
    let mounted = atom(false);
    let opened = atom(0);
    let plus = atom_with_reducer(100, |n: &i32, d: i32| n + d);
    let celsius = atom(0.0_f64);
    let fahrenheit = writable_atom(
        move |get| get.get(celsius) * 9.0 / 5.0 + 32.0,
        move |set, f: f64| set.set(celsius, (f - 32.0) * 5.0 / 9.0),
    );
    let items = atom(vec![1]).on_mount(move |ctx| {
        ctx.write(mounted, true);
        ctx.write_with(opened, |n| n + 1);
        ctx.write_with(plus, |n| *n); // a reducer: adds its own value
        ctx.write_with(fahrenheit, |f| f + 180.0); // through a write function
        ctx.set_with(|v| [v.clone(), vec![2]].concat());
        let ctx = ctx.clone();
        move || {
            ctx.write(mounted, false);
            ctx.set_with(|v| v[..1].to_vec());
        }
    });
    let scope = AtomScope::new();
    let sub = scope.sub(items, |_| {});
    assert!(scope.get(mounted));
    assert_eq!(
        (scope.get(opened), scope.get(plus), scope.get(celsius)),
        (1, 200, 100.0)
    );
    assert_eq!(scope.get(items), [1, 2]);
    sub.unsubscribe();
    assert!(!scope.get(mounted));
    assert_eq!(
        scope.get(items),
        [1],
        "the cleanup wrote through the context"
    );
    let _again = scope.sub(items, |_| {});
    assert_eq!(scope.get(opened), 2, "remounting runs the hook again");
}

#[test]
fn issue_a_writable_atom_hook_updates_itself_through_its_write_function() {
    let log = Log::default();
    let base = atom(1);
    let l = log.clone();
    // Its value is derived from `base`; its write sets `base` and returns the old value.
    let double = writable_atom(
        move |get| get.get(base) * 2,
        move |set, half: i32| {
            let old = set.get(base);
            set.set(base, half);
            old
        },
    )
    .on_mount(move |ctx| {
        let first = ctx.set_with(|d| d + 1); // the argument is made from the value 2
        let second = ctx.set(10);
        l.push(format!("returned {first:?} then {second:?}"));
        || ()
    });
    let scope = AtomScope::new();
    let _sub = scope.sub(double, |_| {});
    assert_eq!((scope.get(base), scope.get(double)), (10, 20));
    assert_eq!(log.take(), "returned Some(1) then Some(3)");
}

#[test]
fn issue_a_mount_hook_subscribes_and_its_cleanup_unsubscribes() {
    let log = Log::default();
    let feed = atom(0);
    let l = log.clone();
    let watched = atom(()).on_mount(move |ctx| {
        let l = l.clone();
        let sub = ctx.sub(feed, move |v| l.push(format!("feed {v}")));
        move || {
            if let Some(sub) = sub {
                sub.unsubscribe();
            }
        }
    });
    let scope = AtomScope::new();
    let sub = scope.sub(watched, |_| {});
    assert!(
        scope.is_mounted(feed),
        "the hook's subscription mounts what it watches"
    );
    scope.set(feed, 1);
    sub.unsubscribe();
    assert!(
        !scope.is_mounted(feed),
        "the cleanup's unsubscribe unmounts it"
    );
    scope.set(feed, 2);
    assert_eq!(log.take(), "feed 1");
}

#[test]
fn issue_one_hook_mounted_in_two_scopes_gets_a_context_bound_to_each() {
    let kept: Rc<RefCell<Vec<MountContext<i32>>>> = Rc::default();
    let sibling = atom(0);
    let k = kept.clone();
    let ticks = atom(0).on_mount(move |ctx| {
        k.borrow_mut().push(ctx.clone());
        ctx.set_with(|n| n + 1);
        ctx.write_with(sibling, |n| n + 10);
        || ()
    });
    let (a, b) = (AtomScope::new(), AtomScope::new());
    b.set(ticks, 100);
    let log = Log::default();
    let (la, lb) = (log.clone(), log.clone());
    let _sa = a.sub(sibling, move |v| la.push(format!("a sibling {v}")));
    let _sb = b.sub(sibling, move |v| lb.push(format!("b sibling {v}")));
    let _ta = a.sub(ticks, |_| {});
    let _tb = b.sub(ticks, |_| {});
    assert_eq!((a.get(ticks), b.get(ticks)), (1, 101));
    let (in_a, in_b) = (kept.borrow()[0].clone(), kept.borrow()[1].clone());
    assert_eq!(in_a.scope(), Some(a.clone()));
    assert_eq!(in_b.scope(), Some(b.clone()));
    in_a.set(5);
    in_b.write(sibling, 7);
    assert_eq!((a.get(ticks), b.get(ticks)), (5, 101));
    a.dispose();
    assert_eq!(in_a.set(6), None, "a's context ends with a");
    assert_eq!(in_b.set_with(|n| n + 1), Some(()), "b's is unaffected");
    assert_eq!(b.get(ticks), 102);
    insta::assert_snapshot!(log.take(), @r"
    a sibling 10
    b sibling 10
    b sibling 7
    ");
}

#[test]
fn issue_a_mount_hook_that_subscribes_writes_unsubscribes_and_panics_leaves_nothing_behind() {
    let log = Log::default();
    let before = runtime_stats();
    let scope = AtomScope::new();
    let l = log.clone();
    let other = atom(0).on_mount(move |_| {
        l.push("mount other");
        let l = l.clone();
        move || l.push("unmount other")
    });
    let kept: Rc<RefCell<Option<Subscription>>> = Rc::default();
    let panics = Rc::new(RefCell::new(true));
    let (l, k, p) = (log.clone(), kept.clone(), panics.clone());
    let fragile = atom(0).on_mount(move |ctx| {
        let (l1, l2) = (l.clone(), l.clone());
        let brief = ctx.sub(other, move |v| l1.push(format!("brief {v}")));
        *k.borrow_mut() = ctx.sub(other, move |v| l2.push(format!("kept {v}")));
        ctx.write_with(other, |n| n + 1);
        brief.expect("live scope").unsubscribe();
        ctx.set(7);
        if *p.borrow() {
            panic!("the hook failed");
        }
        let l = l.clone();
        move || l.push("unmount fragile")
    });
    let l = log.clone();
    let failed = catch_unwind(AssertUnwindSafe(|| {
        scope.sub(fragile, move |v| l.push(format!("fragile {v}")))
    }));
    assert!(failed.is_err(), "the hook's panic reaches the subscriber");
    assert!(
        !scope.is_mounted(fragile),
        "the failed subscription was ended"
    );
    assert!(
        scope.is_mounted(other),
        "the hook's kept subscription holds `other`"
    );
    scope.set(fragile, 8); // nobody listens to `fragile` any more
    log.push("unsubscribing the kept one");
    kept.borrow_mut().take().expect("kept").unsubscribe();
    assert!(!scope.is_mounted(other));
    // The scope is still usable: the next subscription mounts and cleans up normally.
    *panics.borrow_mut() = false;
    let l = log.clone();
    let sub = scope.sub(fragile, move |v| l.push(format!("fragile {v}")));
    assert_eq!((scope.get(fragile), scope.get(other)), (7, 2));
    kept.borrow_mut().take().expect("kept").unsubscribe();
    sub.unsubscribe();
    scope.dispose();
    assert_eq!(runtime_stats(), before, "nothing leaked");
    // The hook's writes are one batch with the hooks it set off, and subscribers hear of them
    // (in the order they subscribed) when it ends, before the panic continues.
    insta::assert_snapshot!(log.take(), @r"
    mount other
    fragile 7
    kept 1
    unsubscribing the kept one
    unmount other
    mount other
    fragile 7
    kept 2
    unmount other
    unmount fragile
    ");
}

#[test]
fn a_cleanup_run_by_dispose_gets_no_scope_and_writes_elsewhere_still_work() {
    let elsewhere = AtomScope::new();
    let closed = atom(0);
    let e = elsewhere.clone();
    let tracked = atom(0).on_mount(move |ctx| {
        let (ctx, e) = (ctx.clone(), e.clone());
        move || {
            assert_eq!(ctx.set(1), None, "the scope is being disposed");
            e.update(closed, |n| *n += 1);
        }
    });
    let scope = AtomScope::new();
    let _sub = scope.sub(tracked, |_| {});
    scope.dispose();
    assert_eq!(elsewhere.get(closed), 1);
}

#[test]
fn a_kept_subscription_from_a_hook_is_ended_by_dispose() {
    let kept: Rc<RefCell<Option<Subscription>>> = Rc::default();
    let k = kept.clone();
    let feed = atom(0);
    let watched = atom(()).on_mount(move |ctx| {
        *k.borrow_mut() = ctx.sub(feed, |_| {});
        || ()
    });
    let scope = AtomScope::new();
    let _sub = scope.sub(watched, |_| {});
    assert!(kept.borrow().as_ref().is_some_and(Subscription::is_active));
    scope.dispose();
    assert!(!kept.borrow().as_ref().is_some_and(Subscription::is_active));
}
