//! One scenario, every backend: the same expectations run through a core signal, a core
//! computed, a store selector, a base atom and a derived atom, each seen only as a
//! `Subscribable<i64>` and a write function.

use std::cell::RefCell;
use std::rc::Rc;

use stateloom::atom::{AtomScope, atom, derived};
use stateloom::core::{Subscribable, batch, computed, effect, signal};
use stateloom::store::Store;

/// A readable value under test and the way to change what it shows.
struct Backend {
    name: &'static str,
    value: Box<dyn Subscribable<i64>>,
    write: Box<dyn Fn(i64)>,
}

/// Every backend, each showing `initial` until written.
fn backends(initial: i64) -> Vec<Backend> {
    let s = signal(initial);
    let source = signal(initial);
    let doubled_half = computed(move || source.get() * 2 / 2);

    #[derive(Clone, PartialEq)]
    struct State {
        count: i64,
        other: &'static str,
    }
    let store = Store::new(State {
        count: initial,
        other: "x",
    });
    let count = store.select(|s| s.count);

    // Each atom backend has its own atoms and scope, so their writes cannot meet.
    let scope = AtomScope::new();
    let base = atom(initial);
    let a = scope.clone();
    let input = atom(initial);
    let same = derived(move |get| get.get(input));
    let b = scope.clone();

    vec![
        Backend {
            name: "core signal",
            value: Box::new(s),
            write: Box::new(move |v| s.set(v)),
        },
        Backend {
            name: "core computed",
            value: Box::new(doubled_half),
            write: Box::new(move |v| source.set(v)),
        },
        Backend {
            name: "store selector",
            value: Box::new(count),
            write: Box::new(move |v| store.update(move |s| s.count = v)),
        },
        Backend {
            name: "base atom",
            value: Box::new(scope.bind(base)),
            write: Box::new(move |v| a.set(base, v)),
        },
        Backend {
            name: "derived atom",
            value: Box::new(scope.bind(same)),
            write: Box::new(move |v| b.set(input, v)),
        },
    ]
}

#[test]
fn every_backend_notifies_changes_only_once_each_with_final_values() {
    for backend in backends(1) {
        let name = backend.name;
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        let sub = backend
            .value
            .subscribe(Box::new(move |v: &i64| log.borrow_mut().push(*v)));
        let write = &backend.write;
        write(1); // equal to the current value: no notification
        write(2);
        batch(|| {
            write(3);
            write(4); // one notification for the batch, with its final value
        });
        batch(|| {
            write(5);
            write(4); // back where it was: nothing
        });
        sub.unsubscribe();
        write(6);
        assert_eq!(*seen.borrow(), [2, 4], "{name}");
        assert_eq!(backend.value.get(), 6, "{name}");
    }
}

#[test]
fn every_backend_is_tracked_by_core_computeds_and_effects() {
    for backend in backends(10) {
        let name = backend.name;
        let value: Rc<dyn Subscribable<i64>> = Rc::from(backend.value);
        let v = value.clone();
        let plus_one = computed(move || v.get() + 1);
        let runs = Rc::new(RefCell::new(Vec::new()));
        let log = runs.clone();
        let e = effect(move || log.borrow_mut().push(plus_one.get()));
        (backend.write)(20);
        (backend.write)(20);
        (backend.write)(30);
        assert_eq!(*runs.borrow(), [11, 21, 31], "{name}");
        e.dispose();
    }
}
