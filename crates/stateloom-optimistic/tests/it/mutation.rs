//! Mutations: outcomes, reactivity keys and the three concurrency policies.

use std::cell::Cell;
use std::rc::Rc;

use futures::executor::block_on;
use stateloom_atom::AtomScope;
use stateloom_optimistic::{
    AsyncResult, CallError, Concurrency, Key, MutationBuilder, QueryBuilder, mutation,
    run_until_stalled,
};

use crate::{DropFlag, Log, Pending};

#[test]
fn a_keyed_query_is_rebuilt_by_each_successful_mutation() {
    let builds = Rc::new(Cell::new(0));
    let b = builds.clone();
    let counter = QueryBuilder::new(move |_| {
        b.set(b.get() + 1);
        async { Ok::<_, ()>(()) }
    })
    .keys([Key::table("counter")])
    .build();
    let bump = MutationBuilder::new(Concurrency::Switch, |_: (), _| async { Ok::<_, ()>(()) })
        .invalidates([Key::table("counter")])
        .build();
    let scope = AtomScope::new();
    let _sub = scope.sub(counter, |_| {});
    for _ in 0..3 {
        scope.write(bump, ());
    }
    assert_eq!(builds.get(), 4, "the first fetch and one per mutation");
}

#[test]
fn a_failed_mutation_invalidates_nothing() {
    let builds = Rc::new(Cell::new(0));
    let b = builds.clone();
    let q = QueryBuilder::new(move |_| {
        b.set(b.get() + 1);
        async { Ok::<_, ()>(()) }
    })
    .keys([Key::item("todos", 1)])
    .build();
    let fail = MutationBuilder::new(Concurrency::Switch, |_: (), _| async { Err::<(), _>("no") })
        .invalidates_with(|_| vec![Key::item("todos", 1)])
        .build();
    let scope = AtomScope::new();
    let _sub = scope.sub(q, |_| {});
    let call = scope.write(fail, ());
    assert_eq!(block_on(call), Err(CallError::Failed("no")));
    assert_eq!(builds.get(), 1);
}

#[test]
fn a_call_resolves_with_its_outcome_and_the_atom_shows_it() {
    let server = Pending::<Result<i32, String>>::new();
    let s = server.clone();
    let m = mutation(Concurrency::Concurrent, move |n: i32, _| {
        let answer = s.wait();
        async move { answer.await.map(|x| x + n) }
    });
    let scope = AtomScope::new();
    let call = scope.write(m, 1);
    assert_eq!(scope.get(m), AsyncResult::initial(true));
    server.answer(0, Ok(41));
    run_until_stalled();
    assert_eq!(scope.get(m), AsyncResult::success(42));
    assert_eq!(block_on(call), Ok(42));
}

#[test]
fn a_failure_keeps_the_previous_success() {
    let m = mutation(Concurrency::Switch, |ok: bool, _| async move {
        if ok { Ok(0) } else { Err("bad") }
    });
    let scope = AtomScope::new();
    scope.write(m, true);
    scope.write(m, false);
    let r = scope.get(m);
    assert!(r.is_failure());
    assert_eq!(r.value(), Some(&0));
}

#[test]
fn switch_cancels_the_running_call() {
    let server = Pending::<Result<i32, ()>>::new();
    let s = server.clone();
    let m = mutation(Concurrency::Switch, move |_: (), _| s.wait());
    let scope = AtomScope::new();
    let first = scope.write(m, ());
    let second = scope.write(m, ());
    run_until_stalled();
    assert!(server.is_dropped(0), "the first call's future is dropped");
    assert!(scope.get(m).is_waiting());
    server.answer(1, Ok(2));
    run_until_stalled();
    assert_eq!(block_on(first), Err(CallError::Cancelled));
    assert_eq!(block_on(second), Ok(2));
    assert_eq!(scope.get(m), AsyncResult::success(2));
}

#[test]
fn concurrent_calls_all_complete_and_the_atom_waits_for_the_last() {
    let server = Pending::<Result<i32, ()>>::new();
    let s = server.clone();
    let m = mutation(Concurrency::Concurrent, move |_: (), _| s.wait());
    let scope = AtomScope::new();
    let calls: Vec<_> = (0..3).map(|_| scope.write(m, ())).collect();
    for (i, n) in [(1, 10), (0, 20)] {
        server.answer(i, Ok(n));
        run_until_stalled();
        assert!(scope.get(m).is_waiting(), "a call is still running");
    }
    server.answer(2, Ok(30));
    run_until_stalled();
    assert_eq!(scope.get(m), AsyncResult::success(30));
    let outcomes: Vec<_> = calls.into_iter().map(block_on).collect();
    assert_eq!(outcomes, [Ok(20), Ok(10), Ok(30)]);
}

