//! Query atoms: fetching, refreshing, dependencies, keys, idle lifetimes and cancellation.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use stateloom_atom::{AtomScope, atom, atom_family, derived};
use stateloom_core::Subscribable;
use stateloom_optimistic::{
    AsyncResult, Key, ManualClock, QueryAction, QueryBuilder, invalidate, query, run_until_stalled,
    set_clock,
};

use crate::{DropFlag, Log, Pending};

#[test]
fn a_query_starts_when_first_read_and_shows_its_result() {
    let server = Pending::<Result<i32, String>>::new();
    let s = server.clone();
    let q = query(move |_| s.wait());
    let scope = AtomScope::new();
    assert_eq!(server.len(), 0, "nothing is fetched before a read");
    assert_eq!(scope.get(q), AsyncResult::initial(true));
    assert_eq!(server.len(), 1);
    server.answer(0, Ok(7));
    run_until_stalled();
    assert_eq!(scope.get(q), AsyncResult::success(7));
    assert_eq!(server.len(), 1, "a result does not start another request");
}

#[test]
fn refresh_keeps_the_previous_value_visible_while_waiting() {
    let server = Pending::<Result<i32, String>>::new();
    let s = server.clone();
    let q = query(move |_| s.wait());
    let scope = AtomScope::new();
    let log = Log::default();
    let l = log.clone();
    let _sub = scope.sub(q, move |r| l.push(format!("{r:?}")));
    server.answer(0, Ok(1));
    run_until_stalled();
    scope.write(q, QueryAction::Refresh);
    server.answer(1, Ok(2));
    run_until_stalled();
    insta::assert_snapshot!(log.take(), @r"
    Success(1)
    Success(1, waiting)
    Success(2)
    ");
}

#[test]
fn a_failure_keeps_the_previous_success() {
    let server = Pending::<Result<i32, String>>::new();
    let s = server.clone();
    let q = query(move |_| s.wait());
    let scope = AtomScope::new();
    scope.get(q);
    server.answer(0, Ok(1));
    run_until_stalled();
    scope.write(q, QueryAction::Refresh);
    scope.get(q);
    server.answer(1, Err("down".into()));
    run_until_stalled();
    let r = scope.get(q);
    assert!(r.is_failure() && !r.is_waiting());
    assert_eq!(
        (r.value(), r.error()),
        (Some(&1), Some(&"down".to_string()))
    );
}

#[test]
fn changing_a_dependency_starts_a_new_request_and_ignores_the_old_one() {
    let server = Pending::<Result<String, ()>>::new();
    let s = server.clone();
    let user = atom(1);
    let q = query(move |get| {
        let id = get.get(user);
        let answer = s.wait();
        async move { answer.await.map(|name| format!("{id}:{name}")) }
    });
    let scope = AtomScope::new();
    let _sub = scope.sub(q, |_| {});
    scope.set(user, 2);
    assert_eq!(server.len(), 2);
    run_until_stalled(); // an aborted future is dropped at its next poll
    assert!(server.is_dropped(0), "the superseded request is cancelled");
    server.answer(1, Ok("b".into()));
    run_until_stalled();
    assert_eq!(scope.get(q).value().map(String::as_str), Some("2:b"));
}

#[test]
fn a_value_set_on_the_query_is_not_overwritten_by_an_older_request() {
    let server = Pending::<Result<i32, ()>>::new();
    let s = server.clone();
    let q = query(move |_| s.wait());
    let scope = AtomScope::new();
    scope.get(q);
    scope.write(q, QueryAction::Set(10));
    assert_eq!(scope.get(q).value(), Some(&10));
    server.answer(0, Ok(1)); // started before the set
    run_until_stalled();
    assert_eq!(
        scope.get(q),
        AsyncResult::success(10),
        "kept, and no longer waiting"
    );
}

#[test]
fn item_keys_are_woken_by_their_row_or_their_table_not_by_other_rows() {
    let fetches = Rc::new(Cell::new([0_u32; 3]));
    let make = |slot: usize, key: Key| {
        let f = fetches.clone();
        QueryBuilder::new(move |_| {
            let mut n = f.get();
            n[slot] += 1;
            f.set(n);
            async { Ok::<_, ()>(()) }
        })
        .keys([key])
        .build()
    };
    let one = make(0, Key::item("todos", 1));
    let two = make(1, Key::item("todos", 2));
    let all = make(2, Key::table("todos"));
    let scope = AtomScope::new();
    let _subs = [
        scope.sub(one, |_| {}),
        scope.sub(two, |_| {}),
        scope.sub(all, |_| {}),
    ];
    assert_eq!(fetches.get(), [1, 1, 1]);
    invalidate(&scope, &[Key::item("todos", 2)]);
    assert_eq!(fetches.get(), [1, 2, 2]);
    invalidate(&scope, &[Key::table("todos")]);
    assert_eq!(fetches.get(), [2, 3, 3]);
    invalidate(&scope, &[Key::table("users")]);
    assert_eq!(fetches.get(), [2, 3, 3]);
}

#[test]
fn keys_are_per_scope() {
    let fetches = Rc::new(Cell::new(0));
    let f = fetches.clone();
    let q = QueryBuilder::new(move |_| {
        f.set(f.get() + 1);
        async { Ok::<_, ()>(()) }
    })
    .keys([Key::table("t")])
    .build();
    let (a, b) = (AtomScope::new(), AtomScope::new());
    let _subs = [a.sub(q, |_| {}), b.sub(q, |_| {})];
    invalidate(&a, &[Key::table("t")]);
    assert_eq!(fetches.get(), 3, "two first fetches and one refresh in `a`");
}

#[test]
fn an_idle_query_is_dropped_after_its_time_to_live_and_a_subscribed_one_is_not() {
    let clock = ManualClock::new();
    set_clock(clock.clone());
    let fetches = Rc::new(Cell::new(0));
    let f = fetches.clone();
    let q = QueryBuilder::new(move |_| {
        f.set(f.get() + 1);
        let n = f.get();
        async move { Ok::<_, ()>(n) }
    })
    .time_to_live(Duration::from_secs(10))
    .build();
    let scope = AtomScope::new();
    let sub = scope.sub(q, |_| {});
    clock.advance(Duration::from_secs(60));
    run_until_stalled();
    assert_eq!(scope.get(q).value(), Some(&1), "mounted: kept");
    sub.unsubscribe();
    clock.advance(Duration::from_secs(9));
    run_until_stalled();
    assert_eq!(scope.get(q).value(), Some(&1), "not yet");
    clock.advance(Duration::from_secs(1));
    run_until_stalled();
    assert_eq!(fetches.get(), 1);
    assert_eq!(
        scope.get(q).value(),
        Some(&2),
        "dropped, so the read fetched again"
    );
}

#[test]
fn subscribing_again_cancels_the_idle_timer() {
    let clock = ManualClock::new();
    set_clock(clock.clone());
    let q = QueryBuilder::new(|_| async { Ok::<_, ()>(Rc::new(0)) })
        .time_to_live(Duration::from_secs(5))
        .build();
    let scope = AtomScope::new();
    let first = scope.get(q);
    scope.sub(q, |_| {}).unsubscribe();
    let _again = scope.sub(q, |_| {});
    clock.advance(Duration::from_secs(100));
    run_until_stalled();
    let later = scope.get(q);
    assert!(Rc::ptr_eq(first.value().unwrap(), later.value().unwrap()));
    assert_eq!(clock.pending_sleeps(), 0);
}

#[test]
fn a_kept_alive_query_is_never_dropped() {
    let clock = ManualClock::new();
    set_clock(clock.clone());
    let fetches = Rc::new(Cell::new(0));
    let f = fetches.clone();
    let q = QueryBuilder::new(move |_| {
        f.set(f.get() + 1);
        async { Ok::<_, ()>(()) }
    })
    .keep_alive()
    .build();
    let scope = AtomScope::new();
    scope.sub(q, |_| {}).unsubscribe();
    clock.advance(Duration::from_secs(1_000_000));
    run_until_stalled();
    scope.get(q);
    assert_eq!((fetches.get(), clock.pending_sleeps()), (1, 0));
}

#[test]
fn dropping_or_disposing_a_scope_cancels_its_requests() {
    for dispose in [false, true] {
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        let q = query(move |_| {
            let flag = DropFlag(d.clone());
            async move {
                let _flag = flag;
                futures::future::pending::<Result<(), ()>>().await
            }
        });
        let scope = AtomScope::new();
        assert!(scope.get(q).is_waiting());
        run_until_stalled();
        assert!(!dropped.get());
        if dispose {
            scope.dispose();
        } else {
            drop(scope);
        }
        run_until_stalled();
        assert!(dropped.get(), "dispose = {dispose}");
    }
}

#[test]
fn queries_work_in_families_derived_atoms_and_as_subscribables() {
    let user = atom_family(|id: &u32| {
        let id = *id;
        query(move |_| async move { Ok::<_, ()>(format!("user {id}")) })
    });
    let (one, two) = (user.get(&1), user.get(&2));
    let both = derived(move |get| {
        let a = get.get(one);
        let b = get.get(two);
        format!("{:?} {:?}", a.value(), b.value())
    });
    let scope = AtomScope::new();
    assert_eq!(scope.get(both), "Some(\"user 1\") Some(\"user 2\")");
    fn show(value: &dyn Subscribable<AsyncResult<String, ()>>) -> Option<String> {
        value.get().value().cloned()
    }
    assert_eq!(show(&scope.bind(user.get(&3))).as_deref(), Some("user 3"));
}

#[test]
fn each_scope_has_its_own_value() {
    let n = atom(0);
    let q = query(move |get| {
        let n = get.get(n);
        async move { Ok::<_, ()>(n) }
    });
    let (a, b) = (AtomScope::new(), AtomScope::new());
    a.set(n, 5);
    assert_eq!((a.get(q).value(), b.get(q).value()), (Some(&5), Some(&0)));
}

#[test]
fn a_query_whose_future_panics_stops_waiting_and_can_be_refreshed() {
    let fail = Rc::new(Cell::new(true));
    let f = fail.clone();
    let q = query(move |_| {
        let fail = f.get();
        async move {
            futures::pending!();
            assert!(!fail, "the first request panics");
            Ok::<_, ()>(1)
        }
    });
    let scope = AtomScope::new();
    assert!(scope.get(q).is_waiting());
    assert!(std::panic::catch_unwind(run_until_stalled).is_err());
    assert_eq!(scope.get(q), AsyncResult::initial(false));
    fail.set(false);
    scope.write(q, QueryAction::Refresh);
    scope.get(q);
    run_until_stalled();
    assert_eq!(scope.get(q), AsyncResult::success(1));
}
