//! The fast paths of base atoms: `Atom::get`/`set` and `AtomScope::get`/`set` find an
//! atom's signal in a per-scope table (the default scope's mirrored in a thread-local).
//! These tests change what the tables must follow (resets, disposals, removals, a reused
//! registry slot, another thread) and re-enter them from user code, then check values.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use stateloom_atom::{
    Atom, AtomHandle, AtomScope, Error, atom, atom_family, atom_with_equals, default_scope,
    derived, registered_atoms,
};
use stateloom_core::effect;

use crate::{Log, on_small_stack};

#[test]
fn resetting_the_default_scope_gives_handles_fresh_values() {
    on_small_stack(|| {
        let n = atom(1);
        n.set(2);
        assert_eq!(n.get(), 2);
        default_scope().reset();
        assert_eq!(n.get(), 1, "not the disposed signal");
        n.set(3);
        assert_eq!((n.get(), default_scope().get(n)), (3, 3));
        assert_eq!(default_scope().len(), 1);
    });
}

#[test]
fn disposing_the_default_scope_makes_handle_reads_fail_not_read_freed_nodes() {
    on_small_stack(|| {
        let n = atom(1);
        n.set(2);
        let scope = default_scope();
        scope.dispose();
        assert_eq!(n.try_get(), Err(Error::ScopeDisposed));
        let get = catch_unwind(AssertUnwindSafe(|| n.get()));
        let set = catch_unwind(AssertUnwindSafe(|| n.set(5)));
        assert!(get.is_err() && set.is_err());
        assert_eq!(scope.try_get(n), Err(Error::ScopeDisposed));
    });
}

#[test]
fn each_thread_has_its_own_default_scope_and_table() {
    on_small_stack(|| {
        let n = atom(10);
        n.set(11);
        // Another thread, another registry: its atoms reuse the same registry slots.
        let other = on_small_stack(|| {
            let m = atom(20);
            m.set(21);
            m.get()
        });
        assert_eq!((n.get(), other), (11, 21));
    });
}

#[test]
fn an_atom_keeps_separate_values_in_the_default_and_explicit_scopes() {
    let n = atom(0);
    let (a, b) = (AtomScope::new(), AtomScope::new());
    a.set(n, 1);
    assert_eq!((n.get(), a.get(n), b.get(n)), (0, 1, 0));
    n.set(2);
    b.set(n, 3);
    assert_eq!((n.get(), a.get(n), b.get(n)), (2, 1, 3));
    a.dispose();
    assert_eq!((n.get(), b.get(n)), (2, 3), "the others keep theirs");
    assert_eq!(a.try_get(n), Err(Error::ScopeDisposed));
}

#[test]
fn a_replaced_scope_starts_from_initial_values() {
    let n = atom(5);
    let mut scope = AtomScope::new();
    scope.set(n, 6);
    scope.dispose();
    scope = AtomScope::new();
    assert_eq!(scope.get(n), 5);
    scope.set(n, 7);
    drop(scope);
    let scope = AtomScope::new();
    assert_eq!(scope.get(n), 5);
}

#[test]
fn a_removed_member_misses_the_table_even_when_its_slot_is_reused() {
    let before = registered_atoms();
    let family = atom_family(|id: &u32| atom(*id));
    let scope = AtomScope::new();
    let old = family.get(&1);
    old.set(100);
    scope.set(old, 200);
    assert!(family.remove(&1));
    assert_eq!(old.try_get(), Err(Error::Removed { id: old.id() }));
    assert_eq!(scope.try_get(old), Err(Error::Removed { id: old.id() }));
    assert_eq!(
        registered_atoms(),
        before,
        "its registry slot is free again"
    );
    // The next atom takes the freed registry slot, with a new version.
    let fresh = atom(7);
    assert_ne!(fresh.id(), old.id());
    assert_eq!((fresh.get(), scope.get(fresh)), (7, 7));
    fresh.set(8);
    assert_eq!((fresh.get(), scope.get(fresh)), (8, 7));
    assert!(catch_unwind(AssertUnwindSafe(|| old.set(1))).is_err());
    assert_eq!(fresh.get(), 8, "the stale handle wrote nothing");
}

#[test]
fn a_member_removed_while_mounted_stays_readable_until_unmounted() {
    let family = atom_family(|id: &u32| atom(*id));
    let m = family.get(&4);
    let sub = m.subscribe(|_| {});
    m.set(40);
    assert!(family.remove(&4));
    assert_eq!(m.get(), 40);
    m.set(41);
    assert_eq!(m.get(), 41);
    sub.unsubscribe();
    assert_eq!(m.try_get(), Err(Error::Removed { id: m.id() }));
}

