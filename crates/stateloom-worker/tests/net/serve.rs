//! Serving many connections: routing, snapshots for newcomers, the handshake and the limits.

use std::time::Duration;

use stateloom_worker::Error;
use stateloom_worker::net::{NetClient, NetHost, Pipe, WireCodec};

use super::*;

#[test]
fn each_result_goes_to_its_caller_and_state_to_everyone() {
    let host = TestHost::start(NetHost::builder(), None);
    let a = host.client();
    let b = host.client();
    // Both clients number their calls from 1: the host tells them apart by connection.
    let from_a = a.call("tally", "record", "a");
    let from_b = b.call("tally", "record", "b");
    assert_eq!(from_a.wait().unwrap(), 1);
    assert_eq!(from_b.wait().unwrap(), 1);
    assert_eq!(a.call_blocking("tally", "record", "a").unwrap(), 2);
    pump_until(&b, |b| count(b, "a") == 2);
    pump_until(&a, |a| count(a, "b") == 1);
    assert_eq!(a.get_state(), b.get_state());
    host.stop();
}

#[test]
fn a_result_settles_only_once_the_mirror_has_its_writes() {
    let host = TestHost::start(NetHost::builder(), None);
    let client = host.client();
    for n in 1..=50 {
        let value = client.call_blocking("tally", "record", "x").unwrap();
        assert_eq!(value, n);
        assert!(count(&client, "x") >= n, "settled before its state arrived");
    }
    host.stop();
}

#[test]
fn a_new_connection_starts_from_a_snapshot() {
    let host = TestHost::start(NetHost::builder(), None);
    let first = host.client();
    first.call_blocking("tally", "record", "early").unwrap();
    let late = host.client();
    assert_eq!(count(&late, "early"), 1);
    assert_eq!(late.version(), first.version());
    host.stop();
}

#[test]
fn both_codecs_serve_at_once() {
    let host = TestHost::start(NetHost::builder(), None);
    let json = connect(NetClient::builder().codec(WireCodec::Json), &host.addr);
    let binary = connect(NetClient::builder().codec(WireCodec::Postcard), &host.addr);
    json.call_blocking("tally", "record", "j").unwrap();
    binary.call_blocking("tally", "record", "p").unwrap();
    pump_until(&json, |c| count(c, "p") == 1);
    pump_until(&binary, |c| count(c, "j") == 1);
    host.stop();
}

#[test]
fn a_host_can_refuse_a_codec() {
    let host = TestHost::start(NetHost::builder().codecs([WireCodec::Postcard]), None);
    let refused = NetClient::builder()
        .codec(WireCodec::Json)
        .connect_tcp(&host.addr);
    let Err(Error::Handshake(reason)) = refused else {
        panic!("expected a refused handshake, got {refused:?}")
    };
    assert!(reason.contains("json"), "{reason}");
    eventually(|| host.host.stats().refused == 1);
    host.stop();
}

#[test]
fn the_secret_is_checked_both_ways() {
    let host = TestHost::start(NetHost::builder().secret("s3cret"), None);
    let good = connect(NetClient::builder().secret("s3cret"), &host.addr);
    assert_eq!(good.call_blocking("tally", "record", "ok").unwrap(), 1);

    let wrong = NetClient::builder().secret("guess").connect_tcp(&host.addr);
    assert!(
        matches!(&wrong, Err(Error::Handshake(r)) if r.contains("authentication")),
        "{wrong:?}"
    );
    let none = NetClient::builder().connect_tcp(&host.addr);
    assert!(
        matches!(&none, Err(Error::Handshake(r)) if r.contains("requires a secret")),
        "{none:?}"
    );
    // The host counts the second refusal when it sees the client hang up.
    eventually(|| host.host.stats().refused == 2);
    host.stop();

    // A host without the secret cannot pass itself off as one that has it.
    let open = TestHost::start(NetHost::builder(), None);
    let fooled = NetClient::builder()
        .secret("s3cret")
        .connect_tcp(&open.addr);
    assert!(
        matches!(&fooled, Err(Error::Handshake(r)) if r.contains("did not prove")),
        "{fooled:?}"
    );
    open.stop();
}

#[test]
fn connections_beyond_the_limit_are_refused() {
    let host = TestHost::start(NetHost::builder().max_connections(2), None);
    let one = host.client();
    let two = host.client();
    let three = NetClient::builder().connect_tcp(&host.addr);
    assert!(
        matches!(&three, Err(Error::Handshake(r)) if r.contains("full")),
        "{three:?}"
    );
    // Room again once one leaves.
    one.dispose();
    drop(one);
    let start = std::time::Instant::now();
    let again = loop {
        match NetClient::builder().connect_tcp(&host.addr) {
            Ok(client) => break client,
            Err(_) if start.elapsed() < PATIENCE => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("no room after a client left: {e}"),
        }
    };
    let again = WorkerClient::new(again);
    assert_eq!(again.call_blocking("tally", "record", "x").unwrap(), 1);
    assert_eq!(two.call_blocking("tally", "record", "x").unwrap(), 2);
    host.stop();
}

