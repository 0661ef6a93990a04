//! Families: memoization by parameter, removal freeing configs and nodes, stale handles.

use stateloom_atom::{AtomHandle, AtomScope, Error, atom, atom_family, derived, registered_atoms};
use stateloom_core::runtime_stats;

use crate::Log;

#[test]
fn a_family_memoizes_one_atom_per_parameter() {
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let c = calls.clone();
    let todos = atom_family(move |id: &String| {
        c.set(c.get() + 1);
        atom(format!("todo {id}"))
    });
    let a = todos.get("a");
    assert_eq!(todos.get("a"), a);
    assert_ne!(todos.get("b"), a);
    assert_eq!(calls.get(), 2);
    assert_eq!(a.get(), "todo a");
    assert!(todos.contains("a"));
    let mut params = todos.params();
    params.sort();
    assert_eq!(params, ["a", "b"]);
}

#[test]
fn removing_a_member_makes_its_handle_stale_and_get_creates_a_fresh_atom() {
    let family = atom_family(|id: &u32| atom(*id * 10));
    let scope = AtomScope::new();
    let old = family.get(&1);
    scope.set(old, 99);
    assert!(family.remove(&1));
    assert_eq!(scope.try_get(old), Err(Error::Removed { id: old.id() }));
    let fresh = family.get(&1);
    assert_ne!(fresh, old);
    assert_eq!(
        scope.get(fresh),
        10,
        "the fresh atom starts from its initial value"
    );
    insta::assert_snapshot!(
        Error::Removed { id: old.id() }.to_string().split(" was ").nth(1).unwrap_or(""),
        @"removed from its family; get a fresh handle from the family instead of keeping an old one"
    );
}

#[test]
fn retain_evicts_many_and_reports_how_many() {
    let family = atom_family(|id: &u32| atom(*id));
    let handles: Vec<_> = (0..10).map(|i| family.get(&i)).collect();
    assert_eq!(family.retain(|id| *id < 3), 7);
    assert_eq!(family.len(), 3);
    assert!(handles[2].try_get().is_ok());
    assert!(handles[3].try_get().is_err());
}

#[test]
fn a_create_and_remove_loop_returns_the_kernel_and_registry_to_where_they_started() {
    let scope = AtomScope::new();
    let base = atom(1);
    let items = atom_family(move |id: &u64| {
        let id = *id as i64;
        derived(move |get| get.get(base) + id)
    });
    let raw = atom_family(|id: &u64| atom(*id));
    scope.get(base);
    let (nodes, registry) = (runtime_stats(), registered_atoms());
    for round in 0..3_u64 {
        let mut alive = Vec::new();
        for id in 0..200 {
            let item = items.get(&id);
            assert_eq!(scope.get(item), scope.get(base) + id as i64);
            let r = raw.get(&id);
            scope.set(r, id + round);
            let sub = scope.sub(r, |_| {});
            if id % 2 == 0 {
                sub.unsubscribe();
            } else {
                alive.push((r, sub, scope.sub(item, |_| {}))); // subscribed during removal
            }
        }
        scope.set(base, 2 + round as i64);
        for id in 0..200 {
            assert!(items.remove(&id));
        }
        raw.retain(|_| false);
        assert_eq!(
            registered_atoms(),
            registry + 200,
            "round {round}: the subscribed half lives on"
        );
        for (r, raw_sub, item_sub) in alive {
            scope.update(r, |v| *v += 1); // still works for its subscribers
            raw_sub.unsubscribe();
            item_sub.unsubscribe();
        }
        assert_eq!(registered_atoms(), registry, "round {round}");
        assert_eq!(scope.len(), 1, "round {round}: only `base` keeps a node");
        assert_eq!(runtime_stats(), nodes, "round {round}");
    }
}

#[test]
fn a_subscription_never_unsubscribed_keeps_a_removed_member_until_the_scope_goes() {
    let family = atom_family(|id: &u32| atom(*id));
    let registry = registered_atoms();
    let before = runtime_stats();
    let scope = AtomScope::new();
    drop(scope.sub(family.get(&1), |_| {})); // dropped, not unsubscribed: it keeps running
    family.clear();
    assert_eq!(registered_atoms(), registry + 1);
    scope.reset();
    assert_eq!(registered_atoms(), registry);
    drop(scope);
    assert_eq!(runtime_stats(), before);
}

#[test]
fn removing_a_member_mounted_through_a_dependent_keeps_it_until_the_dependent_stops_reading_it() {
    let log = Log::default();
    let scope = AtomScope::new();
    let l = log.clone();
    let base = atom(0).on_mount(move |_| {
        l.push("mount base");
        let l = l.clone();
        move || l.push("unmount base")
    });
    let family = atom_family(move |id: &i32| {
        let id = *id;
        derived(move |get| get.get(base) + id)
    });
    let use_member = atom(true);
    let member = family.get(&7);
    let view = derived(move |get| {
        if get.get(use_member) {
            get.get(member)
        } else {
            -1
        }
    });
    let l = log.clone();
    let _sub = scope.sub(view, move |v| l.push(format!("view {v}")));
    scope.set(base, 1);
    family.remove(&7);
    log.push("removed");
    assert!(scope.is_mounted(base), "the removed member still reads it");
    scope.set(base, 2);
    scope.set(use_member, false);
    assert!(!scope.is_mounted(base));
    assert!(
        scope.try_get(member).is_err(),
        "freed once nothing mounted reads it"
    );
    insta::assert_snapshot!(log.take(), @r"
    mount base
    view 8
    removed
    view 9
    view -1
    unmount base
    ");
}

#[test]
fn a_dependent_of_a_removed_member_fails_cleanly_when_it_recomputes() {
    let scope = AtomScope::new();
    let family = atom_family(|id: &u32| atom(*id));
    let member = family.get(&1);
    let switch = atom(0);
    let reader = derived(move |get| get.get(switch) + get.get(member));
    assert_eq!(scope.get(reader), 1);
    family.remove(&1);
    scope.set(switch, 1);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scope.get(reader)));
    assert!(err.is_err(), "reading a removed atom is a documented panic");
}

/// Regression: families hashed their parameters with the unseeded Fx hash by default, so
/// whoever chooses the parameters (user names, ids in a message) could make them collide.
#[test]
fn issue_families_hash_with_a_seeded_hasher_by_default() {
    use stateloom_atom::{Atom, AtomFamily, DefaultHashBuilder, FxBuildHasher};
    use std::hash::BuildHasher;

    let family = atom_family(|id: &u64| atom(*id));
    // The hasher is part of the family's type: the default one is `DefaultHashBuilder`.
    let default: &AtomFamily<u64, Atom<u64>, DefaultHashBuilder> = &family;
    assert_eq!(default.get(&7).get(), 7);
    // Seeded: two builders hash the same key differently, where Fx always agrees with itself.
    let (a, b) = (DefaultHashBuilder::new(), DefaultHashBuilder::new());
    assert_ne!(a.hash_one(42_u64), b.hash_one(42_u64));
    assert_eq!(
        FxBuildHasher.hash_one(42_u64),
        FxBuildHasher.hash_one(42_u64)
    );
    // Fx stays available for parameters the program makes itself.
    let fx = stateloom_atom::atom_family_with_hasher(FxBuildHasher, |id: &u64| atom(id * 2));
    assert_eq!(fx.get(&4).get(), 8);
}