#[test]
fn mount_hooks_read_write_and_create_atoms_through_handles() {
    let log = Log::default();
    let other = atom(1);
    let l = log.clone();
    let started = atom(0).on_mount(move |ctx| {
        // New atoms grow the tables while the outer subscription is being set up.
        let fresh: Vec<_> = (0..64).map(atom).collect();
        for a in &fresh {
            a.set(a.get() + 1);
        }
        other.set(other.get() + fresh[63].get());
        ctx.set(other.get());
        l.push(format!("mounted {}", other.get()));
        || ()
    });
    let sub = started.subscribe(|_| {});
    assert_eq!((started.get(), other.get()), (65, 65));
    sub.unsubscribe();
    let scope = AtomScope::new();
    let sub = scope.sub(started, |_| {});
    // 65 + 64: `other` lives in the default scope, which the hook's handles write.
    assert_eq!((scope.get(started), other.get()), (129, 129));
    assert_eq!(
        (scope.get(other), started.get()),
        (1, 65),
        "the others are untouched"
    );
    sub.unsubscribe();
    insta::assert_snapshot!(log.take(), @r"
    mounted 65
    mounted 129
    ");
}

thread_local! {
    /// An atom that equality functions (plain `fn`s) count their calls in.
    static CALLS: Atom<u32> = atom(0);
    /// Makes `exploding_eq` panic.
    static EXPLODE: Cell<bool> = const { Cell::new(false) };
}

/// An equality that counts its calls in an atom and creates, reads and writes a new atom.
fn counting_eq(a: &i32, b: &i32) -> bool {
    let calls = CALLS.with(|c| *c);
    calls.set(calls.get() + 1);
    let fresh = atom(*b);
    fresh.set(fresh.get() + 1);
    a == b
}

fn exploding_eq(a: &i32, b: &i32) -> bool {
    assert!(!EXPLODE.with(Cell::get), "boom");
    a == b
}

#[test]
fn an_equality_function_may_read_write_and_create_atoms() {
    let calls = CALLS.with(|c| *c);
    let n = atom_with_equals(0, counting_eq);
    n.set(1);
    n.set(1);
    n.set(2);
    assert_eq!((n.get(), calls.get()), (2, 3));
    let scope = AtomScope::new();
    scope.set(n, 5);
    assert_eq!((scope.get(n), calls.get()), (5, 4));
}

#[test]
fn a_with_closure_may_create_atoms_and_read_the_same_atom() {
    let n = atom(3);
    let scope = AtomScope::new();
    let sum = n.with(|v| {
        let fresh: Vec<_> = (0..100).map(atom).collect();
        v + n.get() + fresh.iter().map(|a| a.get()).sum::<i32>() + scope.get(n)
    });
    assert_eq!(sum, 3 + 3 + 4950 + 3);
}

#[test]
fn effects_read_and_write_atoms_through_handles() {
    let (a, b) = (atom(1), atom(0));
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    let _e = effect(move || {
        b.set(a.get() * 10);
        r.set(r.get() + 1);
    });
    a.set(2);
    assert_eq!((b.get(), runs.get()), (20, 2));
    default_scope().reset();
    assert_eq!((a.get(), b.get()), (1, 0), "reset values");
    a.set(3);
    assert_eq!(
        b.get(),
        0,
        "the effect read the disposed signal and was not re-run"
    );
}

#[test]
fn a_panicking_equality_function_leaves_the_atom_usable() {
    let n = atom_with_equals(0, exploding_eq);
    let scope = AtomScope::new();
    n.set(1);
    scope.set(n, 1);
    EXPLODE.with(|e| e.set(true));
    assert!(catch_unwind(AssertUnwindSafe(|| n.set(2))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| scope.set(n, 2))).is_err());
    EXPLODE.with(|e| e.set(false));
    assert_eq!((n.get(), scope.get(n)), (1, 1));
    n.set(3);
    scope.set(n, 4);
    assert_eq!((n.get(), scope.get(n)), (3, 4));
}

#[test]
fn a_panicking_read_closure_leaves_the_atom_usable() {
    let n = atom(1);
    let scope = AtomScope::new();
    assert!(catch_unwind(AssertUnwindSafe(|| n.with(|_| panic!("boom")))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| scope.with(n, |_| panic!("boom")))).is_err());
    n.set(2);
    scope.set(n, 3);
    assert_eq!((n.get(), scope.get(n)), (2, 3));
}

#[test]
fn a_panicking_mount_hook_leaves_the_tables_usable() {
    let fail = Rc::new(Cell::new(true));
    let f = fail.clone();
    let n = atom(0).on_mount(move |ctx| {
        ctx.set(1);
        assert!(!f.get(), "boom");
        || ()
    });
    assert!(catch_unwind(AssertUnwindSafe(|| n.subscribe(|_| {}))).is_err());
    assert_eq!(n.get(), 1, "what the hook wrote before panicking stays");
    n.set(2);
    fail.set(false);
    let sub = n.subscribe(|_| {});
    assert_eq!(n.get(), 1, "the hook ran again");
    sub.unsubscribe();
}

#[test]
fn derived_atoms_read_cached_base_atoms_in_their_own_scope() {
    let n = atom(2);
    let double = derived(move |get| get.get(n) * 2);
    let scope = AtomScope::new();
    n.set(5);
    scope.set(n, 7);
    assert_eq!((double.get(), scope.get(double)), (10, 14));
    default_scope().reset();
    assert_eq!((double.get(), scope.get(double)), (4, 14));
}
