//! Removing family members, as Jotai does: a removed member lives on in the scopes where it
//! is mounted, for its subscribers (who may write it or remove it again), and is freed
//! (nodes, then config) once it is unmounted everywhere.

use std::cell::OnceCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use stateloom_atom::{
    Atom, AtomFamily, AtomHandle, AtomScope, Error, atom, atom_family, registered_atoms,
    writable_atom,
};
use stateloom_core::runtime_stats;

use crate::Log;

#[test]
fn issue_removing_a_member_keeps_its_live_subscribers_working() {
    let family = atom_family(|id: &u32| atom(*id * 10));
    let scope = AtomScope::new();
    let old = family.get(&1);
    let log = Log::default();
    let l = log.clone();
    let sub = scope.sub(old, move |v| l.push(format!("old {v}")));
    assert!(family.remove(&1));
    scope.set(old, 11);
    scope.update(old, |v| *v += 1);
    assert!(sub.is_active());
    assert_eq!(scope.try_get(old), Ok(12));
    let fresh = family.get(&1);
    assert_ne!(fresh, old);
    assert_eq!(scope.get(fresh), 10, "a later get makes a fresh atom");
    scope.set(fresh, 99);
    assert_eq!(scope.get(old), 12, "the two are independent");
    sub.unsubscribe();
    assert_eq!(scope.try_get(old), Err(Error::Removed { id: old.id() }));
    insta::assert_snapshot!(log.take(), @r"
    old 11
    old 12
    ");
}

#[test]
fn issue_a_removed_member_lives_on_only_where_it_is_mounted_and_is_freed_after() {
    let log = Log::default();
    let l = log.clone();
    let family = atom_family(move |id: &u32| {
        let (l, id) = (l.clone(), *id);
        atom(id).on_mount(move |_| {
            l.push(format!("mount {id}"));
            let l = l.clone();
            move || l.push(format!("unmount {id}"))
        })
    });
    let (registry, nodes) = (registered_atoms(), runtime_stats());
    let (s1, s2, reader) = (AtomScope::new(), AtomScope::new(), AtomScope::new());
    let member = family.get(&3);
    let sub1 = s1.sub(member, |_| {});
    let sub2 = s2.sub(member, |_| {});
    reader.set(member, 30); // has a node there, but is not mounted
    family.remove(&3);
    log.push("removed");
    assert_eq!(
        reader.try_get(member),
        Err(Error::Removed { id: member.id() })
    );
    assert_eq!(registered_atoms(), registry + 1);
    sub1.unsubscribe();
    assert!(
        s1.try_get(member).is_err(),
        "freed in s1 once unmounted there"
    );
    s2.set(member, 4);
    assert_eq!(s2.get(member), 4, "still mounted in s2");
    assert_eq!(registered_atoms(), registry + 1);
    sub2.unsubscribe();
    assert_eq!(
        registered_atoms(),
        registry,
        "the config goes with the last node"
    );
    assert!(s2.try_get(member).is_err());
    drop((s1, s2, reader));
    assert_eq!(runtime_stats(), nodes);
    insta::assert_snapshot!(log.take(), @r"
    mount 3
    mount 3
    removed
    unmount 3
    unmount 3
    ");
}

#[test]
fn issue_a_subscriber_of_a_removed_member_may_write_it() {
    let family = atom_family(|id: &u32| atom(*id));
    let scope = AtomScope::new();
    let member = family.get(&1);
    let log = Log::default();
    let (l, s) = (log.clone(), scope.clone());
    let sub = scope.sub(member, move |v| {
        l.push(v);
        if *v > 10 {
            s.set(member, 10); // clamp, from inside the notification
        }
    });
    family.remove(&1);
    scope.set(member, 50);
    assert_eq!(scope.get(member), 10);
    sub.unsubscribe();
    assert!(scope.try_get(member).is_err());
    insta::assert_snapshot!(log.take(), @r"
    50
    10
    ");
}

#[test]
fn issue_a_member_removed_from_inside_its_own_listener_keeps_notifying_it() {
    let family = atom_family(|id: &u32| atom(*id));
    let registry = registered_atoms();
    let scope = AtomScope::new();
    let member = family.get(&1);
    let log = Log::default();
    let (l, f) = (log.clone(), family.clone());
    let sub = scope.sub(member, move |v| {
        l.push(format!("got {v}, removed {}", f.remove(&1)));
    });
    scope.set(member, 2);
    scope.set(member, 3);
    assert!(!family.contains(&1));
    sub.unsubscribe();
    assert_eq!(registered_atoms(), registry);
    insta::assert_snapshot!(log.take(), @r"
    got 2, removed true
    got 3, removed false
    ");
}

#[test]
fn issue_members_removed_from_their_own_mount_hooks_and_cleanups() {
    type Family = AtomFamily<u32, Atom<u32>>;
    let cell: Rc<OnceCell<Family>> = Rc::default();
    let log = Log::default();
    let (c, l) = (cell.clone(), log.clone());
    // Member 1 leaves the family as soon as it is mounted; member 2 when it is unmounted.
    let family = atom_family(move |id: &u32| {
        let (c, l, id) = (c.clone(), l.clone(), *id);
        atom(id).on_mount(move |ctx| {
            let family = c.get().expect("set").clone();
            if id == 1 {
                l.push(format!("mount 1, removed {}", family.remove(&1)));
            }
            ctx.set_with(|v| v + 100);
            let l = l.clone();
            move || {
                let removed = id == 2 && family.remove(&2);
                l.push(format!("unmount {id}, removed {removed}"));
            }
        })
    });
    assert!(cell.set(family.clone()).is_ok(), "set once");
    let registry = registered_atoms();
    let scope = AtomScope::new();
    let (one, two) = (family.get(&1), family.get(&2));
    let s1 = scope.sub(one, |_| {});
    let s2 = scope.sub(two, |_| {});
    assert_eq!((scope.get(one), scope.get(two)), (101, 102));
    assert!(!family.contains(&1) && family.contains(&2));
    s1.unsubscribe();
    s2.unsubscribe();
    assert!(family.is_empty());
    assert!(scope.try_get(one).is_err() && scope.try_get(two).is_err());
    assert_eq!(registered_atoms(), registry);
    insta::assert_snapshot!(log.take(), @r"
    mount 1, removed true
    unmount 1, removed false
    unmount 2, removed true
    ");
}

#[test]
fn issue_a_removed_writable_member_is_written_only_where_it_is_mounted() {
    let totals = atom_family(|_: &u32| atom(0));
    let t = totals.clone();
    let adders = atom_family(move |id: &u32| {
        let total = t.get(id);
        writable_atom(
            move |get| get.get(total),
            move |set, n: i32| set.set(total, set.get(total) + n),
        )
    });
    let (mounted, other) = (AtomScope::new(), AtomScope::new());
    let adder = adders.get(&1);
    let sub = mounted.sub(adder, |_| {});
    adders.remove(&1);
    mounted.write(adder, 5);
    assert_eq!(mounted.get(adder), 5);
    let refused = catch_unwind(AssertUnwindSafe(|| other.write(adder, 1)));
    let message = refused
        .map_err(|p| p.downcast_ref::<String>().cloned().unwrap_or_default())
        .unwrap_err();
    assert!(message.contains("was removed from its family"), "{message}");
    assert_eq!(
        other.get(totals.get(&1)),
        0,
        "the refused write wrote nothing"
    );
    sub.unsubscribe();
}
