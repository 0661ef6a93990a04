//! The optimistic atom against a server model: random calls, answers, failures,
//! cancellations, panicking reducers and futures, calls made from inside a subscriber and
//! outside writes, in random order. The shown value never loses the effect
//! of a call that succeeded (no flicker back to a stale value), no value shown is older than
//! one shown before it, and once everything settles the shown value is the server's.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use proptest::prelude::*;
use stateloom_atom::AtomScope;
use stateloom_optimistic::{
    AsyncResult, Call, Concurrency, QueryAction, Stamp, mutation, optimistic, optimistic_fn, query,
    run_until_stalled,
};

use crate::{Pending, cases};

#[derive(Debug, Clone)]
enum Op {
    /// Add `n` optimistically.
    Call(i64),
    /// Answer a pending mutation: applied on the server, rejected, or the future panics.
    Answer { pick: usize, answer: Answer },
    /// A call whose reducer panics: nothing may change.
    PanickingReducer(i64),
    /// The next notification of the optimistic atom makes a call from inside the subscriber.
    CallFromSubscriber(i64),
    /// Cancel a call.
    Cancel(usize),
    /// Answer a pending fetch.
    Fetch(usize),
    /// Someone else adds `n` on the server; the query is refreshed.
    Outside(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1..100_i64).prop_map(Op::Call),
        3 => (any::<usize>(), answer()).prop_map(|(pick, answer)| Op::Answer { pick, answer }),
        1 => (1..100_i64).prop_map(Op::PanickingReducer),
        1 => (1..100_i64).prop_map(Op::CallFromSubscriber),
        1 => any::<usize>().prop_map(Op::Cancel),
        3 => any::<usize>().prop_map(Op::Fetch),
        1 => (1..1000_i64).prop_map(Op::Outside),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Applied,
    Rejected,
    Panics,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![6 => Just(Answer::Applied), 3 => Just(Answer::Rejected), 1 => Just(Answer::Panics)]
}

/// Runs the executor; a mutation future that panics unwinds out of it, and the model goes on.
fn drive() {
    while std::panic::catch_unwind(run_until_stalled).is_err() {}
}

fn policy() -> impl Strategy<Value = Concurrency> {
    prop_oneof![
        Just(Concurrency::Concurrent),
        Just(Concurrency::Switch),
        Just(Concurrency::Queue),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn once_settled_the_shown_value_is_the_servers_and_never_went_back(
        concurrency in policy(),
        ops in prop::collection::vec(op(), 0..40),
    ) {
        let server = Rc::new(Cell::new(0_i64));
        let fetches = Pending::<()>::new();
        let list = {
            let (server, fetches) = (server.clone(), fetches.clone());
            query(move |_| {
                // The server reads its state when the request starts; the answer may come
                // much later, after other writes.
                let (value, answer) = (server.get(), fetches.wait());
                async move {
                    answer.await;
                    Ok::<_, ()>(value)
                }
            })
        };
        let answers = Pending::<Answer>::new();
        // What the calls that succeeded added: the shown value never drops below it.
        let confirmed = Rc::new(Cell::new(0_i64));
        let add = {
            let (server, answers, confirmed) = (server.clone(), answers.clone(), confirmed.clone());
            mutation(concurrency, move |(n, _): (i64, bool), _| {
                let (server, answer, confirmed) = (server.clone(), answers.wait(), confirmed.clone());
                async move {
                    match answer.await {
                        Answer::Applied => {
                            server.set(server.get() + n);
                            confirmed.set(confirmed.get() + n);
                            Ok(())
                        }
                        Answer::Rejected => Err(()),
                        Answer::Panics => panic!("the mutation's future panics"),
                    }
                }
            })
        };
        let shown = optimistic(list);
        let add = optimistic_fn(
            shown,
            |r, (n, panics): &(i64, bool)| {
                assert!(!panics, "the reducer panics");
                r.clone().map(|v| v + n)
            },
            add,
        );

        let scope = AtomScope::new();
        let newest = Rc::new(Cell::new(Stamp::ZERO));
        let went_back = Rc::new(RefCell::new(None));
        let from_subscriber = Rc::new(Cell::new(None::<i64>));
        let _sub = {
            let (newest, went_back) = (newest.clone(), went_back.clone());
            let (s, pending_call) = (scope.clone(), from_subscriber.clone());
            scope.sub(shown, move |r: &AsyncResult<i64, ()>| {
                if let Some(n) = pending_call.take() {
                    drop(s.write(add, (n, false)));
                }
                if let Some(stamp) = r.stamp() {
                    if stamp < newest.get() {
                        *went_back.borrow_mut() = Some(format!("{r:?} at {stamp:?} after {:?}", newest.get()));
                    }
                    newest.set(newest.get().max(stamp));
                }
            })
        };
        let mut calls: Vec<Call<(), ()>> = Vec::new();
        for op in ops {
            match op {
                Op::Call(n) => calls.push(scope.write(add, (n, false))),
                Op::Answer { pick, answer } => {
                    if answers.len() > 0 {
                        answers.answer(pick % answers.len(), answer);
                    }
                }
                Op::PanickingReducer(n) => {
                    let before = scope.get(shown);
                    let write = std::panic::AssertUnwindSafe(|| scope.write(add, (n, true)));
                    prop_assert!(std::panic::catch_unwind(write).is_err());
                    prop_assert_eq!(scope.get(shown), before);
                }
                Op::CallFromSubscriber(n) => from_subscriber.set(Some(n)),
                Op::Cancel(pick) => {
                    if !calls.is_empty() {
                        calls[pick % calls.len()].cancel();
                    }
                }
                Op::Fetch(pick) => {
                    if fetches.len() > 0 {
                        fetches.answer(pick % fetches.len(), ());
                    }
                }
                Op::Outside(n) => {
                    server.set(server.get() + n);
                    scope.write(list, QueryAction::Refresh);
                }
            }
            drive();
            if let Some(&shown_value) = scope.get(shown).value() {
                prop_assert!(
                    shown_value >= confirmed.get(),
                    "flicker: shows {} after calls adding {} succeeded", shown_value, confirmed.get()
                );
            }
        }
        // Quiet the network: answer everything until nothing new is asked.
        let (mut answered_calls, mut answered_fetches) = (0, 0);
        while answered_calls < answers.len() || answered_fetches < fetches.len() {
            while answered_calls < answers.len() {
                answers.answer(answered_calls, Answer::Applied);
                answered_calls += 1;
                drive();
            }
            while answered_fetches < fetches.len() {
                fetches.answer(answered_fetches, ());
                answered_fetches += 1;
                drive();
            }
        }
        prop_assert_eq!(went_back.borrow().clone(), None);
        prop_assert_eq!(scope.get(shown), AsyncResult::success(server.get()));
        prop_assert!(!scope.get(add).is_waiting());
    }
}
