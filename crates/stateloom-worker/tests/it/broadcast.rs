//! Several clients on one broadcast bus: routing, targeted resync, capability tokens.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::json;
use stateloom_store::Store;
use stateloom_worker::{
    BroadcastBus, BroadcastTransport, Fault, FaultTransport, ManualClock, Message, WorkerApp,
    WorkerClient,
};

use crate::{Counter, counter_module};

fn settle(app: &WorkerApp, clients: &[&WorkerClient]) {
    loop {
        let handled = app.pump() + clients.iter().map(|c| c.pump()).sum::<usize>() + app.pump();
        if handled == 0 {
            return;
        }
    }
}

fn host(bus: &BroadcastBus) -> (WorkerApp, Store<Counter>) {
    let store = Store::new(Counter::default());
    let app = WorkerApp::builder()
        .module(counter_module(store.clone()))
        .build(bus.host("tab:host"));
    (app, store)
}

#[test]
fn two_clients_share_one_host() {
    let bus = BroadcastBus::new();
    let one = WorkerClient::new(bus.client("tab:one", "tab:host"));
    let two = WorkerClient::new(bus.client("tab:two", "tab:host"));
    let (app, _store) = host(&bus);
    // Both clients use call id 1: the host tells them apart.
    let a = one.call("counter", "increase", 2);
    let b = two.call("counter", "increase", 5);
    assert_eq!(a.id(), b.id());
    settle(&app, &[&one, &two]);
    assert_eq!(a.try_result(), Some(Ok(json!(2))));
    assert_eq!(b.try_result(), Some(Ok(json!(7))));
    assert_eq!(one.get_state(), json!({"counter": {"count": 7}}));
    assert_eq!(two.get_state(), json!({"counter": {"count": 7}}));
}

#[test]
fn a_resync_snapshot_goes_only_to_the_client_that_asked() {
    let bus = BroadcastBus::new();
    let clock = ManualClock::new();
    let conflicts = Rc::new(RefCell::new(Vec::new()));
    let c = conflicts.clone();
    let one = WorkerClient::builder(bus.client("tab:one", "tab:host"))
        .clock(clock.clone())
        .catch_up(Duration::from_millis(50))
        .on_conflict(move |conflict| c.borrow_mut().push(conflict.reason))
        .build();
    let two = WorkerClient::new(bus.client("tab:two", "tab:host"));
    let faulty: FaultTransport<BroadcastTransport> = FaultTransport::new(bus.host("tab:host"));
    let store = Store::new(Counter::default());
    let app = WorkerApp::builder()
        .module(counter_module(store))
        .build(faulty.clone());
    settle(&app, &[&one, &two]);
    let mut held = false;
    faulty.set_plan(move |m| {
        if matches!(m, Message::State(_)) && !held {
            held = true;
            Fault::Hold
        } else {
            Fault::Deliver
        }
    });
    let call = one.call("counter", "increase", 2);
    settle(&app, &[&one, &two]);
    clock.advance(Duration::from_millis(50));
    settle(&app, &[&one, &two]);
    assert_eq!(call.try_result(), Some(Ok(json!(2))));
    assert_eq!(one.get_state()["counter"]["count"], 2);
    assert_eq!(
        two.get_state()["counter"]["count"],
        0,
        "the snapshot was not for two"
    );
    faulty.release_held().unwrap();
    settle(&app, &[&one, &two]);
    assert_eq!(two.get_state()["counter"]["count"], 2);
    assert!(conflicts.borrow().is_empty());
}

#[test]
fn capability_tokens_must_match() {
    let bus = BroadcastBus::new();
    let clock = ManualClock::new();
    let stranger = WorkerClient::builder(bus.client("tab:stranger", "tab:host"))
        .clock(clock.clone())
        .build();
    let forger = WorkerClient::builder(bus.client("tab:forger", "tab:host").with_token("guess"))
        .clock(clock.clone())
        .build();
    let friend = WorkerClient::new(bus.client("tab:friend", "tab:host").with_token("s3cret"));
    let store = Store::new(Counter::default());
    let app = WorkerApp::builder()
        .module(counter_module(store.clone()))
        .build(bus.host("tab:host").with_token("s3cret"));
    let ignored = stranger.call("counter", "increase", 100);
    let forged = forger.call("counter", "increase", 100);
    let answered = friend.call("counter", "increase", 1);
    settle(&app, &[&stranger, &forger, &friend]);
    assert_eq!(answered.try_result(), Some(Ok(json!(1))));
    assert_eq!(ignored.try_result(), None);
    assert_eq!(forged.try_result(), None);
    assert!(!stranger.is_ready() && !forger.is_ready());
    assert_eq!(store.get_state().count, 1);
}
