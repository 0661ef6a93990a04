//! Atom kinds: base, derived, writable, write-only, reducer and selected atoms, read and
//! written through the default scope and through explicit scopes.

use std::cell::Cell;
use std::rc::Rc;

use stateloom_atom::{
    AtomHandle, AtomScope, Error, atom, atom_with_equals, atom_with_reducer, derived, select_atom,
    writable_atom, write_only_atom,
};
use stateloom_core::{Subscribable, computed, effect, signal};

use crate::Log;

#[test]
fn handles_are_copy_hashable_keys_and_hold_no_state() {
    let a = atom(1);
    let b = a;
    let c = atom(1);
    assert_eq!(a, b);
    assert_ne!(a, c, "equal initial values are still different atoms");
    let set: std::collections::HashSet<_> = [a, b, c].into_iter().collect();
    assert_eq!(set.len(), 2);
    let scope = AtomScope::new();
    scope.set(a, 5);
    assert_eq!(scope.get(b), 5, "a copy names the same atom");
    assert_eq!(AtomScope::new().get(a), 1, "a fresh scope starts from init");
    assert_eq!(format!("{:?}", a.id()), format!("{:?}", b.id()));
}

#[test]
fn a_derived_atom_recomputes_only_when_an_input_changed() {
    let log = Log::default();
    let scope = AtomScope::new();
    let count = atom(1);
    let l = log.clone();
    let double = derived(move |get| {
        let v = get.get(count) * 2;
        l.push(format!("compute {v}"));
        v
    });
    assert_eq!(scope.get(double), 2);
    assert_eq!(scope.get(double), 2);
    scope.set(count, 1);
    assert_eq!(scope.get(double), 2);
    scope.set(count, 4);
    assert_eq!(scope.get(double), 8);
    insta::assert_snapshot!(log.take(), @r"
    compute 2
    compute 8
    ");
}

#[test]
fn a_writable_atom_reads_like_a_derived_one_and_writes_through_its_function() {
    let scope = AtomScope::new();
    let celsius = atom(0.0_f64);
    let fahrenheit = writable_atom(
        move |get| get.get(celsius) * 9.0 / 5.0 + 32.0,
        move |set, f: f64| set.set(celsius, (f - 32.0) * 5.0 / 9.0),
    );
    assert_eq!(scope.get(fahrenheit), 32.0);
    scope.write(fahrenheit, 212.0);
    assert_eq!(scope.get(celsius), 100.0);
    assert_eq!(scope.get(fahrenheit), 212.0);
}

#[test]
fn a_write_returns_its_result_and_can_write_other_writable_atoms() {
    let scope = AtomScope::new();
    let items = atom(Vec::<i32>::new());
    let push = writable_atom(
        move |get| get.with(items, Vec::len),
        move |set, item: i32| {
            set.update(items, |v| v.push(item));
            set.with(items, Vec::len)
        },
    );
    let push_twice = write_only_atom(move |set, item: i32| {
        set.write(push, item);
        set.write(push, item)
    });
    assert_eq!(scope.write(push, 1), 1);
    assert_eq!(scope.write(push_twice, 2), 3);
    assert_eq!(scope.get(items), [1, 2, 2]);
    assert_eq!(scope.get(push), 3);
    assert_eq!(scope.get(push_twice), (), "a write-only atom's value is ()");
}

#[test]
fn a_base_atom_is_writable_through_the_generic_write() {
    let scope = AtomScope::new();
    let n = atom(0);
    scope.write(n, 3);
    assert_eq!(scope.get(n), 3);
}

#[test]
fn a_reducer_atom_applies_actions_to_the_current_value() {
    #[derive(Debug)]
    enum Action {
        Add(i32),
        Reset,
    }
    let scope = AtomScope::new();
    let total = atom_with_reducer(10, |n: &i32, action: Action| match action {
        Action::Add(d) => n + d,
        Action::Reset => 0,
    });
    scope.write(total, Action::Add(5));
    scope.write(total, Action::Add(-2));
    assert_eq!(scope.get(total), 13);
    scope.write(total, Action::Reset);
    assert_eq!(scope.get(total), 0);
    assert_eq!(
        AtomScope::new().get(total),
        10,
        "each scope reduces its own value"
    );
}

#[test]
fn a_selected_slice_notifies_only_when_the_slice_changes() {
    #[derive(Clone, PartialEq)]
    struct Person {
        name: String,
        age: u32,
    }
    let log = Log::default();
    let scope = AtomScope::new();
    let person = atom(Person {
        name: "Ada".into(),
        age: 36,
    });
    let name = select_atom(person, |p: &Person| p.name.clone(), |a, b| a == b);
    let l = log.clone();
    let _sub = scope.sub(name, move |n| l.push(format!("name {n}")));
    scope.update(person, |p| p.age += 1);
    scope.update(person, |p| p.name = "Grace".into());
    scope.update(person, |p| p.age += 1);
    insta::assert_snapshot!(log.take(), @"name Grace");
}

#[test]
fn custom_equality_decides_what_a_change_is() {
    let scope = AtomScope::new();
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    let name = atom_with_equals(String::from("ada"), |a, b| a.eq_ignore_ascii_case(b));
    let _sub = scope.sub(name, move |_| r.set(r.get() + 1));
    scope.set(name, "ADA".into());
    assert_eq!(runs.get(), 0);
    scope.set(name, "grace".into());
    assert_eq!(runs.get(), 1);
}

#[test]
fn atoms_are_subscribable_and_mix_with_kernel_signals_in_one_graph() {
    fn read(source: &dyn Subscribable<i32>) -> i32 {
        source.get()
    }
    let n = atom(2);
    let double = derived(move |get| get.get(n) * 2);
    let offset = signal(100);
    // A derived atom may read a kernel signal directly; a kernel computed may read an atom.
    let shifted = derived(move |get| get.get(double) + offset.get());
    let total = computed(move || shifted.get() + 1);
    assert_eq!(read(&n), 2);
    assert_eq!(read(&double), 4);
    assert_eq!(total.get(), 105);
    offset.set(200);
    assert_eq!(total.get(), 205);
    n.set(3);
    assert_eq!(total.get(), 207);

    let log = Log::default();
    let l = log.clone();
    let sub = Subscribable::subscribe(&double, Box::new(move |v: &i32| l.push(v)));
    n.set(4);
    sub.unsubscribe();
    n.set(5);
    assert_eq!(log.take(), "8");
    n.set(2);
}

#[test]
fn an_effect_reading_atoms_reruns_when_they_change() {
    let scope = AtomScope::new();
    let n = atom(1);
    let log = Log::default();
    let l = log.clone();
    let s = scope.clone();
    let e = effect(move || l.push(s.get(n)));
    scope.set(n, 2);
    e.dispose();
    scope.set(n, 3);
    insta::assert_snapshot!(log.take(), @r"
    1
    2
    ");
}

#[test]
fn the_default_scope_backs_the_handle_methods_and_resets() {
    let n = atom(1);
    let twice = derived(move |get| get.get(n) * 2);
    n.set(4);
    assert_eq!(twice.get(), 8);
    assert_eq!(stateloom_atom::default_scope().get(twice), 8);
    stateloom_atom::default_scope().reset();
    assert_eq!(twice.get(), 2);
}

#[test]
fn a_derived_atom_that_reads_itself_is_a_cycle_error() {
    let holder: Rc<Cell<Option<stateloom_atom::Derived<i32>>>> = Rc::new(Cell::new(None));
    let h = holder.clone();
    let me = derived(move |get| match h.get() {
        Some(me) => get.get(me) + 1,
        None => 0,
    });
    holder.set(Some(me));
    let scope = AtomScope::new();
    let err = scope.try_get(me).unwrap_err();
    assert!(
        matches!(err, Error::Core(stateloom_core::Error::Cycle { .. })),
        "{err}"
    );
    insta::assert_snapshot!(
        Error::ScopeDisposed.to_string(),
        @"the atom scope was disposed; create a new one with `AtomScope::new`"
    );
}

#[test]
fn split_items_read_and_write_their_slot_and_notify_only_their_subscribers() {
    let scope = AtomScope::new();
    let list = atom(vec![1, 2, 3]);
    let items = stateloom_atom::split_atom(list);
    let log = Log::default();
    let handles = scope.get(items);
    assert_eq!(handles.len(), 3);
    let l = log.clone();
    let _s_items = scope.sub(items, move |v| l.push(format!("items {}", v.len())));
    let l = log.clone();
    let _s0 = scope.sub(handles[0], move |v| l.push(format!("item0 {v:?}")));
    let l = log.clone();
    let _s2 = scope.sub(handles[2], move |v| l.push(format!("item2 {v:?}")));
    scope.write(handles[2], 30);
    scope.write(handles[2], 30); // equal: no change
    scope.set(list, vec![1, 2]);
    scope.write(handles[2], 99); // past the end: ignored
    assert_eq!(scope.get(list), [1, 2]);
    assert_eq!(
        AtomScope::new().get(handles[2]),
        Some(3),
        "other scopes keep their list"
    );
    insta::assert_snapshot!(log.take(), @r"
    item2 Some(30)
    items 2
    item2 None
    ");
}

#[test]
fn a_bound_atom_is_a_subscribable_in_its_scope() {
    let n = atom(1);
    let scope = AtomScope::new();
    let bound = scope.bind(n);
    let log = Log::default();
    let l = log.clone();
    let sub = Subscribable::subscribe(&bound, Box::new(move |v: &i32| l.push(v)));
    scope.set(n, 5);
    n.set(6); // the default scope: not this one
    sub.unsubscribe();
    assert_eq!(
        (Subscribable::get(&bound), log.take()),
        (5, "5".to_string())
    );
    n.set(1);
}

#[test]
#[should_panic(expected = "was removed from its family")]
fn reading_a_removed_family_member_panics_with_what_to_do() {
    let family = stateloom_atom::atom_family(|id: &u32| atom(*id));
    let stale = family.get(&1);
    family.remove(&1);
    AtomScope::new().get(stale);
}
