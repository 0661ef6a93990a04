//! Calls: ordering with state, settling after resync, errors, panics, time-outs, dispose.

use std::time::Duration;

use serde_json::json;
use stateloom_worker::{
    CallOptions, Error, Fault, Message, RemoteError, SyncMode, WorkerApp, WorkerClient, memory_pair,
};

use crate::{Harness, kinds};

#[test]
fn a_call_resolves_after_its_state_and_publishes_one_patch() {
    let h = Harness::new(SyncMode::Patch);
    let call = h.client.call("counter", "increase", 2);
    h.settle();
    assert_eq!(call.try_result(), Some(Ok(json!(2))));
    assert_eq!(h.mirrored_count(), 2);
    assert_eq!(kinds(&h.host_sent.take()), ["patch@1", "result"]);
    assert_eq!(kinds(&h.client_sent.take()), ["call"]);
    assert!(h.conflicts().is_empty());
}

#[test]
fn snapshot_mode_sends_the_whole_state_with_every_change() {
    let h = Harness::new(SyncMode::Snapshot);
    let call = h.client.call("counter", "increase", 3);
    h.settle();
    assert_eq!(call.try_result(), Some(Ok(json!(3))));
    let sent = h.host_sent.take();
    assert_eq!(kinds(&sent), ["snapshot@1", "result"]);
    let Message::State(update) = &sent[0] else {
        unreachable!()
    };
    assert_eq!(
        update.payload,
        stateloom_worker::Payload::Snapshot(json!({"counter": {"count": 3}}))
    );
}

#[test]
fn a_method_that_writes_twice_publishes_one_version() {
    let h = Harness::new(SyncMode::Patch);
    let call = h.client.call("counter", "increase_twice", ());
    h.settle();
    assert_eq!(call.try_result(), Some(Ok(json!(null))));
    assert_eq!(kinds(&h.host_sent.take()), ["patch@1", "result"]);
    assert_eq!(h.client.version(), 1);
    assert_eq!(h.mirrored_count(), 2);
}

#[test]
fn a_result_that_arrives_before_its_state_waits_then_resyncs() {
    let h = Harness::new(SyncMode::Patch);
    // Hold the first state message the host sends.
    let mut held = false;
    h.host_faults.set_plan(move |m| {
        if matches!(m, Message::State(_)) && !held {
            held = true;
            Fault::Hold
        } else {
            Fault::Deliver
        }
    });
    let call = h.client.call("counter", "increase", 2);
    h.settle();
    // The result is in, the state is not: the call waits, and asks for nothing yet.
    assert_eq!(call.try_result(), None);
    assert_eq!(kinds(&h.client_sent.take()), ["call"]);
    h.clock.advance(Duration::from_millis(100));
    h.settle();
    assert_eq!(kinds(&h.client_sent.take()), ["sync>=1"]);
    assert_eq!(call.try_result(), Some(Ok(json!(2))));
    assert_eq!(h.mirrored_count(), 2);
    // The held patch arrives late: covered by the snapshot, so no conflict.
    h.host_faults.release_held().unwrap();
    h.settle();
    assert!(h.conflicts().is_empty());
    assert_eq!(h.mirrored_count(), 2);
}

#[test]
fn a_rejection_also_waits_for_its_state() {
    let h = Harness::new(SyncMode::Patch);
    let mut held = false;
    h.host_faults.set_plan(move |m| {
        if matches!(m, Message::State(_)) && !held {
            held = true;
            Fault::Hold
        } else {
            Fault::Deliver
        }
    });
    let call = h.client.call("counter", "fail_after_increase", ());
    h.settle();
    assert_eq!(call.try_result(), None);
    h.clock.advance(Duration::from_millis(100));
    h.settle();
    assert_eq!(
        call.try_result(),
        Some(Err(Error::Remote(RemoteError::new(
            "failed",
            "fail after increase"
        ))))
    );
    // The method's write before it failed is kept, and mirrored.
    assert_eq!(h.mirrored_count(), 1);
}

#[test]
fn a_call_before_the_first_snapshot_waits_for_version_zero() {
    // The host starts before the client subscribes; its startup messages are the client's
    // first, and a result at version 0 must still wait for the snapshot.
    let (host_end, client_end) = memory_pair();
    let store = stateloom_store::Store::new(crate::Counter::default());
    let app = WorkerApp::builder()
        .module(
            stateloom_worker::Module::new("counter", store)
                .method("read", |s, (): ()| s.with_untracked(|c| c.count)),
        )
        .build(host_end);
    let client = WorkerClient::new(client_end);
    let call = client.call("counter", "read", ());
    app.pump();
    assert_eq!(call.try_result(), None);
    assert!(!client.is_ready());
    client.pump();
    assert!(client.is_ready());
    assert_eq!(client.version(), 0);
    assert_eq!(call.try_result(), Some(Ok(json!(0))));
}

