//! State sync: patches, sections, conflicts and recovery, watches.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};
use stateloom_store::Store;
use stateloom_worker::{
    Fault, MemoryTransport, Message, Module, Payload, StateUpdate, SyncMode, Transport,
    WatchOptions, WorkerApp, WorkerClient, memory_pair,
};

use crate::{Harness, Tap, kinds};

/// A client fed by hand: the feeding end, the client, what it posted, and its conflicts.
struct Fed {
    feed: MemoryTransport,
    client: WorkerClient,
    sent: Tap<MemoryTransport>,
    conflicts: Rc<RefCell<Vec<String>>>,
}

impl Fed {
    fn new() -> Self {
        let (feed, client_end) = memory_pair();
        let sent = Tap::new(client_end);
        let conflicts = Rc::new(RefCell::new(Vec::new()));
        let c = conflicts.clone();
        let client = WorkerClient::builder(sent.clone())
            .on_conflict(move |conflict| {
                c.borrow_mut().push(format!(
                    "{} at {} (incoming {})",
                    conflict.reason, conflict.current_version, conflict.incoming_version
                ));
            })
            .build();
        sent.take();
        Self {
            feed,
            client,
            sent,
            conflicts,
        }
    }

    fn snapshot(&self, epoch: u64, version: u64, state: Value) {
        self.send(epoch, version, Payload::Snapshot(state));
    }

    fn patch(&self, epoch: u64, version: u64, ops: Value) {
        self.send(
            epoch,
            version,
            Payload::Patch(serde_json::from_value(ops).unwrap()),
        );
    }

    fn send(&self, epoch: u64, version: u64, payload: Payload) {
        self.feed
            .post(Message::State(StateUpdate {
                epoch,
                version,
                payload,
                sync_id: None,
            }))
            .unwrap();
        self.client.pump();
    }

