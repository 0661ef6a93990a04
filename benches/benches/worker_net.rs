//! Worker over loopback TCP: a call's round trip with each codec, calls per second and
//! latency percentiles with 64 clients calling at once, and the bytes a one-item patch takes
//! on the wire.
//!
//! Criterion times the single-client round trip. The 64-client figures are a fixed-size run
//! printed after criterion's (`calls/s`, p50, p99), because they measure many calls in flight
//! at once rather than one repeated operation.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde::{Deserialize, Serialize};
use stateloom_store::Store;
use stateloom_worker::net::{NetClient, NetHost, WireCodec};
use stateloom_worker::{
    Codec, JsonCodec, Message, Module, PostcardCodec, Transport, WorkerApp, WorkerClient,
    memory_pair,
};

const CLIENTS: usize = 64;
/// Calls each of the 64 clients makes per run.
const CALLS_PER_CLIENT: usize = 400;

/// A counter app on its own thread, served on a loopback port.
struct Served {
    host: NetHost,
    addr: String,
    thread: Option<JoinHandle<()>>,
}

impl Served {
    fn start(batch: usize) -> Self {
        let host = NetHost::builder().max_connections(256).build();
        let served = host.clone();
        let (built, ready) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let app = WorkerApp::builder()
                .batch_calls(batch)
                .module(
                    Module::new("counter", Store::new(0_i64))
                        .method("increment", |s, (): ()| {
                            s.update(|n| *n += 1);
                            s.get_state()
                        })
                        .method("get", |s, (): ()| s.get_state()),
                )
                .build(served);
            built.send(()).expect("the bench waits");
            app.run();
        });
        ready.recv().expect("the app starts");
        let addr = host
            .serve_tcp(TcpListener::bind("127.0.0.1:0").expect("a loopback port"))
            .expect("serving")
            .local_addr()
            .to_owned();
        Self {
            host,
            addr,
            thread: Some(thread),
        }
    }

    fn client(&self, codec: WireCodec) -> WorkerClient {
        let net = NetClient::builder()
            .codec(codec)
            .connect_tcp(&self.addr)
            .expect("connects");
        let client = WorkerClient::new(net);
        client
            .wait_ready(Duration::from_secs(30))
            .expect("the host answers");
        client
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.host.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn round_trip(c: &mut Criterion) {
    let served = Served::start(1);
    let mut group = c.benchmark_group("worker_net_round_trip");
    for codec in [WireCodec::Json, WireCodec::Postcard] {
        let client = served.client(codec);
        group.bench_function(format!("stateloom_{codec}"), |b| {
            b.iter(|| {
                client
                    .call_blocking("counter", "increment", ())
                    .expect("ok")
            });
        });
        client.dispose();
    }
    group.finish();
}

/// What one 64-client run measured.
struct Load {
    calls_per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// `clients` clients, each on its own thread with `window` calls in flight, make
/// `calls` calls each of `method`.
fn load(
    served: &Served,
    codec: WireCodec,
    method: &'static str,
    (clients, window, calls): (usize, usize, usize),
) -> Load {
    let start_line = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let addr = served.addr.clone();
            let start_line = Arc::clone(&start_line);
            std::thread::spawn(move || {
                let net = NetClient::builder()
                    .codec(codec)
                    .connect_tcp(&addr)
                    .expect("connects");
                let client = WorkerClient::new(net);
                client
                    .wait_ready(Duration::from_secs(30))
                    .expect("the host answers");
                start_line.wait();
                let mut latencies = Vec::with_capacity(calls);
                let mut in_flight = std::collections::VecDeque::new();
                for _ in 0..calls {
                    if in_flight.len() == window {
                        let (sent, call): (Instant, stateloom_worker::PendingCall) =
                            in_flight.pop_front().expect("a call");
                        call.wait().expect("ok");
                        latencies.push(sent.elapsed());
                    }
                    in_flight.push_back((Instant::now(), client.call("counter", method, ())));
                }
                for (sent, call) in in_flight {
                    call.wait().expect("ok");
                    latencies.push(sent.elapsed());
                }
                client.dispose();
                latencies
            })
        })
        .collect();
    start_line.wait();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("a client thread"))
        .collect();
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Load {
        calls_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// The bytes of the state message a one-item toggle in a 100-item list publishes, framed as
/// the network host sends it (4 bytes of length and 1 of kind around the codec's bytes).
fn patch_bytes() -> [(String, usize); 2] {
    #[derive(Clone, PartialEq, Serialize, Deserialize)]
    struct Todo {
        id: u32,
        title: String,
        done: bool,
    }
    let store = Store::new(
        (0..100)
            .map(|id| Todo {
                id,
                title: format!("todo {id}"),
                done: false,
            })
            .collect::<Vec<_>>(),
    );
    let (host, client) = memory_pair();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let app = WorkerApp::builder()
        .module(Module::new("todos", store).method("toggle", |s, id: u32| {
            s.update(move |list| {
                for todo in list.iter_mut().filter(|t| t.id == id) {
                    todo.done = !todo.done;
                }
            });
        }))
        .build(Recording {
            inner: host,
            seen: Arc::clone(&seen),
        });
    client
        .post(Message::Call(stateloom_worker::Call {
            id: 1,
            module: "todos".into(),
            method: "toggle".into(),
            args: serde_json::json!(42),
        }))
        .expect("posts");
    app.pump();
    let state = seen
        .lock()
        .expect("not poisoned")
        .iter()
        .find(|m| matches!(m, Message::State(u) if !u.payload.is_snapshot()))
        .cloned()
        .expect("a patch was published");
    [&JsonCodec as &dyn Codec, &PostcardCodec].map(|codec| {
        (
            codec.name().to_owned(),
            codec.encode(&state).expect("encodes").len() + 5,
        )
    })
}

/// A host-side transport that records what the host sends.
struct Recording<T> {
    inner: T,
    seen: Arc<std::sync::Mutex<Vec<Message>>>,
}

impl<T: Transport> Transport for Recording<T> {
    fn post(&self, message: Message) -> stateloom_worker::Result<()> {
        self.seen
            .lock()
            .expect("not poisoned")
            .push(message.clone());
        self.inner.post(message)
    }

    fn subscribe(&self, inbox: stateloom_worker::Inbox) {
        self.inner.subscribe(inbox);
    }
}

fn benches(c: &mut Criterion) {
    round_trip(c);
}

#[allow(clippy::print_stdout)] // A bench binary reports on stdout, like criterion.
fn main() -> ExitCode {
    let code = stateloom_benches::harness::main(&[], benches);
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return code;
    }
    // One client alone, one call at a time: the latency of a round trip.
    let served = Served::start(1);
    for codec in [WireCodec::Json, WireCodec::Postcard] {
        let run = load(&served, codec, "increment", (1, 1, 5_000));
        println!(
            "worker_net_alone/increment/{codec}: {:.0} calls/s, p50 {:.0?}, p99 {:.0?}",
            run.calls_per_second, run.p50, run.p99
        );
    }
    drop(served);
    // 64 clients: one version per call, then calls committed in batches of up to 256; each
    // client with one call in flight (latency), then 16 (throughput).
    for batch in [1, 256] {
        let served = Served::start(batch);
        for window in [1, 16] {
            for method in ["get", "increment"] {
                for codec in [WireCodec::Json, WireCodec::Postcard] {
                    let shape = (CLIENTS, window, CALLS_PER_CLIENT);
                    let run = load(&served, codec, method, shape);
                    println!(
                        "worker_net_load_64/batch{batch}/window{window}/{method}/{codec}: \
                         {:.0} calls/s, p50 {:.0?}, p99 {:.0?}",
                        run.calls_per_second, run.p50, run.p99
                    );
                }
            }
        }
    }
    for (codec, bytes) in patch_bytes() {
        println!("worker_net_patch_bytes/{codec}: {bytes} bytes for a one-item toggle");
    }
    code
}
