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
        for id in 0..200 {
            let item = items.get(&id);
            assert_eq!(scope.get(item), scope.get(base) + id as i64);
            let r = raw.get(&id);
            scope.set(r, id + round);
            let sub = scope.sub(r, |_| {});
            if id % 2 == 0 {
                sub.unsubscribe();
            } else {
                drop(sub); // still subscribed when removed
            }
        }
        scope.set(base, 2 + round as i64);
        for id in 0..200 {
            assert!(items.remove(&id));
        }
        raw.retain(|_| false);
        // Subscriptions whose atom was removed stay until unsubscribed or the scope goes; the
        // nodes of the atoms themselves are gone.
        assert_eq!(registered_atoms(), registry, "round {round}");
        assert_eq!(scope.len(), 1, "round {round}: only `base` keeps a node");
        let now = runtime_stats();
        let kept = 100 * (round as usize + 1);
        assert_eq!(
            (now.nodes, now.links),
            (nodes.nodes + kept, nodes.links),
            "round {round}: only the subscriptions never unsubscribed remain"
        );
    }
    scope.reset();
    scope.get(base);
    assert_eq!(runtime_stats(), nodes);
}

#[test]
fn removing_a_mounted_member_runs_its_cleanup_and_unmounts_its_dependencies() {
    let log = Log::default();
    let scope = AtomScope::new();
    let l = log.clone();
    let base = atom(0).on_mount(move |_| {
        l.push("mount base");
        let l = l.clone();
        move || l.push("unmount base")
    });
    let family = atom_family(move |id: &u32| {
        let id = *id;
        derived(move |get| get.get(base) + id)
    });
    let l = log.clone();
    let _sub = scope.sub(family.get(&7), move |v| l.push(format!("member {v}")));
    scope.set(base, 1);
    family.remove(&7);
    assert!(!scope.is_mounted(base));
    scope.set(base, 2);
    insta::assert_snapshot!(log.take(), @r"
    mount base
    member 8
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
