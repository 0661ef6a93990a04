//! The optimistic atom against a server model: random calls, answers, failures,
//! cancellations and outside writes, in random order. The shown value never loses the effect
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
    /// Answer a pending mutation: applied on the server, or rejected.
    Answer { pick: usize, ok: bool },
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
        3 => (any::<usize>(), prop::bool::weighted(0.7)).prop_map(|(pick, ok)| Op::Answer { pick, ok }),
        1 => any::<usize>().prop_map(Op::Cancel),
        3 => any::<usize>().prop_map(Op::Fetch),
        1 => (1..1000_i64).prop_map(Op::Outside),
    ]
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
        let answers = Pending::<bool>::new();
        // What the calls that succeeded added: the shown value never drops below it.
        let confirmed = Rc::new(Cell::new(0_i64));
        let add = {
            let (server, answers, confirmed) = (server.clone(), answers.clone(), confirmed.clone());
            mutation(concurrency, move |n: i64, _| {
                let (server, answer, confirmed) = (server.clone(), answers.wait(), confirmed.clone());
                async move {
                    if answer.await {
                        server.set(server.get() + n);
                        confirmed.set(confirmed.get() + n);
                        Ok(())
                    } else {
                        Err(())
                    }
                }
            })
        };
        let shown = optimistic(list);
        let add = optimistic_fn(shown, |r, n: &i64| r.clone().map(|v| v + n), add);

        let scope = AtomScope::new();
        let newest = Rc::new(Cell::new(Stamp::ZERO));
        let went_back = Rc::new(RefCell::new(None));
        let _sub = {
            let (newest, went_back) = (newest.clone(), went_back.clone());
            scope.sub(shown, move |r: &AsyncResult<i64, ()>| {
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
                Op::Call(n) => calls.push(scope.write(add, n)),
                Op::Answer { pick, ok } => {
                    if answers.len() > 0 {
                        answers.answer(pick % answers.len(), ok);
                    }
                }
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
            run_until_stalled();
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
                answers.answer(answered_calls, true);
                answered_calls += 1;
                run_until_stalled();
            }
            while answered_fetches < fetches.len() {
                fetches.answer(answered_fetches, ());
                answered_fetches += 1;
                run_until_stalled();
            }
        }
        prop_assert_eq!(went_back.borrow().clone(), None);
        prop_assert_eq!(scope.get(shown), AsyncResult::success(server.get()));
        prop_assert!(!scope.get(add).is_waiting());
    }
}