#[test]
fn queued_calls_run_one_at_a_time_in_order() {
    let server = Pending::<Result<(), ()>>::new();
    let log = Log::default();
    let (s, l) = (server.clone(), log.clone());
    let m = mutation(Concurrency::Queue, move |n: u32, _| {
        l.push(format!("start {n}"));
        let answer = s.wait();
        let l = l.clone();
        async move {
            let out = answer.await;
            l.push(format!("end {n}"));
            out
        }
    });
    let scope = AtomScope::new();
    let calls: Vec<_> = (1..=3).map(|n| scope.write(m, n)).collect();
    assert_eq!(server.len(), 1, "only the first call has started");
    for i in 0..3 {
        server.answer(i, Ok(()));
        run_until_stalled();
    }
    insta::assert_snapshot!(log.take(), @r"
    start 1
    end 1
    start 2
    end 2
    start 3
    end 3
    ");
    assert!(calls.into_iter().map(block_on).all(|r| r.is_ok()));
    assert!(!scope.get(m).is_waiting());
}

#[test]
fn a_queued_call_cancelled_before_its_turn_never_starts() {
    let server = Pending::<Result<u32, ()>>::new();
    let s = server.clone();
    let m = mutation(Concurrency::Queue, move |n: u32, _| {
        let answer = s.wait();
        async move { answer.await.map(|_| n) }
    });
    let scope = AtomScope::new();
    let _first = scope.write(m, 1);
    let second = scope.write(m, 2);
    let third = scope.write(m, 3);
    second.cancel();
    server.answer(0, Ok(0));
    run_until_stalled();
    assert_eq!(
        server.len(),
        2,
        "the third call started, the second never did"
    );
    server.answer(1, Ok(0));
    run_until_stalled();
    assert_eq!(block_on(second), Err(CallError::Cancelled));
    assert_eq!(block_on(third), Ok(3));
}

#[test]
fn cancelling_a_call_drops_its_future_and_ends_the_waiting() {
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    let m = mutation(Concurrency::Concurrent, move |_: (), _| {
        let flag = DropFlag(d.clone());
        async move {
            let _flag = flag;
            futures::future::pending::<Result<(), ()>>().await
        }
    });
    let scope = AtomScope::new();
    let call = scope.write(m, ());
    run_until_stalled();
    call.cancel();
    run_until_stalled();
    assert!(dropped.get());
    assert_eq!(scope.get(m), AsyncResult::initial(false));
    assert_eq!(block_on(call), Err(CallError::Cancelled));
}

#[test]
fn disposing_the_scope_cancels_its_calls() {
    let server = Pending::<Result<(), ()>>::new();
    let s = server.clone();
    let m = mutation(Concurrency::Concurrent, move |_: (), _| s.wait());
    let scope = AtomScope::new();
    let call = scope.write(m, ());
    run_until_stalled();
    scope.dispose();
    run_until_stalled();
    assert!(server.is_dropped(0));
    assert_eq!(block_on(call), Err(CallError::Cancelled));
}

#[test]
fn a_mutation_may_call_itself_from_its_future() {
    let scope = AtomScope::new();
    let log = Log::default();
    let l = log.clone();
    let m = Rc::new(Cell::new(None));
    let me = m.clone();
    let count = mutation(Concurrency::Queue, move |n: u32, cx| {
        l.push(format!("run {n}"));
        let me = me.clone();
        async move {
            if n < 3
                && let (Some(scope), Some(m)) = (cx.scope(), me.get())
            {
                drop(scope.write(m, n + 1));
            }
            Ok::<_, ()>(n)
        }
    });
    m.set(Some(count));
    scope.write(count, 1);
    run_until_stalled();
    assert_eq!(log.take(), "run 1\nrun 2\nrun 3");
    assert_eq!(scope.get(count).value(), Some(&3));
}

#[test]
fn a_mutation_that_panics_settles_its_call_and_the_queue_goes_on() {
    let server = Pending::<Result<u32, ()>>::new();
    let s = server.clone();
    let m = mutation(Concurrency::Queue, move |n: u32, _| {
        let answer = s.wait();
        async move {
            let out = answer.await;
            assert!(n != 1, "the first call panics");
            out
        }
    });
    let scope = AtomScope::new();
    let first = scope.write(m, 1);
    let second = scope.write(m, 2);
    server.answer(0, Ok(0));
    let unwound = std::panic::catch_unwind(run_until_stalled);
    assert!(unwound.is_err(), "the panic reaches the executor's caller");
    run_until_stalled();
    assert_eq!(block_on(first), Err(CallError::Panicked));
    assert_eq!(server.len(), 2, "the next queued call started");
    server.answer(1, Ok(2));
    run_until_stalled();
    assert_eq!(block_on(second), Ok(2));
    assert_eq!(scope.get(m), AsyncResult::success(2));
}

#[test]
fn a_mutation_that_panics_at_once_leaves_nothing_running() {
    let m = mutation(Concurrency::Queue, |n: u32, _| async move {
        assert!(n != 1, "panics when first polled");
        Ok::<_, ()>(n)
    });
    let scope = AtomScope::new();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scope.write(m, 1)));
    assert!(unwound.is_err());
    assert!(!scope.get(m).is_waiting());
    assert_eq!(
        block_on(scope.write(m, 2)),
        Ok(2),
        "the queue is not blocked"
    );
}
