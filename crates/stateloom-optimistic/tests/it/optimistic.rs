//! Optimistic atoms and functions: effect-atom's scenarios, the racing example, and what
//! effect-atom gets wrong (stranded transitions, no per-call rollback, hidden authoritative
//! changes).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::executor::block_on;
use stateloom_atom::{AtomScope, atom};
use stateloom_optimistic::{
    AsyncResult, CallError, Concurrency, Mutation, Optimistic, OptimisticFn, OptimisticFnBuilder,
    Query, QueryAction, mutation, optimistic, optimistic_fn, optimistic_value, query,
    run_until_stalled,
};

use crate::{Log, Pending};

/// A server holding one number, a query that reads it (counting fetches) and whose
/// responses can be held back.
struct Server {
    value: Rc<Cell<i64>>,
    fetches: Rc<Cell<u32>>,
    /// When set, fetches wait for an answer through `held`.
    hold: Rc<Cell<bool>>,
    held: Rc<Pending<()>>,
    query: Query<i64, String>,
}

impl Server {
    fn new(value: i64) -> Self {
        let value = Rc::new(Cell::new(value));
        let fetches = Rc::new(Cell::new(0));
        let hold = Rc::new(Cell::new(false));
        let held = Pending::new();
        let query = {
            let (value, fetches, hold, held) =
                (value.clone(), fetches.clone(), hold.clone(), held.clone());
            query(move |_| {
                fetches.set(fetches.get() + 1);
                let gate = hold.get().then(|| held.wait());
                let value = value.clone();
                async move {
                    if let Some(gate) = gate {
                        gate.await;
                    }
                    Ok(value.get())
                }
            })
        };
        Self {
            value,
            fetches,
            hold,
            held,
            query,
        }
    }

    /// A mutation that adds its argument on the server once its answer is given.
    fn add(&self, concurrency: Concurrency) -> (Mutation<i64, (), String>, Rc<Pending<bool>>) {
        let answers = Pending::<bool>::new();
        let (value, a) = (self.value.clone(), answers.clone());
        let m = mutation(concurrency, move |n: i64, _| {
            let (value, answer) = (value.clone(), a.wait());
            async move {
                if answer.await {
                    value.set(value.get() + n);
                    Ok(())
                } else {
                    Err("rejected".to_string())
                }
            }
        });
        (m, answers)
    }
}

fn add_fn(
    shown: Optimistic<AsyncResult<i64, String>>,
    m: Mutation<i64, (), String>,
) -> OptimisticFn<i64, (), String> {
    optimistic_fn(shown, |r, n: &i64| r.clone().map(|v| v + n), m)
}

fn value(r: &AsyncResult<i64, String>) -> Option<i64> {
    r.value().copied()
}

#[test]
fn a_plain_value_is_shown_updated_then_replaced_by_the_refreshed_truth() {
    // effect-atom's "non-Result" case.
    let server = Rc::new(Cell::new(0));
    let version = atom(0);
    let truth = {
        let server = server.clone();
        stateloom_atom::derived(move |get| {
            get.get(version);
            server.get()
        })
    };
    let shown = optimistic_value(truth, move |scope| scope.update(version, |v| *v += 1));
    let answers = Pending::<()>::new();
    let (s, a) = (server.clone(), answers.clone());
    let set = mutation(Concurrency::Switch, move |n: i32, _| {
        let (s, answer) = (s.clone(), a.wait());
        async move {
            answer.await;
            s.set(n + 1); // the server stores something else than asked
            Ok::<_, ()>(())
        }
    });
    let set = optimistic_fn(shown, |_, n: &i32| *n, set);
    let scope = AtomScope::new();
    scope.write(set, 1);
    assert_eq!((scope.get(truth), scope.get(shown)), (0, 1));
    answers.answer(0, ());
    run_until_stalled();
    assert_eq!((scope.get(truth), scope.get(shown)), (2, 2));
}

#[test]
fn a_result_value_is_waiting_while_in_flight_then_both_show_the_server() {
    // effect-atom's "Result" case.
    let server = Server::new(0);
    let (m, answers) = server.add(Concurrency::Switch);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    scope.write(add, 1);
    assert_eq!(scope.get(server.query), AsyncResult::success(0));
    assert_eq!(scope.get(shown), AsyncResult::success(1).with_waiting(true));
    server.value.set(1); // the server also sees another write
    answers.answer(0, true);
    run_until_stalled();
    assert_eq!(scope.get(server.query), AsyncResult::success(2));
    assert_eq!(scope.get(shown), AsyncResult::success(2));
}

