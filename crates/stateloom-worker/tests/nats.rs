//! The NATS transport against a real `nats-server`, which each test starts on a free loopback
//! port and kills when it ends.
//!
//! These tests are ignored unless asked for, because they need the server binary:
//! `cargo test -p stateloom-worker --features nats --test nats -- --ignored`.
//! Without `nats-server` on the `PATH` (or at `$NATS_SERVER`) they fail and say how to install
//! it (`apt-get install nats-server`).

use std::cell::RefCell;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use stateloom_store::Store;
use stateloom_worker::{
    Codec, ConflictReason, Epoch, Error, Fault, FaultTransport, JsonCodec, Message, Module,
    NatsBuilder, NatsHost, NatsStats, Outcome, PostcardCodec, Transport, WorkerApp, WorkerClient,
};

/// A `nats-server` on a loopback port of its own, killed on drop.
struct NatsServer {
    child: Child,
    port: u16,
    args: Vec<String>,
}

impl NatsServer {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the server with extra arguments (such as `--auth <token>`) and waits until it
    /// accepts connections.
    fn start_with(args: &[&str]) -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
        let child = Self::spawn(port, &args);
        Self { child, port, args }
    }

    /// Stops the server and starts it again on the same port.
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(self.port, &self.args);
    }

    /// Starts the server on `port` and waits until it accepts connections.
    fn spawn(port: u16, args: &[String]) -> Child {
        // `$NATS_SERVER`, else `nats-server` on the `PATH`, else Debian's, which is in
        // /usr/sbin, not on every user's `PATH`.
        let candidates = match std::env::var("NATS_SERVER") {
            Ok(program) => vec![program],
            Err(_) => vec!["nats-server".into(), "/usr/sbin/nats-server".into()],
        };
        let mut started = None;
        for program in &candidates {
            let child = Command::new(program)
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            match child {
                Ok(child) => {
                    started = Some((program.clone(), child));
                    break;
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => panic!("cannot start `{program}`: {error}"),
            }
        }
        let Some((program, mut child)) = started else {
            panic!(
                "no NATS server binary was found (tried {candidates:?}): these tests need one. \
                 Install it with `apt-get install nats-server` (Debian, Ubuntu) or \
                 `brew install nats-server` (macOS), or set NATS_SERVER to its path"
            );
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("`{program}` exited before it listened on port {port}: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "`{program}` did not listen on port {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Options for this server, with a prefix of the test's own.
    fn nats(&self, prefix: &str) -> NatsBuilder {
        NatsBuilder::new(self.url())
            .prefix(prefix)
            .connect_timeout(Duration::from_secs(5))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A host on a thread of its own, with a counter module, announcing itself every 100 ms.
struct Host {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    stats: NatsStats,
    epoch: Epoch,
}

impl Host {
    fn start(nats: NatsBuilder) -> Self {
        Self::start_with(nats, |transport| Box::new(transport))
    }

    /// Starts a host whose transport is `wrap(the NATS host transport)`.
    fn start_with(
        nats: NatsBuilder,
        wrap: impl FnOnce(NatsHost) -> Box<dyn Transport> + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (started, running) = std::sync::mpsc::channel();
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let transport = nats.host().expect("the host connects");
            let stats = transport.stats();
            let app = WorkerApp::builder()
                .module(
                    Module::new("counter", Store::new(0_i64))
                        .method("add", |s, n: i64| {
                            s.update(move |c| *c += n);
                            s.get_state()
                        })
                        .method("echo", |_, text: String| text),
                )
                .build(wrap(transport));
            started.send((stats, app.epoch())).expect("the test waits");
            let mut announced = Instant::now();
            while !stopping.load(Ordering::Relaxed) {
                if app.pump() == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if announced.elapsed() >= Duration::from_millis(100) {
                    app.announce();
                    announced = Instant::now();
                }
            }
        });
        let (stats, epoch) = running.recv().expect("the host starts");
        Self {
            stop,
            thread: Some(thread),
            stats,
            epoch,
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let joined = thread.join();
            if joined.is_err() && !std::thread::panicking() {
                panic!("the host thread panicked");
            }
        }
    }
}

/// Pumps `clients` until `done()`, failing after 10 s.
fn wait_until(clients: &[&WorkerClient], what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        for client in clients {
            client.pump();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn count(client: &WorkerClient) -> Option<i64> {
    client.with_state(|state| state["counter"].as_i64())
}

fn ready(client: &WorkerClient) {
    client
        .wait_ready(Duration::from_secs(10))
        .expect("the client receives its first snapshot");
}

fn clients_converge_with(codec: impl Codec + Clone + Send + Sync + 'static, prefix: &str) {
    let server = NatsServer::start();
    let nats = server.nats(prefix).codec(codec);
    let _host = Host::start(nats.clone());
    let clients: Vec<WorkerClient> = (0..4)
        .map(|_| WorkerClient::new(nats.clone().client().expect("a client connects")))
        .collect();
    for client in &clients {
        ready(client);
    }
    // Every client calls at once; none waits for the others.
    let calls: Vec<_> = clients
        .iter()
        .enumerate()
        .flat_map(|(i, client)| (1..=5).map(move |n| client.call("counter", "add", (i + 1) * n)))
        .collect();
    for call in calls {
        call.wait().expect("every call succeeds");
    }
    let total: i64 = (1..=4).map(|i| i * 15).sum();
    let all: Vec<&WorkerClient> = clients.iter().collect();
    wait_until(&all, "every client shows the total", || {
        clients.iter().all(|c| count(c) == Some(total))
    });
    let versions: Vec<_> = clients.iter().map(WorkerClient::version).collect();
    assert!(versions.iter().all(|v| *v == 20), "{versions:?}");
}

#[test]
#[ignore = "needs nats-server"]
fn clients_converge_with_json() {
    clients_converge_with(JsonCodec, "converge.json");
}

#[test]
#[ignore = "needs nats-server"]
fn clients_converge_with_postcard() {
    clients_converge_with(PostcardCodec, "converge.postcard");
}

#[test]
#[ignore = "needs nats-server"]
fn results_go_only_to_their_caller() {
    let server = NatsServer::start();
    let nats = server.nats("routing");
    let _host = Host::start(nats.clone());
    let one = WorkerClient::new(nats.clone().client().expect("a client connects"));
    let two = WorkerClient::new(nats.clone().client().expect("a client connects"));
    ready(&one);
    ready(&two);
    // Both clients number their calls alike: each round's two calls have the same id.
    for round in 0..20 {
        let a = one.call("counter", "echo", format!("one {round}"));
        let b = two.call("counter", "echo", format!("two {round}"));
        assert_eq!(b.wait().expect("two's call"), json!(format!("two {round}")));
        assert_eq!(a.wait().expect("one's call"), json!(format!("one {round}")));
    }
}

#[test]
#[ignore = "needs nats-server"]
fn late_joiner_recovers_by_snapshot() {
    let server = NatsServer::start();
    let nats = server.nats("late");
    let _host = Host::start(nats.clone());
    let early = WorkerClient::new(nats.clone().client().expect("a client connects"));
    for n in 1..=5 {
        early.call_blocking("counter", "add", n).expect("a call");
    }
    let late = WorkerClient::new(nats.clone().client().expect("a client connects"));
    ready(&late);
    assert_eq!(count(&late), Some(15));
    assert_eq!(late.version(), 5);
    // From there on it follows the patches.
    early.call_blocking("counter", "add", 1).expect("a call");
    wait_until(&[&late], "the late client follows", || {
        count(&late) == Some(16)
    });
    assert_eq!(late.version(), 6);
}

#[test]
#[ignore = "needs nats-server"]
fn a_lost_state_message_is_recovered_by_snapshot() {
    let server = NatsServer::start();
    let nats = server.nats("lossy");
    // The host's second change never reaches anyone.
    let _host = Host::start_with(nats.clone(), |transport| {
        let lossy = FaultTransport::new(transport);
        lossy.set_plan(|message| match message {
            Message::State(update) if update.version == 2 && update.sync_id.is_none() => {
                Fault::Drop
            }
            _ => Fault::Deliver,
        });
        Box::new(lossy)
    });
    let conflicts = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&conflicts);
    let client = WorkerClient::builder(nats.clone().client().expect("a client connects"))
        .on_conflict(move |conflict| seen.borrow_mut().push(conflict.reason))
        .build();
    let watcher = WorkerClient::new(nats.client().expect("a client connects"));
    ready(&client);
    ready(&watcher);
    let calls: Vec<_> = (1..=3).map(|n| client.call("counter", "add", n)).collect();
    let results: Vec<_> = calls
        .into_iter()
        .map(|call| call.wait().expect("a call"))
        .collect();
    assert_eq!(results, [json!(1), json!(3), json!(6)]);
    assert_eq!(count(&client), Some(6));
    assert!(
        conflicts.borrow().contains(&ConflictReason::VersionGap),
        "{:?}",
        conflicts.borrow()
    );
    // A client that only watches catches up too, at the next patch or heartbeat.
    wait_until(&[&watcher], "the watcher catches up", || {
        count(&watcher) == Some(6)
    });
}

#[test]
#[ignore = "needs nats-server"]
fn a_restarted_host_is_a_new_epoch() {
    let server = NatsServer::start();
    let nats = server.nats("restart");
    let first = Host::start(nats.clone());
    let client = WorkerClient::new(nats.clone().client().expect("a client connects"));
    ready(&client);
    assert_eq!(client.epoch(), Some(first.epoch));
    client.call_blocking("counter", "add", 5).expect("a call");
    drop(first);

    let second = Host::start(nats);
    wait_until(&[&client], "the client follows the new host", || {
        client.epoch() == Some(second.epoch) && count(&client) == Some(0)
    });
    assert_eq!(
        client.call_blocking("counter", "add", 2).expect("a call"),
        json!(2)
    );
}

#[test]
#[ignore = "needs nats-server"]
fn hostile_bytes_do_not_stop_the_host() {
    let server = NatsServer::start();
    let nats = server.nats("hostile");
    let host = Host::start(nats.clone());
    let client = WorkerClient::new(nats.clone().client().expect("a client connects"));
    ready(&client);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (unknown_module, bad_arguments) = runtime.block_on(async {
        let raw = async_nats::connect(server.url())
            .await
            .expect("a raw connection");
        let call = nats.call_subject();
        let state = nats.state_subject();
        let reply = raw.new_inbox();
        let mut replies = raw.subscribe(reply.clone()).await.expect("a subscription");
        let nested = "[".repeat(10_000);
        let postcard = PostcardCodec
            .encode(&Message::Sync(stateloom_worker::SyncRequest {
                id: 1,
                min_version: 0,
            }))
            .expect("encodes");
        let hostile: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\xff\xfe garbage".to_vec(),
            b"{\"type\":\"explode\",\"id\":1}".to_vec(),
            b"{\"type\":\"call\",\"id\":\"one\"}".to_vec(),
            nested.into_bytes(),
            postcard,
            // Host-to-client messages published on the call subject.
            br#"{"type":"state","epoch":1,"version":99,"payload":{"snapshot":{"counter":-1}},"sync_id":null}"#.to_vec(),
            br#"{"type":"result","id":2,"epoch":1,"version":99,"outcome":{"ok":-1}}"#.to_vec(),
            br#"{"type":"ready","epoch":1,"version":99}"#.to_vec(),
        ];
        for bytes in &hostile {
            raw.publish_with_reply(call.clone(), reply.clone(), bytes.clone().into())
                .await
                .expect("publishes");
        }
        // A well-formed call without a reply subject cannot be answered: dropped.
        raw.publish(
            call.clone(),
            br#"{"type":"call","id":7,"module":"counter","method":"add","args":1000}"#
                .to_vec()
                .into(),
        )
        .await
        .expect("publishes");
        // Garbage and forged results on the state subject, which clients hear.
        for bytes in [
            b"\x00\x01\x02".to_vec(),
            br#"{"type":"result","id":2,"epoch":1,"version":99,"outcome":{"ok":-1}}"#.to_vec(),
        ] {
            raw.publish(state.clone(), bytes.into())
                .await
                .expect("publishes");
        }
        // Calls the host can answer, with an error.
        for bytes in [
            br#"{"type":"call","id":8,"module":"nope","method":"add","args":1}"#.to_vec(),
            br#"{"type":"call","id":9,"module":"counter","method":"add","args":"one"}"#.to_vec(),
        ] {
            raw.publish_with_reply(call.clone(), reply.clone(), bytes.into())
                .await
                .expect("publishes");
        }
        raw.flush().await.expect("flushes");
        let mut answers = Vec::new();
        for _ in 0..2 {
            let message = tokio::time::timeout(Duration::from_secs(10), replies.next())
                .await
                .expect("an answer within 10 s")
                .expect("the subscription is open");
            answers.push(JsonCodec.decode(&message.payload).expect("the host's answer decodes"));
        }
        let second = answers.pop().expect("two answers");
        let first = answers.pop().expect("two answers");
        (first, second)
    });
    for (answer, id, code) in [
        (unknown_module, 8, "unknown-module"),
        (bad_arguments, 9, "bad-arguments"),
    ] {
        let Message::Result(result) = answer else {
            panic!("a result, not {answer:?}");
        };
        assert_eq!(result.id, id, "the caller's own id comes back");
        let Outcome::Error(error) = result.outcome else {
            panic!("an error, not {:?}", result.outcome);
        };
        assert_eq!(error.code, code);
    }

    // The host still serves, and nothing hostile reached the state.
    assert_eq!(
        client.call_blocking("counter", "add", 1).expect("a call"),
        json!(1)
    );
    assert_eq!(count(&client), Some(1));
    assert_eq!(host.stats.rejected(), 10, "{:?}", host.stats);
    // The twelve above, the client's first sync request and its call.
    assert!(host.stats.received() >= 14, "{:?}", host.stats);
}

#[test]
#[ignore = "needs nats-server"]
fn clients_see_hostile_state_bytes_as_rejected() {
    let server = NatsServer::start();
    let nats = server.nats("hostile.state");
    let _host = Host::start(nats.clone());
    let transport = nats.clone().client().expect("a client connects");
    let stats = transport.stats();
    let client = WorkerClient::new(transport);
    ready(&client);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let raw = async_nats::connect(server.url())
            .await
            .expect("a raw connection");
        for bytes in [
            b"\x00\x01\x02".to_vec(),
            br#"{"type":"result","id":2,"epoch":1,"version":99,"outcome":{"ok":-1}}"#.to_vec(),
            br#"{"type":"call","id":7,"module":"counter","method":"add","args":1000}"#.to_vec(),
        ] {
            raw.publish(nats.state_subject(), bytes.into())
                .await
                .expect("publishes");
        }
        raw.flush().await.expect("flushes");
    });
    wait_until(&[&client], "the client rejected all three", || {
        stats.rejected() >= 3
    });
    assert_eq!(stats.rejected(), 3, "{stats:?}");
    assert_eq!(
        client.call_blocking("counter", "add", 4).expect("a call"),
        json!(4)
    );
}

#[test]
#[ignore = "needs nats-server"]
fn the_server_token_is_required() {
    let server = NatsServer::start_with(&["--auth", "s3cret"]);
    let nats = server.nats("auth");
    let refused = nats.clone().token("wrong").client();
    assert!(
        matches!(&refused, Err(Error::Transport(message)) if message.contains("cannot connect")),
        "{refused:?}"
    );
    let _host = Host::start(nats.clone().token("s3cret"));
    let client = WorkerClient::new(nats.token("s3cret").client().expect("a client connects"));
    ready(&client);
    assert_eq!(
        client.call_blocking("counter", "add", 3).expect("a call"),
        json!(3)
    );
}

#[test]
fn a_bad_prefix_is_an_error() {
    for prefix in ["", "a..b", "a.*", "a.>", "has space"] {
        let result = NatsBuilder::new("nats://127.0.0.1:1").prefix(prefix).host();
        assert!(
            matches!(&result, Err(Error::Transport(m)) if m.contains("not a NATS subject prefix")),
            "{prefix:?}: {result:?}"
        );
    }
}

#[test]
#[ignore = "needs nats-server"]
fn transports_connect_from_inside_an_async_runtime() {
    let server = NatsServer::start();
    let nats = server.nats("inside.async");
    let _host = Host::start(nats.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // Connecting blocks the calling thread, but starts no runtime on it.
    let transport = runtime
        .block_on(async { nats.client() })
        .expect("a client connects");
    let client = WorkerClient::new(transport);
    ready(&client);
}

#[test]
#[ignore = "needs nats-server"]
fn transports_reconnect_after_a_server_restart() {
    let mut server = NatsServer::start();
    let nats = server.nats("reconnect");
    let host = Host::start(nats.clone());
    let client = WorkerClient::new(nats.client().expect("a client connects"));
    ready(&client);
    client.call_blocking("counter", "add", 1).expect("a call");
    server.restart();

    // Requests published while the connections were down may be lost: probe with a call
    // that changes nothing until one comes back.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let probe = client.call_with(
            "counter",
            "echo",
            "ping",
            stateloom_worker::CallOptions::new().timeout(Duration::from_millis(500)),
        );
        match probe.wait() {
            Ok(answer) => {
                assert_eq!(answer, json!("ping"));
                break;
            }
            Err(Error::Timeout { .. }) => {
                assert!(
                    Instant::now() < deadline,
                    "the transports did not reconnect"
                );
            }
            Err(error) => panic!("unexpected: {error}"),
        }
    }
    assert_eq!(
        client.call_blocking("counter", "add", 2).expect("a call"),
        json!(3)
    );
    assert_eq!(count(&client), Some(3));
    assert_eq!(client.epoch(), Some(host.epoch), "the same host lifetime");
    assert_eq!(
        host.stats.rejected(),
        0,
        "nothing was refused: {:?}",
        host.stats
    );
}
