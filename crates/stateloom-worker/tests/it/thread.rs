//! The host on a thread of its own: blocking and async clients.

use serde_json::json;
use stateloom_store::Store;
use stateloom_worker::{Error, SyncMode, WorkerApp, WorkerClient, spawn_worker};

use crate::{Counter, counter_module};

fn spawn() -> (WorkerClient, stateloom_worker::WorkerThread) {
    let (transport, thread) = spawn_worker(|transport| {
        WorkerApp::builder()
            .sync(SyncMode::Patch)
            .module(counter_module(Store::new(Counter::default())))
            .build(transport)
    })
    .unwrap();
    (WorkerClient::new(transport), thread)
}

#[test]
fn blocking_calls_see_their_writes() {
    let (client, thread) = spawn();
    for n in 1..=20 {
        assert_eq!(
            client.call_blocking("counter", "increase", 1).unwrap(),
            json!(n)
        );
        assert_eq!(client.get_state()["counter"]["count"], n);
    }
    client.dispose();
    thread.join().unwrap();
}

#[test]
fn calls_are_futures_on_any_executor() {
    let (client, thread) = spawn();
    futures::executor::block_on(async {
        client.ready().await.unwrap();
        let a = client.call("counter", "increase", 2);
        let b = client.call("counter", "increase", 3);
        let (a, b) = futures::future::join(a, b).await;
        assert_eq!((a.unwrap(), b.unwrap()), (json!(2), json!(5)));
        let error = client.call("counter", "fail_after_increase", ()).await;
        assert!(matches!(error, Err(Error::Remote(e)) if e.code == "failed"));
    });
    assert_eq!(client.get_state()["counter"]["count"], 6);
    client.dispose();
    thread.join().unwrap();
}

#[test]
fn the_host_survives_panicking_methods() {
    let (client, thread) = spawn();
    for _ in 0..3 {
        let result = client.call_blocking("counter", "panic_after_increase", ());
        assert!(matches!(result, Err(Error::Remote(e)) if e.code == "panicked"));
    }
    assert_eq!(
        client.call_blocking("counter", "increase", 1).unwrap(),
        json!(1)
    );
    client.dispose();
    thread.join().unwrap();
    assert!(matches!(
        client.call_blocking("counter", "increase", 1),
        Err(Error::Disposed)
    ));
}

#[test]
fn a_host_that_fails_to_start_fails_calls_instead_of_hanging() {
    let (transport, thread) = spawn_worker(|_transport| -> WorkerApp {
        panic!("the host could not open its database");
    })
    .unwrap();
    let client = WorkerClient::new(transport);
    let result = client.call_blocking("counter", "increase", 1);
    assert!(matches!(result, Err(Error::Transport(_))), "{result:?}");
    assert!(thread.join().is_err(), "the panic is reported by join");
}
