//! Scopes: isolation between requests, forks, run_in_scope, and serialization.

use stateloom_core::{Scope, computed, effect, run_in_scope, run_outside_scopes, signal};

#[test]
fn scopes_isolate_values_and_forks_inherit() {
    let user = signal("anonymous".to_string());
    let visits = signal(0);
    let request_a = Scope::new();
    let request_b = Scope::new();
    request_a.set(user, "ada".into());
    request_b.set(user, "grace".into());
    request_b.set(visits, 3);
    assert_eq!(request_a.get(user), "ada");
    assert_eq!(request_b.get(user), "grace");
    assert_eq!(request_a.get(visits), 0, "falls through to the signal");
    let child = request_b.fork();
    child.set(visits, 4);
    assert_eq!((child.get(user), child.get(visits)), ("grace".into(), 4));
    assert_eq!(
        request_b.get(visits),
        3,
        "a fork does not write to its parent"
    );
    assert_eq!(user.get(), "anonymous", "the signal itself is untouched");
}

#[test]
fn run_in_scope_overrides_direct_reads_but_never_shared_computeds() {
    let price = signal(10);
    let doubled = computed(move || price.get() * 2);
    let runs = std::rc::Rc::new(std::cell::Cell::new(0));
    let r = runs.clone();
    effect(move || {
        price.get();
        r.set(r.get() + 1);
    });
    let scope = Scope::new();
    scope.set(price, 99);
    let (direct, derived) = run_in_scope(&scope, || (price.get(), doubled.get()));
    assert_eq!(direct, 99);
    assert_eq!(
        derived, 20,
        "computeds are shared and never see a scope's values"
    );
    assert_eq!(doubled.get(), 20);
    assert_eq!(runs.get(), 1, "setting a scope value runs no effect");
    assert_eq!(price.get(), 10, "outside the scope, the signal's own value");
}

#[cfg(feature = "serde")]
#[test]
fn scope_snapshots_use_stable_keys_and_round_trip() {
    use stateloom_core::ScopeSnapshot;

    let count = signal(0_i64);
    let name = signal(String::new());
    let tags = signal(Vec::<String>::new());
    let server = Scope::new();
    server.set(count, 7);
    server.set(name, "ada".into());
    let snapshot = server
        .serialize(&[("count", &count), ("name", &name), ("tags", &tags)])
        .expect("serializable");
    let wire = serde_json::to_string(&snapshot).expect("json");
    insta::assert_snapshot!(wire, @r#"{"count":7,"name":"ada","tags":[]}"#);

    let client = Scope::new();
    let received: ScopeSnapshot = serde_json::from_str(&wire).expect("json");
    client
        .hydrate(
            &received,
            &[("count", &count), ("name", &name), ("missing", &tags)],
        )
        .expect("hydrates");
    assert_eq!(client.get(count), 7);
    assert_eq!(client.get(name), "ada");
    let corrupt: ScopeSnapshot = serde_json::from_str(r#"{"count":"seven"}"#).expect("json");
    let err = client
        .hydrate(&corrupt, &[("count", &count)])
        .expect_err("wrong type");
    insta::assert_snapshot!(err.to_string(), @"scope entry `count`: invalid type: string \"seven\", expected i64");
    assert_eq!(client.get(count), 7, "a failed hydrate stores nothing");
}

#[test]
fn run_outside_scopes_reads_own_values_and_restores_the_scopes() {
    let user = signal("anonymous");
    let outer = Scope::new();
    outer.set(user, "ada");
    let inner = Scope::new();
    inner.set(user, "grace");
    run_in_scope(&outer, || {
        let seen = run_outside_scopes(|| {
            let own = user.get();
            // A scope entered inside still applies within its closure, and leaving it does not
            // bring the outer scope back early.
            let nested = run_in_scope(&inner, || user.get());
            (own, nested, user.get())
        });
        assert_eq!(seen, ("anonymous", "grace", "anonymous"));
        assert_eq!(user.get(), "ada");
        // A panic inside does not lose the entered scopes.
        let caught = std::panic::catch_unwind(|| run_outside_scopes(|| panic!("boom")));
        assert!(caught.is_err());
        assert_eq!(user.get(), "ada");
    });
    assert_eq!(run_outside_scopes(|| user.get()), "anonymous");
}