#[test]
fn calls_beyond_the_in_flight_limit_are_answered_with_an_error() {
    let (open, gate) = crossbeam_channel::unbounded();
    let host = TestHost::start(NetHost::builder().max_in_flight(2), Some(gate));
    let client = host.client();
    let first = client.call("gate", "wait", ());
    let second = client.call("gate", "wait", ());
    let third = client.call("gate", "wait", ());
    let Err(Error::Remote(error)) = third.wait() else {
        panic!("the third call should be refused")
    };
    assert_eq!(error.code, "too-many-calls");
    open.send(()).unwrap();
    open.send(()).unwrap();
    assert_eq!(first.wait().unwrap(), 1);
    assert_eq!(second.wait().unwrap(), 2);
    drop(open);
    host.stop();
}

#[cfg(unix)]
#[test]
fn a_unix_socket_serves_too() {
    use std::os::unix::net::UnixListener;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.sock");
    let host = NetHost::builder().build();
    let served = host.clone();
    let (built, ready) = crossbeam_channel::bounded(1);
    let app = std::thread::spawn(move || {
        let app = tally_app(None).build(served);
        built.send(()).unwrap();
        app.run();
    });
    ready.recv().unwrap();
    let listening = host.serve_unix(UnixListener::bind(&path).unwrap()).unwrap();
    let client = WorkerClient::new(NetClient::builder().connect_unix(&path).unwrap());
    client.wait_ready(PATIENCE).unwrap();
    assert_eq!(client.call_blocking("tally", "record", "u").unwrap(), 1);
    host.shutdown();
    listening.join();
    app.join().unwrap();
}

#[cfg(unix)]
#[test]
fn any_pair_of_pipes_can_carry_a_connection() {
    use std::os::unix::net::UnixStream;

    let host = NetHost::builder().build();
    let served = host.clone();
    let (built, ready) = crossbeam_channel::bounded(1);
    let app = std::thread::spawn(move || {
        let app = tally_app(None).build(served);
        built.send(()).unwrap();
        app.run();
    });
    ready.recv().unwrap();
    let (host_end, client_end) = UnixStream::pair().unwrap();
    host.accept(Pipe::new(host_end.try_clone().unwrap(), host_end));
    let mut client_end = Some(client_end);
    let transport = NetClient::builder()
        .reconnect(false)
        .connect(move || {
            let end = client_end
                .take()
                .ok_or_else(|| std::io::Error::other("a pipe connects once"))?;
            Ok(Pipe::new(end.try_clone()?, end))
        })
        .unwrap();
    let client = WorkerClient::new(transport);
    client.wait_ready(PATIENCE).unwrap();
    assert_eq!(client.call_blocking("tally", "record", "pipe").unwrap(), 1);
    host.shutdown();
    app.join().unwrap();
    // The host closed the stream: without reconnection, later calls fail.
    pump_until(&client, |c| {
        matches!(c.call("tally", "record", "late").try_result(), Some(Err(_)))
    });
}

#[test]
fn shutting_the_host_down_fails_the_calls_of_clients_that_do_not_reconnect() {
    let (_open, gate) = crossbeam_channel::unbounded::<()>();
    let host = TestHost::start(NetHost::builder(), Some(gate));
    let client = connect(NetClient::builder().reconnect(false), &host.addr);
    let call = client.call("gate", "wait", ());
    eventually(|| host.host.stats().calls_in_flight > 0);
    host.host.shutdown();
    assert!(matches!(call.wait(), Err(Error::Transport(_))));
}

#[test]
fn requests_that_arrive_before_the_app_wait_for_it() {
    let host = NetHost::builder().build();
    let listening = host
        .serve_tcp(std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let net = NetClient::builder()
        .connect_tcp(listening.local_addr())
        .unwrap();
    let client = WorkerClient::new(net);
    let call = client.call("tally", "record", "early");
    // Only now does the app start listening to the host.
    let served = host.clone();
    let app = std::thread::spawn(move || tally_app(None).build(served).run());
    assert_eq!(call.wait().unwrap(), 1);
    assert_eq!(count(&client, "early"), 1);
    host.shutdown();
    app.join().unwrap();
}

#[test]
fn only_so_many_requests_wait_for_an_app_that_is_not_running() {
    let host = NetHost::builder().max_in_flight(10_000).build();
    let listening = host
        .serve_tcp(std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .unwrap();
    let client = WorkerClient::new(
        NetClient::builder()
            .backoff(Duration::from_millis(5), Duration::from_millis(20))
            .connect_tcp(listening.local_addr())
            .unwrap(),
    );
    // Beyond the 4,096 requests kept for the app, the host closes the connection.
    let calls: Vec<_> = (0..4_200)
        .map(|_| client.call("tally", "record", "x"))
        .collect();
    eventually(|| host.stats().dropped >= 1);
    assert!(host.stats().calls_in_flight < 4_200);
    let served = host.clone();
    let app = std::thread::spawn(move || tally_app(None).build(served).run());
    // Once the app runs, every call runs exactly once: sent again after reconnecting, the
    // waiting ones are not run twice.
    let mut results: Vec<u64> = calls
        .into_iter()
        .map(|c| c.wait().unwrap().as_u64().unwrap())
        .collect();
    results.sort_unstable();
    assert_eq!(results, (1..=4_200).collect::<Vec<_>>());
    host.shutdown();
    app.join().unwrap();
}