    fn conflicts(&self) -> String {
        self.conflicts
            .borrow_mut()
            .drain(..)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[test]
fn conflicts_are_reported_and_the_mirror_keeps_its_snapshot() {
    let fed = Fed::new();
    fed.patch(1, 1, json!([{"op": "replace", "path": "/n", "value": 1}]));
    fed.snapshot(1, 1, json!({"n": 1}));
    fed.snapshot(1, 1, json!({"n": 9}));
    fed.patch(1, 3, json!([{"op": "replace", "path": "/n", "value": 3}]));
    fed.patch(7, 2, json!([{"op": "replace", "path": "/n", "value": 2}]));
    insta::assert_snapshot!(fed.conflicts(), @r"
    missing-snapshot at 0 (incoming 1)
    stale-message at 1 (incoming 1)
    version-gap at 1 (incoming 3)
    new-epoch at 1 (incoming 2)
    ");
    assert_eq!(fed.client.get_state(), json!({"n": 1}));
    assert_eq!(fed.client.version(), 1);
    // Each conflict but the stale message asked for a snapshot (the first request, for the
    // missing snapshot, was answered; the next ones cover each other).
    assert_eq!(kinds(&fed.sent.take()), ["sync>=1", "sync>=3"]);
}

#[test]
fn bad_patches_fail_atomically_and_a_good_one_applies_after() {
    let fed = Fed::new();
    fed.snapshot(1, 1, json!({"list": [1, 2], "obj": {"a": 1}}));
    let bad = [
        json!([{"op": "replace", "path": "/list/-1", "value": 0}]),
        json!([{"op": "replace", "path": "/list/2", "value": 0}]),
        json!([{"op": "remove", "path": "/list/2"}]),
        json!([{"op": "add", "path": "/list/3", "value": 0}]),
        json!([{"op": "replace", "path": "/obj/missing", "value": 0}]),
        json!([{"op": "remove", "path": "/obj/missing"}]),
        json!([{"op": "add", "path": "/nope/a", "value": 0}]),
        // The first operation would apply; the second fails, so neither does.
        json!([{"op": "replace", "path": "/obj/a", "value": 5}, {"op": "remove", "path": "/zzz"}]),
        json!([{"op": "replace", "path": "", "value": 3}]),
        json!([{"op": "remove", "path": ""}]),
    ];
    for ops in bad {
        fed.patch(1, 2, ops);
    }
    let conflicts = fed.conflicts();
    assert_eq!(conflicts.lines().count(), 10, "{conflicts}");
    assert!(
        conflicts
            .lines()
            .all(|l| l == "patch-apply-failed at 1 (incoming 2)")
    );
    assert_eq!(
        fed.client.get_state(),
        json!({"list": [1, 2], "obj": {"a": 1}})
    );
    assert_eq!(fed.client.version(), 1);
    fed.patch(1, 2, json!([{"op": "add", "path": "/list/2", "value": 3}]));
    assert_eq!(fed.client.get_state()["list"], json!([1, 2, 3]));
    assert_eq!(fed.client.version(), 2);
    assert_eq!(fed.conflicts(), "");
}

#[test]
fn a_slash_path_is_the_empty_key_not_the_root() {
    let fed = Fed::new();
    fed.snapshot(1, 0, json!({"": 0, "n": 1}));
    fed.patch(1, 1, json!([{"op": "replace", "path": "/", "value": 5}]));
    assert_eq!(fed.client.get_state(), json!({"": 5, "n": 1}));
}

#[test]
fn a_new_epoch_snapshot_replaces_the_mirror() {
    let fed = Fed::new();
    fed.snapshot(1, 5, json!({"n": 5}));
    fed.snapshot(2, 0, json!({"n": 0}));
    assert_eq!(fed.client.epoch(), Some(2));
    assert_eq!(fed.client.version(), 0);
    assert_eq!(fed.client.get_state(), json!({"n": 0}));
    assert_eq!(fed.conflicts(), "");
}

#[test]
fn private_sections_never_leave_the_host_and_make_no_versions() {
    let h = Harness::with(SyncMode::Patch, |builder| {
        let secret = Store::new(String::from("s3cret"));
        builder
            .module(
                Module::new("secret", secret).method("rotate", |s, next: String| {
                    s.set_state(next);
                }),
            )
            .state_sections(["counter", "constructor"])
    });
    assert_eq!(h.client.get_state(), json!({"counter": {"count": 0}}));
    let rotate = h.client.call("secret", "rotate", "hunter2");
    h.settle();
    assert_eq!(rotate.try_result(), Some(Ok(Value::Null)));
    assert_eq!(kinds(&h.host_sent.take()), ["result"]);
    assert_eq!(h.app.version(), 0);
    let increase = h.client.call("counter", "increase", 1);
    h.settle();
    assert_eq!(increase.try_result(), Some(Ok(json!(1))));
    assert_eq!(kinds(&h.host_sent.take()), ["patch@1", "result"]);
    assert_eq!(h.client.get_state(), json!({"counter": {"count": 1}}));
    assert!(h.conflicts().is_empty());
}

#[test]
fn a_watch_only_client_that_missed_a_patch_catches_up_at_the_next_one() {
    let h = Harness::new(SyncMode::Patch);
    let mut first = true;
    h.host_faults.set_plan(move |m| {
        if matches!(m, Message::State(_)) && std::mem::take(&mut first) {
            Fault::Drop
        } else {
            Fault::Deliver
        }
    });
    h.store.update(|c| c.count = 1); // lost
    h.settle();
    assert_eq!(h.mirrored_count(), 0);
    h.store.update(|c| c.count = 2); // a gap: the client asks for a snapshot
    h.settle();
    assert_eq!(h.conflicts(), ["version-gap"]);
    assert_eq!(kinds(&h.client_sent.take()), ["sync>=2"]);
    assert_eq!(h.mirrored_count(), 2);
    assert_eq!(h.client.version(), 2);
}

#[test]
fn a_client_that_missed_the_last_patch_catches_up_at_the_heartbeat() {
    let h = Harness::new(SyncMode::Patch);
    h.host_faults.set_plan(|m| {
        if matches!(m, Message::State(_)) {
            Fault::Drop
        } else {
            Fault::Deliver
        }
    });
    h.store.update(|c| c.count = 7);
    h.settle();
    assert_eq!(h.mirrored_count(), 0);
    h.host_faults.clear_plan();
    h.app.announce();
    h.settle();
    assert_eq!(h.mirrored_count(), 7);
    assert!(h.conflicts().is_empty());
}

#[test]
fn a_lost_sync_request_is_asked_again() {
    let h = Harness::new(SyncMode::Patch);
    h.host_faults.set_plan(|_| Fault::Drop);
    h.store.update(|c| c.count = 1);
    h.store.update(|c| c.count = 2);
    h.settle();
    h.app.announce(); // dropped too
    h.host_faults.clear_plan();
    h.store.update(|c| c.count = 3); // patch@3 reaches the client: a gap
    h.settle();
    assert_eq!(h.mirrored_count(), 3);
    // Now drop the snapshot answering a gap, then let time pass: the client asks again.
    h.host_faults.set_plan(|m| {
        if matches!(m, Message::State(_)) {
            Fault::Drop
        } else {
            Fault::Deliver
        }
    });
    h.store.update(|c| c.count = 4);
    h.settle();
    h.host_faults.clear_plan();
    h.app.announce();
    h.settle();
    assert_eq!(h.mirrored_count(), 4);
}

#[test]
fn watches_use_their_equality_and_can_start_immediately() {
    let h = Harness::new(SyncMode::Patch);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let _parity = h.client.watch_with(
        |state| state["counter"]["count"].as_i64().unwrap_or(0),
        move |n| s.borrow_mut().push(*n),
        WatchOptions {
            equals: |a, b| a % 2 == b % 2,
            immediate: true,
        },
    );
    let all = Rc::new(RefCell::new(Vec::new()));
    let a = all.clone();
    let sub = h.client.watch(
        |state| state["counter"]["count"].clone(),
        move |v| a.borrow_mut().push(v.clone()),
    );
    for n in [2, 3, 5, 6] {
        h.store.update(move |c| c.count = n);
        h.settle();
    }
    sub.unsubscribe();
    h.store.update(|c| c.count = 8);
    h.settle();
    assert_eq!(*seen.borrow(), [0, 3, 6]);
    assert_eq!(*all.borrow(), [json!(2), json!(3), json!(5), json!(6)]);
}

#[test]
fn selectors_feed_core_effects() {
    let h = Harness::new(SyncMode::Patch);
    let doubled = h
        .client
        .select(|state| state["counter"]["count"].as_i64().unwrap_or(0) * 2);
    let runs = Rc::new(RefCell::new(Vec::new()));
    let r = runs.clone();
    let effect = stateloom_core::effect(move || r.borrow_mut().push(doubled.get()));
    h.store.update(|c| c.count = 4);
    h.settle();
    assert_eq!(*runs.borrow(), [0, 8]);
    effect.dispose();
}

#[test]
fn a_host_on_a_patch_transport_and_a_host_snapshot_agree() {
    // A second client subscribing late gets the same state through its own sync request.
    let (host_end, client_end) = memory_pair();
    let store = Store::new(vec![1, 2, 3]);
    let app = WorkerApp::builder()
        .module(Module::new("list", store.clone()))
        .build(host_end);
    store.update(|l| {
        l.pop();
    });
    let client = WorkerClient::new(client_end);
    loop {
        if app.pump() + client.pump() == 0 {
            break;
        }
    }
    assert_eq!(client.get_state(), app.published_state());
    assert_eq!(client.version(), app.version());
}
