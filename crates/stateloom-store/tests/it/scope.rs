//! Scope integration: per-request state through the store's signal, and serialization.

use stateloom_core::{Scope, run_in_scope};
use stateloom_store::Store;

use crate::Counter;

#[test]
fn a_scope_overrides_the_state_for_reads_inside_it() {
    let store = Store::new(Counter::default());
    let request = Scope::new();
    request.set(
        store.signal(),
        Counter {
            count: 5,
            label: "request".into(),
        },
    );
    let child = request.fork();
    child.update_for_test(&store);
    assert_eq!(run_in_scope(&request, || store.get_state().count), 5);
    assert_eq!(run_in_scope(&child, || store.get_state().count), 6);
    assert_eq!(request.get(store.signal()).count, 5);
    assert_eq!(
        store.get_state(),
        Counter::default(),
        "the store itself is untouched"
    );
}

/// Test helper: a forked scope bumps the count it inherited.
trait ScopeExt {
    fn update_for_test(&self, store: &Store<Counter>);
}

impl ScopeExt for Scope {
    fn update_for_test(&self, store: &Store<Counter>) {
        let mut state = self.get(store.signal());
        state.count += 1;
        self.set(store.signal(), state);
    }
}

#[cfg(feature = "serde")]
#[test]
fn a_scopes_store_state_serializes_under_a_stable_key_and_hydrates() {
    let store = Store::new(Counter::default());
    let server = Scope::new();
    server.set(
        store.signal(),
        Counter {
            count: 41,
            label: "ssr".into(),
        },
    );
    let snapshot = server.serialize(&[("counter", &store.signal())]).unwrap();
    let wire = serde_json::to_string(&snapshot).unwrap();
    insta::assert_snapshot!(wire, @r#"{"counter":{"count":41,"label":"ssr"}}"#);

    let client = Scope::new();
    client
        .hydrate(
            &serde_json::from_str(&wire).unwrap(),
            &[("counter", &store.signal())],
        )
        .unwrap();
    assert_eq!(run_in_scope(&client, || store.get_state().count), 41);
}

#[test]
fn issue_a_write_inside_a_request_scope_never_copies_the_requests_state_into_the_store() {
    let store = Store::new(Counter::default());
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = seen.clone();
    let _sub = store.subscribe(move |new, old| log.borrow_mut().push((old.count, new.count)));
    let request = Scope::new();
    request.set(
        store.signal(),
        Counter {
            count: 100,
            label: "private to the request".into(),
        },
    );
    run_in_scope(&request, || {
        store.update(|s| s.count += 1);
        // Reads inside the scope still see the request's state.
        assert_eq!(store.get_state().count, 100);
    });
    // The update started from the store's own state, and listeners saw that state.
    assert_eq!(
        store.get_state(),
        Counter {
            count: 1,
            ..Counter::default()
        }
    );
    assert_eq!(*seen.borrow(), [(0, 1)]);
}