#[test]
fn a_failure_rolls_back_without_refetching() {
    // effect-atom's "failures" case.
    let server = Server::new(0);
    let (m, answers) = server.add(Concurrency::Switch);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    let call = scope.write(add, 1);
    assert_eq!(value(&scope.get(shown)), Some(1));
    answers.answer(0, false);
    run_until_stalled();
    assert_eq!(scope.get(shown), AsyncResult::success(0));
    assert_eq!(server.fetches.get(), 1, "the query was built exactly once");
    assert!(scope.get(add).is_failure());
    assert_eq!(block_on(call), Err(CallError::Failed("rejected".into())));
}

#[test]
fn a_synchronous_mutation_settles_inside_the_call() {
    // effect-atom's "sync fn" case.
    let server = Server::new(0);
    let value_cell = server.value.clone();
    let m = mutation(Concurrency::Switch, move |n: i64, _| {
        value_cell.set(n);
        async { Ok::<_, String>(()) }
    });
    let shown = optimistic(server.query);
    let set = optimistic_fn(shown, |r, n: &i64| r.clone().map(|_| *n), m);
    let scope = AtomScope::new();
    scope.get(shown);
    scope.write(set, 2);
    assert_eq!(scope.get(server.query), AsyncResult::success(2));
    assert_eq!(scope.get(shown), AsyncResult::success(2));
}

#[test]
fn an_intermediate_value_replaces_the_reducers_while_the_call_runs() {
    // effect-atom's "intermediate updates" case.
    let server = Server::new(0);
    let answers = Pending::<()>::new();
    let (v, a) = (server.value.clone(), answers.clone());
    let m = mutation(Concurrency::Switch, move |n: i64, cx| {
        cx.set_optimistic(AsyncResult::<i64, String>::success(123));
        let (v, answer) = (v.clone(), a.wait());
        async move {
            answer.await;
            v.set(n);
            Ok::<_, String>(())
        }
    });
    let shown = optimistic(server.query);
    let set = optimistic_fn(shown, |r, n: &i64| r.clone().map(|_| *n), m);
    let scope = AtomScope::new();
    scope.write(set, 1);
    assert_eq!(
        scope.get(shown),
        AsyncResult::success(123).with_waiting(true)
    );
    server.value.set(1);
    answers.answer(0, ());
    run_until_stalled();
    assert_eq!(scope.get(shown), AsyncResult::success(1));
    assert_eq!(scope.get(server.query), AsyncResult::success(1));
}

