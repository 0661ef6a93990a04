//! Lost connections and host restarts: calls run once, mirrors catch up, a new epoch is
//! noticed.

use std::net::TcpListener;
use std::time::Duration;

use stateloom_worker::Error;
use stateloom_worker::net::{NetClient, NetHost};

use super::*;

fn fast_reconnect() -> NetClientBuilder {
    NetClient::builder().backoff(Duration::from_millis(5), Duration::from_millis(50))
}

/// Waits until the host has handed `n` calls to the app.
fn wait_in_flight(host: &NetHost, n: usize) {
    eventually(|| host.stats().calls_in_flight >= n);
}

#[test]
fn a_call_in_flight_across_a_lost_connection_runs_once() {
    let (open, gate) = crossbeam_channel::unbounded();
    let host = TestHost::start(NetHost::builder(), Some(gate));
    let net = fast_reconnect().connect_tcp(&host.addr).unwrap();
    let handle = net.handle();
    let client = WorkerClient::new(net);
    client.wait_ready(PATIENCE).unwrap();

    let call = client.call("gate", "wait", ());
    wait_in_flight(&host.host, 1);
    handle.drop_connection();
    // Closing the gate lets every waiting call through: a second run would count 2.
    drop(open);
    assert_eq!(call.wait().unwrap(), 1);
    assert!(handle.stats().connections >= 2);
    assert_eq!(handle.stats().resent_calls, 1);
    assert_eq!(host.host.stats().duplicates, 1);
    // Later calls see that it ran exactly once.
    client.call_blocking("tally", "record", "after").unwrap();
    assert_eq!(client.get_state()["gate"], 1);
    host.stop();
}

#[test]
fn a_result_lost_with_its_connection_is_answered_from_memory() {
    let (open, gate) = crossbeam_channel::unbounded();
    let host = TestHost::start(NetHost::builder(), Some(gate));
    let net = fast_reconnect().connect_tcp(&host.addr).unwrap();
    let handle = net.handle();
    let client = WorkerClient::new(net);
    client.wait_ready(PATIENCE).unwrap();
    let calls: Vec<_> = (0..5).map(|_| client.call("gate", "wait", ())).collect();
    wait_in_flight(&host.host, 5);
    handle.drop_connection();
    for _ in 0..5 {
        open.send(()).unwrap();
    }
    let mut results: Vec<u64> = calls
        .into_iter()
        .map(|c| c.wait().unwrap().as_u64().unwrap())
        .collect();
    results.sort_unstable();
    assert_eq!(results, [1, 2, 3, 4, 5]);
    assert_eq!(client.get_state()["gate"], 5);
    // Once the client confirmed them, the host forgets them.
    client.call_blocking("tally", "record", "ack").unwrap();
    client.call_blocking("tally", "record", "ack").unwrap();
    assert!(
        host.host.stats().kept_results <= 1,
        "{:?}",
        host.host.stats()
    );
    host.stop();
}

#[test]
fn calls_made_while_disconnected_are_sent_on_reconnection() {
    let host = TestHost::start(NetHost::builder(), None);
    let net = fast_reconnect().connect_tcp(&host.addr).unwrap();
    let handle = net.handle();
    let client = WorkerClient::new(net);
    client.wait_ready(PATIENCE).unwrap();
    for round in 1..=20 {
        handle.drop_connection();
        let call = client.call("tally", "record", "r");
        assert_eq!(call.wait().unwrap(), round);
    }
    assert_eq!(count(&client, "r"), 20);
    host.stop();
}

#[test]
fn a_restarted_host_is_a_new_epoch() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (open, gate) = crossbeam_channel::unbounded();
    let first = TestHost::start_on(NetHost::builder(), listener, Some(gate));
    let client = connect(fast_reconnect(), &first.addr);
    client.call_blocking("tally", "record", "old").unwrap();
    let epoch = client.epoch();
    let stranded = client.call("gate", "wait", ());
    wait_in_flight(&first.host, 1);

    // The host goes away with the call unanswered, and a new one comes up at the address.
    first.host.shutdown();
    drop(open);
    first.stop();
    let second = TestHost::start_on(NetHost::builder(), TcpListener::bind(addr).unwrap(), None);

    assert!(matches!(stranded.wait(), Err(Error::AuthorityChanged)));
    assert_ne!(client.epoch(), epoch);
    // The new host knows nothing of the old one's state; the mirror shows the new one's.
    assert_eq!(count(&client, "old"), 0);
    assert_eq!(client.call_blocking("tally", "record", "new").unwrap(), 1);
    assert_eq!(client.get_state()["gate"], 0);
    second.stop();
}

#[test]
fn calls_of_a_forgotten_session_fail_instead_of_running_twice() {
    let (open, gate) = crossbeam_channel::unbounded();
    let host = TestHost::start(
        NetHost::builder().session_ttl(Duration::from_millis(1)),
        Some(gate),
    );
    let net = NetClient::builder()
        .backoff(Duration::from_millis(300), Duration::from_millis(300))
        .connect_tcp(&host.addr)
        .unwrap();
    let handle = net.handle();
    let client = WorkerClient::new(net);
    client.wait_ready(PATIENCE).unwrap();
    let call = client.call("gate", "wait", ());
    wait_in_flight(&host.host, 1);
    handle.drop_connection();
    eventually(|| host.host.stats().connections == 0);
    std::thread::sleep(Duration::from_millis(5));
    // Another client's arrival makes the host forget sessions away longer than their TTL.
    // (It gets its first snapshot only once the app is free again.)
    let other = WorkerClient::new(NetClient::builder().connect_tcp(&host.addr).unwrap());
    eventually(|| host.host.stats().sessions == 1);

    let Err(Error::Remote(error)) = call.wait() else {
        panic!("the call of a forgotten session should fail")
    };
    assert_eq!(error.code, "session-expired");
    assert_eq!(handle.stats().expired_calls, 1);
    assert_eq!(handle.stats().resent_calls, 0);
    // The call ran once, when the gate opened; it was not sent again.
    drop(open);
    eventually(|| {
        other.pump();
        other.get_state()["gate"] == 1
    });
    client.call_blocking("tally", "record", "later").unwrap();
    assert_eq!(client.get_state()["gate"], 1);
    host.stop();
}
