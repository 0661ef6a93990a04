//! The tokio integration: futures on a `LocalSet`, idle timers on tokio's paused clock.

use std::time::Duration;

use stateloom_atom::AtomScope;
use stateloom_optimistic::{
    AsyncResult, Concurrency, QueryBuilder, TokioClock, TokioSpawner, mutation, optimistic,
    optimistic_fn, set_clock, set_spawner,
};
use tokio::task::LocalSet;

fn local_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

#[test]
fn queries_and_optimistic_calls_run_on_a_local_set() {
    local_runtime().block_on(LocalSet::new().run_until(async {
        set_spawner(TokioSpawner);
        set_clock(TokioClock::new());
        let server = std::rc::Rc::new(std::cell::Cell::new(1));
        let q = {
            let server = server.clone();
            QueryBuilder::new(move |_| {
                let server = server.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok::<_, ()>(server.get())
                }
            })
            .build()
        };
        let double = {
            let server = server.clone();
            mutation(Concurrency::Queue, move |_: (), _| {
                let server = server.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    server.set(server.get() * 2);
                    Ok::<_, ()>(())
                }
            })
        };
        let shown = optimistic(q);
        let double = optimistic_fn(shown, |r, _: &()| r.clone().map(|v| v * 2), double);
        let scope = AtomScope::new();
        // Subscribed, so the refresh after the call starts at once rather than at the next read.
        let _sub = scope.sub(shown, |_| {});
        assert_eq!(scope.get(shown), AsyncResult::initial(true));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(scope.get(shown), AsyncResult::success(1));
        let call = scope.write(double, ());
        assert_eq!(scope.get(shown).value(), Some(&2));
        call.await.expect("the call succeeds");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(scope.get(shown), AsyncResult::success(2));
    }));
}

#[test]
fn an_idle_query_expires_on_tokios_clock() {
    local_runtime().block_on(LocalSet::new().run_until(async {
        set_spawner(TokioSpawner);
        set_clock(TokioClock::new());
        let fetches = std::rc::Rc::new(std::cell::Cell::new(0));
        let f = fetches.clone();
        let q = QueryBuilder::new(move |_| {
            f.set(f.get() + 1);
            async { Ok::<_, ()>(()) }
        })
        .time_to_live(Duration::from_secs(30))
        .build();
        let scope = AtomScope::new();
        scope.get(q);
        tokio::time::sleep(Duration::from_secs(29)).await;
        scope.get(q);
        assert_eq!(fetches.get(), 1);
        tokio::time::sleep(Duration::from_secs(2)).await;
        scope.get(q);
        assert_eq!(fetches.get(), 2);
    }));
}