#[test]
fn racing_calls_never_flicker_back_to_a_stale_value() {
    // The seed's race: A ("block") then B ("approve"), A's response first.
    let server = Rc::new(RefCell::new("allow".to_string()));
    let fetch_answers = Pending::<()>::new();
    let policy = {
        let (server, answers) = (server.clone(), fetch_answers.clone());
        query(move |_| {
            let server = server.clone();
            let answer = answers.wait();
            async move {
                answer.await;
                Ok::<_, ()>(server.borrow().clone())
            }
        })
    };
    let answers = Pending::<()>::new();
    let update = {
        let (server, answers) = (server.clone(), answers.clone());
        mutation(Concurrency::Concurrent, move |action: String, _| {
            let (server, answer) = (server.clone(), answers.wait());
            async move {
                answer.await;
                *server.borrow_mut() = action;
                Ok::<_, ()>(())
            }
        })
    };
    let shown = optimistic(policy);
    let update = optimistic_fn(
        shown,
        |r, action: &String| r.clone().map(|_| action.clone()),
        update,
    );
    let scope = AtomScope::new();
    let log = Log::default();
    let l = log.clone();
    let _sub = scope.sub(shown, move |r| l.push(format!("{r:?}")));
    fetch_answers.answer(0, ());
    run_until_stalled();
    scope.write(update, "block".to_string());
    scope.write(update, "approve".to_string());
    answers.answer(0, ()); // A's response first
    run_until_stalled();
    answers.answer(1, ());
    run_until_stalled();
    fetch_answers.answer(1, ()); // the one refresh after both settled
    run_until_stalled();
    assert_eq!(fetch_answers.len(), 2, "one refresh for both calls");
    insta::assert_snapshot!(log.take(), @r#"
    Success("allow")
    Success("block", waiting)
    Success("approve", waiting)
    Success("approve")
    "#);
}

#[test]
fn a_cancelled_call_rolls_its_transition_back() {
    // effect-atom strands the optimistic value here (its scenario D).
    let server = Server::new(10);
    let (m, _answers) = server.add(Concurrency::Concurrent);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    let call = scope.write(add, 5);
    assert_eq!(value(&scope.get(shown)), Some(15));
    call.cancel();
    assert_eq!(scope.get(shown), AsyncResult::success(10));
    server.value.set(7);
    scope.write(server.query, QueryAction::Refresh);
    assert_eq!(
        scope.get(shown),
        AsyncResult::success(7),
        "authoritative updates show again"
    );
    assert_eq!(block_on(call), Err(CallError::Cancelled));
}

#[test]
fn a_call_switched_away_rolls_back_and_the_newer_one_stays() {
    let server = Server::new(0);
    let (m, answers) = server.add(Concurrency::Switch);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    scope.write(add, 1);
    scope.write(add, 10); // cancels the first call
    assert_eq!(
        value(&scope.get(shown)),
        Some(10),
        "only the live call's effect"
    );
    answers.answer(1, true);
    run_until_stalled();
    assert_eq!(scope.get(shown), AsyncResult::success(10));
    assert_eq!(server.value.get(), 10);
}

#[test]
fn a_transition_whose_scope_is_dropped_does_not_outlive_it() {
    let server = Server::new(0);
    let (m, answers) = server.add(Concurrency::Concurrent);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    let call = scope.write(add, 1);
    drop(scope);
    run_until_stalled();
    assert!(answers.is_dropped(0));
    assert_eq!(block_on(call), Err(CallError::Cancelled));
}

#[test]
fn a_failed_call_is_removed_and_the_others_stay_stacked() {
    let server = Server::new(0);
    let (m, answers) = server.add(Concurrency::Concurrent);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    for n in [1, 10, 100] {
        scope.write(add, n);
    }
    assert_eq!(value(&scope.get(shown)), Some(111));
    answers.answer(1, false);
    run_until_stalled();
    assert_eq!(value(&scope.get(shown)), Some(101));
    assert!(scope.get(shown).is_waiting());
    answers.answer(0, true);
    answers.answer(2, true);
    run_until_stalled();
    assert_eq!(scope.get(shown), AsyncResult::success(101));
    assert_eq!(server.fetches.get(), 2, "one refresh after all settled");
}

#[test]
fn an_authoritative_change_mid_flight_is_shown_with_the_calls_on_top() {
    let server = Server::new(0);
    let (m, answers) = server.add(Concurrency::Concurrent);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    scope.write(add, 1);
    scope.write(add, 2);
    server.value.set(100); // someone else wrote
    scope.write(server.query, QueryAction::Refresh);
    assert_eq!(
        scope.get(shown),
        AsyncResult::success(103).with_waiting(true)
    );
    answers.answer(0, true);
    answers.answer(1, true);
    run_until_stalled();
    assert_eq!(scope.get(shown), AsyncResult::success(103));
}

#[test]
fn a_refetch_that_started_before_a_call_succeeded_does_not_drop_its_effect() {
    let server = Server::new(0);
    let (m, answers) = server.add(Concurrency::Concurrent);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    let log = Log::default();
    let l = log.clone();
    let _sub = scope.sub(shown, move |r| l.push(format!("{r:?}")));
    server.hold.set(true);
    scope.write(add, 5);
    scope.write(server.query, QueryAction::Refresh); // reads the server before the write lands
    answers.answer(0, true); // the server now has 5; a refresh (fetch 3) starts
    run_until_stalled();
    server.held.answer(0, ()); // the old refetch answers with 5 read late… but it started early
    run_until_stalled();
    server.held.answer(1, ());
    run_until_stalled();
    insta::assert_snapshot!(log.take(), @r"
    Success(5, waiting)
    Success(5)
    ");
}

#[test]
fn calls_of_the_same_function_stack_and_all_complete() {
    // effect-atom's scenario G (with `Concurrency::Concurrent`).
    let server = Rc::new(RefCell::new(vec![1]));
    let list = {
        let server = server.clone();
        query(move |_| {
            let rows = server.borrow().clone();
            async move { Ok::<_, ()>(rows) }
        })
    };
    let answers = Pending::<()>::new();
    let push = {
        let (server, answers) = (server.clone(), answers.clone());
        mutation(Concurrency::Concurrent, move |n: i32, _| {
            let (server, answer) = (server.clone(), answers.wait());
            async move {
                answer.await;
                server.borrow_mut().push(n);
                Ok::<_, ()>(())
            }
        })
    };
    let shown = optimistic(list);
    let push = optimistic_fn(
        shown,
        |r, n: &i32| {
            r.clone().map(|mut rows| {
                rows.push(*n);
                rows
            })
        },
        push,
    );
    let scope = AtomScope::new();
    scope.write(push, 2);
    scope.write(push, 3);
    assert_eq!(scope.get(shown).value(), Some(&vec![1, 2, 3]));
    answers.answer(0, ());
    run_until_stalled();
    assert_eq!(scope.get(shown).value(), Some(&vec![1, 2, 3]));
    answers.answer(1, ());
    run_until_stalled();
    assert_eq!(scope.get(shown), AsyncResult::success(vec![1, 2, 3]));
}

#[test]
fn the_response_can_be_written_into_the_query_instead_of_refetching() {
    let server = Server::new(0);
    let answers = Pending::<i64>::new();
    let a = answers.clone();
    let m = mutation(Concurrency::Concurrent, move |_: i64, _| {
        let answer = a.wait();
        async move { Ok::<_, String>(answer.await) }
    });
    let shown = optimistic(server.query);
    let add = OptimisticFnBuilder::new(shown, |r, n: &i64| r.clone().map(|v| v + n), m)
        .apply_response(|_, _, total: &i64| AsyncResult::success(*total))
        .build();
    let scope = AtomScope::new();
    scope.write(add, 1);
    scope.write(add, 2);
    assert_eq!(value(&scope.get(shown)), Some(3));
    answers.answer(0, 1);
    run_until_stalled();
    assert_eq!(scope.get(shown), AsyncResult::success(3).with_waiting(true));
    answers.answer(1, 3);
    run_until_stalled();
    assert_eq!(scope.get(shown), AsyncResult::success(3));
    assert_eq!(scope.get(server.query), AsyncResult::success(3));
    assert_eq!(server.fetches.get(), 1);
}

#[test]
fn the_optimistic_function_mirrors_its_mutation() {
    let server = Server::new(0);
    let (m, answers) = server.add(Concurrency::Concurrent);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    scope.write(add, 1);
    assert_eq!(scope.get(add), AsyncResult::initial(true));
    answers.answer(0, true);
    run_until_stalled();
    assert_eq!(scope.get(add), AsyncResult::success(()));
    assert_eq!(scope.get(add), scope.get(m));
}

#[test]
#[should_panic(expected = "is not an optimistic atom")]
fn an_atom_not_made_optimistic_is_refused_with_a_clear_message() {
    let plain = stateloom_atom::writable_atom(
        |_| AsyncResult::<i64, String>::initial(false),
        |_, _: stateloom_optimistic::OptimisticAction| {},
    );
    let (m, _) = Server::new(0).add(Concurrency::Switch);
    add_fn(plain, m);
}

#[test]
fn a_panicking_reducer_leaves_no_transition_behind() {
    let server = Server::new(0);
    let (m, _answers) = server.add(Concurrency::Concurrent);
    let shown = optimistic(server.query);
    let add = optimistic_fn(
        shown,
        |r, n: &i64| {
            assert!(*n >= 0, "negative");
            r.clone().map(|v| v + n)
        },
        m,
    );
    let scope = AtomScope::new();
    scope.get(shown);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scope.write(add, -1)));
    assert!(result.is_err());
    assert_eq!(scope.get(shown), AsyncResult::success(0));
    scope.write(add, 2);
    assert_eq!(value(&scope.get(shown)), Some(2));
}

