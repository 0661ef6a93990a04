//! Optimistic-update benches: 10,000 updates through an optimistic function whose mutation
//! resolves at once; n updates stacked in flight, then settled (1k and 10k, to show the cost
//! is linear in n); and query refresh cycles. effect-atom runs the same workloads in
//! `benches/js/peers/optimistic.mjs`.

use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::process::ExitCode;
use std::rc::Rc;
use std::task::Poll;

use criterion::{BatchSize, Criterion};
use futures::FutureExt;
use futures::channel::oneshot;
use stateloom_atom::AtomScope;
use stateloom_optimistic::{
    AsyncResult, Concurrency, Mutation, Optimistic, OptimisticFn, Query, QueryAction, mutation,
    optimistic, optimistic_fn, query, run_until_stalled,
};

const UPDATES: u64 = 10_000;
const REFRESHES: u64 = 1_000;

type Shown = Optimistic<AsyncResult<u64, ()>>;

/// A server counter, a query reading it at once, and its optimistic atom.
fn counter() -> (Rc<Cell<u64>>, Query<u64, ()>, Shown) {
    let server = Rc::new(Cell::new(0_u64));
    let s = server.clone();
    let count = query(move |_| {
        let value = s.get();
        async move { Ok::<_, ()>(value) }
    });
    (server, count, optimistic(count))
}

fn add_fn(shown: Shown, m: Mutation<u64, (), ()>) -> OptimisticFn<u64, (), ()> {
    optimistic_fn(shown, |r, n: &u64| r.clone().map(|v| v + n), m)
}

/// 10,000 optimistic updates; each mutation resolves at once, so each call settles, refreshes
/// the query and shows the server's value before the next (effect-atom 0.5.3: 194 ms).
fn updates_10k(c: &mut Criterion) {
    let mut group = c.benchmark_group("optimistic_updates_10k");
    let (server, _count, shown) = counter();
    let s = server.clone();
    let add = add_fn(
        shown,
        mutation(Concurrency::Switch, move |n: u64, _| {
            s.set(s.get() + n);
            async { Ok::<_, ()>(()) }
        }),
    );
    let scope = AtomScope::new();
    let notified = Rc::new(Cell::new(0_u64));
    let seen = notified.clone();
    let _sub = scope.sub(shown, move |_| seen.set(seen.get() + 1));
    let run = |scope: &AtomScope| {
        for _ in 0..UPDATES {
            drop(scope.write(add, black_box(1)));
        }
    };
    run(&scope);
    assert_eq!(scope.get(shown), AsyncResult::success(UPDATES));
    assert!(notified.get() >= UPDATES, "the subscriber saw every update");
    group.bench_function("stateloom", |b| b.iter(|| run(&scope)));
    group.finish();
}

/// `n` optimistic updates stacked in flight (each mutation waits for one shared answer),
/// then the answer, and everything settling into one refresh.
fn stacked(c: &mut Criterion, name: &str, n: u64) {
    let mut group = c.benchmark_group(name);
    let (server, _count, shown) = counter();
    let gate: Rc<Cell<Option<futures::future::Shared<oneshot::Receiver<()>>>>> =
        Rc::new(Cell::new(None));
    let (s, g) = (server.clone(), gate.clone());
    let add = add_fn(
        shown,
        mutation(Concurrency::Concurrent, move |k: u64, _| {
            let s = s.clone();
            let answer = g.take().expect("a gate is set");
            g.set(Some(answer.clone()));
            async move {
                let _ = answer.await;
                s.set(s.get() + k);
                Ok::<_, ()>(())
            }
        }),
    );
    let setup = || {
        let (tx, rx) = oneshot::channel::<()>();
        gate.set(Some(rx.shared()));
        let scope = AtomScope::new();
        let sub = scope.sub(shown, |_| {});
        (scope, sub, tx)
    };
    let run = |(scope, sub, tx): (AtomScope, stateloom_core::Subscription, oneshot::Sender<()>)| {
        for _ in 0..n {
            drop(scope.write(add, black_box(1)));
        }
        assert!(scope.get(shown).is_waiting());
        let _ = tx.send(());
        run_until_stalled();
        (scope, sub)
    };
    let before = server.get();
    let (scope, _sub) = run(setup());
    assert_eq!(server.get() - before, n);
    assert_eq!(scope.get(shown), AsyncResult::success(server.get()));
    group.bench_function("stateloom", |b| {
        b.iter_batched(setup, run, BatchSize::PerIteration)
    });
    group.finish();
}

/// A pretend network round trip: pending when first polled, ready when polled again.
fn network() -> impl Future<Output = ()> {
    let mut sent = false;
    std::future::poll_fn(move |cx| {
        if sent {
            Poll::Ready(())
        } else {
            sent = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

/// 1,000 refresh cycles of a subscribed query whose fetch takes one round trip: refresh,
/// the value shown waiting, the executor runs, the new value shown.
fn query_refresh_1k(c: &mut Criterion) {
    let mut group = c.benchmark_group("optimistic_query_refresh_1k");
    let server = Rc::new(Cell::new(0_u64));
    let s = server.clone();
    let count = query(move |_| {
        s.set(s.get() + 1);
        let value = s.get();
        async move {
            network().await;
            Ok::<_, ()>(value)
        }
    });
    let scope = AtomScope::new();
    let notified = Rc::new(Cell::new(0_u64));
    let seen = notified.clone();
    let _sub = scope.sub(count, move |_| seen.set(seen.get() + 1));
    run_until_stalled();
    let run = |scope: &AtomScope| {
        for _ in 0..REFRESHES {
            scope.write(count, QueryAction::Refresh);
            run_until_stalled();
        }
    };
    let before = notified.get();
    run(&scope);
    assert_eq!(
        notified.get() - before,
        2 * REFRESHES,
        "waiting, then the value"
    );
    assert_eq!(scope.get(count), AsyncResult::success(server.get()));
    group.bench_function("stateloom", |b| b.iter(|| run(&scope)));
    group.finish();
}

fn benches(c: &mut Criterion) {
    updates_10k(c);
    stacked(c, "optimistic_stack_1k", 1_000);
    stacked(c, "optimistic_stack_10k", 10_000);
    query_refresh_1k(c);
}

fn main() -> ExitCode {
    stateloom_benches::harness::main(&[], benches)
}