#[test]
fn only_declared_methods_and_modules_can_be_called() {
    let h = Harness::new(SyncMode::Patch);
    let unknown_method = h.client.call("counter", "drop_database", ());
    let unknown_module = h.client.call("nope", "increase", 1);
    h.settle();
    assert_eq!(
        unknown_method.try_result(),
        Some(Err(Error::Remote(RemoteError::new(
            "unknown-method",
            "no method `drop_database` in module `counter`"
        ))))
    );
    assert_eq!(
        unknown_module.try_result(),
        Some(Err(Error::Remote(RemoteError::new(
            "unknown-module",
            "no module `nope`"
        ))))
    );
    assert_eq!(h.mirrored_count(), 0);
}

#[test]
fn bad_arguments_get_a_redacted_error_unless_details_are_exposed() {
    let h = Harness::new(SyncMode::Patch);
    let call = h.client.call("counter", "increase", "two");
    h.settle();
    let Some(Err(Error::Remote(error))) = call.try_result() else {
        panic!("expected an error")
    };
    insta::assert_snapshot!(error, @"bad-arguments: the arguments do not fit `counter.increase`");

    let h = Harness::with(SyncMode::Patch, |b| b.expose_error_details(true));
    let call = h.client.call("counter", "increase", "two");
    h.settle();
    let Some(Err(Error::Remote(error))) = call.try_result() else {
        panic!("expected an error")
    };
    insta::assert_snapshot!(error, @r#"bad-arguments: the arguments do not fit `counter.increase`: invalid type: string "two", expected i64"#);
}

#[test]
fn a_panicking_method_is_rolled_back_and_the_host_keeps_running() {
    let h = Harness::new(SyncMode::Patch);
    h.client.call("counter", "increase", 5).try_result();
    h.settle();
    let call = h.client.call("counter", "panic_after_increase", ());
    h.settle();
    let Some(Err(Error::Remote(error))) = call.try_result() else {
        panic!("expected an error")
    };
    // The panic message stays on the host.
    insta::assert_snapshot!(error, @"panicked: `counter.panic_after_increase` panicked");
    assert_eq!(h.store.get_state().count, 5);
    assert_eq!(h.mirrored_count(), 5);
    assert_eq!(h.app.version(), 1, "the rolled-back call published nothing");
    // The host still answers.
    let call = h.client.call("counter", "increase", 1);
    h.settle();
    assert_eq!(call.try_result(), Some(Ok(json!(6))));
}

#[test]
fn a_panic_message_is_sent_only_when_the_host_opts_in() {
    let h = Harness::with(SyncMode::Patch, |b| b.expose_error_details(true));
    let call = h.client.call("counter", "panic_after_increase", ());
    h.settle();
    let Some(Err(Error::Remote(error))) = call.try_result() else {
        panic!("expected an error")
    };
    insta::assert_snapshot!(error, @"panicked: `counter.panic_after_increase` panicked: a secret detail");
}

#[test]
fn host_writes_outside_calls_are_published() {
    let h = Harness::new(SyncMode::Patch);
    h.store.update(|c| c.count = 40);
    h.store.update(|c| c.count += 2);
    h.settle();
    assert_eq!(kinds(&h.host_sent.take()), ["patch@1", "patch@2"]);
    assert_eq!(h.mirrored_count(), 42);
}

#[test]
fn a_call_times_out() {
    let h = Harness::new(SyncMode::Patch);
    h.host_faults.set_plan(|_| Fault::Drop);
    let call = h.client.call_with(
        "counter",
        "increase",
        1,
        CallOptions::new().timeout(Duration::from_millis(10)),
    );
    h.settle();
    h.clock.advance(Duration::from_millis(9));
    h.settle();
    assert_eq!(call.try_result(), None);
    h.clock.advance(Duration::from_millis(1));
    h.settle();
    assert_eq!(
        call.try_result(),
        Some(Err(Error::Timeout {
            after: Duration::from_millis(10)
        }))
    );
}

#[test]
fn timeouts_and_cancellation_work_while_waiting_for_state() {
    let h = Harness::new(SyncMode::Patch);
    // Results get through, state never does.
    h.host_faults.set_plan(|m| {
        if matches!(m, Message::State(_)) {
            Fault::Drop
        } else {
            Fault::Deliver
        }
    });
    let timed = h.client.call_with(
        "counter",
        "increase",
        1,
        CallOptions::new().timeout(Duration::from_millis(500)),
    );
    let cancelled = h
        .client
        .call_with("counter", "increase", 1, CallOptions::new().no_timeout());
    h.settle();
    h.clock.advance(Duration::from_millis(200));
    h.settle();
    assert_eq!(timed.try_result(), None, "still waiting for the state");
    cancelled.cancel();
    assert_eq!(cancelled.try_result(), Some(Err(Error::Cancelled)));
    h.clock.advance(Duration::from_millis(300));
    h.settle();
    assert_eq!(
        timed.try_result(),
        Some(Err(Error::Timeout {
            after: Duration::from_millis(500)
        }))
    );
}

#[test]
fn a_failed_sync_request_rejects_the_calls_waiting_for_it() {
    struct Refusing;
    impl stateloom_worker::Transport for Refusing {
        fn post(&self, message: Message) -> stateloom_worker::Result<()> {
            match message {
                Message::Sync(_) => Err(Error::Transport("the port is closed".into())),
                _ => Ok(()),
            }
        }
        fn subscribe(&self, _: stateloom_worker::Inbox) {}
    }
    // A client whose sync requests fail, fed a result by hand.
    let (feed, client_end) = memory_pair();
    let both = Both {
        post: Refusing,
        receive: client_end,
    };
    let client = WorkerClient::new(both);
    let call = client.call("counter", "increase", 1);
    stateloom_worker::Transport::post(
        &feed,
        Message::Result(stateloom_worker::CallResult {
            id: call.id(),
            epoch: 1,
            version: 1,
            outcome: stateloom_worker::Outcome::Ok(json!(1)),
        }),
    )
    .unwrap();
    client.pump();
    assert_eq!(
        call.try_result(),
        Some(Err(Error::Transport("the port is closed".into())))
    );
}

/// Posts through one transport, receives through another.
struct Both<P, R> {
    post: P,
    receive: R,
}

impl<P: stateloom_worker::Transport, R: stateloom_worker::Transport> stateloom_worker::Transport
    for Both<P, R>
{
    fn post(&self, message: Message) -> stateloom_worker::Result<()> {
        self.post.post(message)
    }
    fn subscribe(&self, inbox: stateloom_worker::Inbox) {
        self.receive.subscribe(inbox);
    }
}

#[test]
fn dispose_rejects_pending_and_later_calls() {
    let h = Harness::new(SyncMode::Patch);
    let pending = h.client.call("counter", "increase", 1);
    h.client.dispose();
    assert_eq!(pending.try_result(), Some(Err(Error::Disposed)));
    assert_eq!(
        h.client.call("counter", "increase", 1).try_result(),
        Some(Err(Error::Disposed))
    );
    assert!(h.client.is_disposed());
    // The mirror keeps its last state.
    assert_eq!(h.mirrored_count(), 0);
}

#[test]
fn a_result_from_a_new_host_lifetime_rejects_the_call() {
    let (feed, client_end) = memory_pair();
    let client = WorkerClient::new(client_end);
    let post = |m| stateloom_worker::Transport::post(&feed, m).unwrap();
    post(Message::State(stateloom_worker::StateUpdate {
        epoch: 1,
        version: 0,
        payload: stateloom_worker::Payload::Snapshot(json!({})),
        sync_id: None,
    }));
    client.pump();
    let call = client.call("counter", "increase", 1);
    post(Message::Result(stateloom_worker::CallResult {
        id: call.id(),
        epoch: 2,
        version: 1,
        outcome: stateloom_worker::Outcome::Ok(json!(1)),
    }));
    client.pump();
    assert_eq!(call.try_result(), Some(Err(Error::AuthorityChanged)));
}

#[test]
fn a_dropped_host_end_fails_calls_whenever_the_client_subscribed() {
    // Dropped before the client subscribes: the client is told at once, and posts fail.
    let (host_end, client_end) = memory_pair();
    drop(host_end);
    let client = WorkerClient::new(client_end);
    assert!(matches!(
        client.call("counter", "increase", 1).try_result(),
        Some(Err(Error::Transport(_)))
    ));
    // Dropped after: the pending call fails at the next pump.
    let (host_end, client_end) = memory_pair();
    let client = WorkerClient::new(client_end);
    let call = client.call("counter", "increase", 1);
    drop(host_end);
    client.pump();
    assert!(matches!(call.try_result(), Some(Err(Error::Transport(_)))));
}

#[test]
fn a_batch_is_one_version_and_a_panic_in_it_rolls_back_only_its_own_call() {
    let (h, t) = memory_pair();
    let client = WorkerClient::new(t);
    let store = stateloom_store::Store::new(0_i64);
    let app = WorkerApp::builder()
        .module(
            stateloom_worker::Module::new("n", store.clone())
                .method("inc", |s, (): ()| {
                    s.update(|n| *n += 1);
                    s.get_state()
                })
                .method("inc_then_panic", |s, (): ()| -> i64 {
                    s.update(|n| *n += 100);
                    panic!("boom")
                }),
        )
        .batch_calls(16)
        .build(h);
    let first = client.call("n", "inc", ());
    let broken = client.call("n", "inc_then_panic", ());
    let last = client.call("n", "inc", ());
    app.pump();
    client.pump();
    assert_eq!(first.try_result().unwrap().unwrap(), 1);
    let Some(Err(stateloom_worker::Error::Remote(error))) = broken.try_result() else {
        panic!("the panicking call should fail")
    };
    assert_eq!(error.code, "panicked");
    assert_eq!(last.try_result().unwrap().unwrap(), 2);
    assert_eq!(store.get_state(), 2);
    assert_eq!(app.version(), 1);
    assert_eq!(client.get_state()["n"], 2);
    assert_eq!(client.version(), 1);
}