#[test]
fn a_refetch_in_progress_is_not_shown_and_its_result_is() {
    let server = Server::new(1);
    let shown = optimistic(server.query);
    let scope = AtomScope::new();
    let log = Log::default();
    let l = log.clone();
    let _sub = scope.sub(shown, move |r| l.push(format!("{r:?}")));
    server.hold.set(true);
    server.value.set(2);
    scope.write(server.query, QueryAction::Refresh);
    assert!(scope.get(server.query).is_waiting());
    assert_eq!(
        scope.get(shown),
        AsyncResult::success(1),
        "no spinner, no flicker"
    );
    server.held.answer(0, ());
    run_until_stalled();
    assert_eq!(log.take(), "Success(2)");
}

#[test]
fn a_panicking_mutation_rolls_its_transition_back() {
    let server = Server::new(0);
    let m = mutation(Concurrency::Concurrent, |n: i64, _| async move {
        assert!(n < 100, "too big");
        Ok::<_, String>(())
    });
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    scope.get(shown);
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scope.write(add, 500)));
    assert!(unwound.is_err());
    assert_eq!(scope.get(shown), AsyncResult::success(0));
    assert_eq!(server.fetches.get(), 1);
}

#[test]
fn a_subscriber_may_call_the_optimistic_function_again() {
    let server = Server::new(0);
    let (m, answers) = server.add(Concurrency::Queue);
    let shown = optimistic(server.query);
    let add = add_fn(shown, m);
    let scope = AtomScope::new();
    let again = Rc::new(Cell::new(true));
    let (s, a) = (scope.clone(), again.clone());
    let _sub = scope.sub(shown, move |r| {
        // The first optimistic value triggers one more call, from inside the notification.
        if r.is_waiting() && a.replace(false) {
            drop(s.write(add, 10));
        }
    });
    scope.write(add, 1);
    assert_eq!(value(&scope.get(shown)), Some(11));
    answers.answer(0, true);
    run_until_stalled();
    answers.answer(1, true);
    run_until_stalled();
    assert_eq!(scope.get(shown), AsyncResult::success(11));
    assert_eq!(server.value.get(), 11);
}
