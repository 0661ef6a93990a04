//! Many clients at once, and one that keeps losing its connection: no call is lost, run
//! twice or settled twice, every mirror converges, and the host's memory stays flat.
//!
//! `STATELOOM_NET_LOAD_CALLS` sets the calls per client (10 by default, which CI runs; 1000
//! is the full size), and `STATELOOM_NET_LOAD_CLIENTS` the number of steady clients (64).

use std::sync::{Arc, Barrier};
use std::time::Duration;

use stateloom_worker::net::{NetClient, NetHost, NetHostStats};

use super::*;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How many calls a client keeps in flight.
const WINDOW: usize = 8;

/// Makes `calls` calls of `tally.record(name)` with up to [`WINDOW`] in flight, and checks
/// that the results are exactly 1..=calls, each seen once, and each settled only once the
/// mirror showed it. Calls `between` before each new call.
fn run_client(client: &WorkerClient, name: &str, calls: u64, mut between: impl FnMut(u64)) {
    let mut pending = std::collections::VecDeque::new();
    let mut results = Vec::new();
    let settle = |call: stateloom_worker::PendingCall, results: &mut Vec<u64>| {
        let value = call.wait().unwrap().as_u64().unwrap();
        assert!(
            count(client, name) >= value,
            "{name}: result {value} settled before the mirror showed it"
        );
        results.push(value);
    };
    for i in 0..calls {
        between(i);
        if pending.len() == WINDOW {
            settle(pending.pop_front().unwrap(), &mut results);
        }
        pending.push_back(client.call("tally", "record", name));
    }
    for call in pending {
        settle(call, &mut results);
    }
    results.sort_unstable();
    assert_eq!(results, (1..=calls).collect::<Vec<_>>(), "{name}: results");
}

/// One round: every client makes its calls, then every mirror must equal the host's state.
fn round(addr: &str, clients: u64, calls: u64, round: u64) {
    let barrier = Arc::new(Barrier::new(clients as usize + 1));
    let mut threads = Vec::new();
    for c in 0..=clients {
        let addr = addr.to_owned();
        let barrier = Arc::clone(&barrier);
        threads.push(std::thread::spawn(move || {
            let flaky = c == clients;
            let builder =
                NetClient::builder().backoff(Duration::from_millis(1), Duration::from_millis(20));
            let net = builder.connect_tcp(&addr).unwrap();
            let handle = net.handle();
            let client = WorkerClient::builder(net).timeout(Some(PATIENCE)).build();
            client.wait_ready(PATIENCE).unwrap();
            let name = format!("r{round}c{c}");
            run_client(&client, &name, calls, |i| {
                // The flaky client loses its connection every few calls.
                if flaky && i % 3 == 1 {
                    handle.drop_connection();
                }
            });
            barrier.wait();
            // Every writer is done: one more call brings this mirror to the final version.
            let host_state = client.call_blocking("tally", "read", ()).unwrap();
            assert_eq!(
                client.get_state()["tally"],
                host_state,
                "{name}: mirror diverged"
            );
            for other in 0..=clients {
                assert_eq!(host_state[format!("r{round}c{other}")], calls);
            }
            if flaky {
                assert!(handle.stats().connections > 1);
            }
            client.dispose();
        }));
    }
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn many_clients_and_a_flaky_one_lose_nothing_and_converge() {
    let clients = env("STATELOOM_NET_LOAD_CLIENTS", 64);
    let calls = env("STATELOOM_NET_LOAD_CALLS", 10);
    let host = TestHost::start(NetHost::builder(), None);
    let mut after: Vec<NetHostStats> = Vec::new();
    for r in 0..3 {
        round(&host.addr, clients, calls, r);
        // Wait for the disposed clients' connections to be noticed gone.
        let start = std::time::Instant::now();
        while host.host.stats().connections > 0 {
            assert!(start.elapsed() < PATIENCE, "{:?}", host.host.stats());
            std::thread::sleep(Duration::from_millis(5));
        }
        after.push(host.host.stats());
    }
    // What the host keeps does not grow from round to round: no call is left in flight, each
    // client's kept results are bounded by its window, and departed sessions are forgotten.
    for stats in &after {
        assert_eq!(stats.calls_in_flight, 0, "{stats:?}");
        assert!(
            stats.kept_results <= (clients as usize + 1) * (WINDOW + 1),
            "{stats:?}"
        );
        assert!(stats.sessions <= clients as usize + 1, "{stats:?}");
    }
    assert!(after[2].kept_results <= after[0].kept_results.max(clients as usize + 1) * 2);
    host.stop();
}
