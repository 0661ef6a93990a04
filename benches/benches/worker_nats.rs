//! The worker over NATS: one host write fanned out through a local `nats-server` to 8
//! clients, each with its own connection, until every client's mirror shows it.
//!
//! It starts `nats-server` (from the `PATH`, `/usr/sbin` or `$NATS_SERVER`) on a free loopback
//! port and kills it at the end; without the binary it says so and measures nothing.
//! Run it with `cargo bench -p stateloom-benches --bench worker_nats`.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use stateloom_store::Store;
use stateloom_worker::{Module, NatsBuilder, PostcardCodec, WorkerApp, WorkerClient};

const CLIENTS: usize = 8;

/// A `nats-server` on a free loopback port, killed on drop.
struct NatsServer {
    child: Child,
    port: u16,
}

impl NatsServer {
    /// Starts the server; `None` if there is no binary to start.
    fn start() -> Option<Self> {
        let candidates = match std::env::var("NATS_SERVER") {
            Ok(program) => vec![program],
            Err(_) => vec!["nats-server".into(), "/usr/sbin/nats-server".into()],
        };
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let mut child = candidates.iter().find_map(|program| {
            Command::new(program)
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()
        })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                let _ = child.kill();
                panic!("nats-server did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Self { child, port })
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pumps `clients` until each has reached `version`.
fn wait_for(clients: &[WorkerClient], version: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut behind = false;
        for client in clients {
            client.pump();
            behind |= client.version() < version;
        }
        if !behind {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the clients did not reach {version}"
        );
        std::thread::yield_now();
    }
}

/// One host write reaching 8 clients through NATS, with the postcard codec.
fn fanout_8(c: &mut Criterion) {
    let Some(server) = NatsServer::start() else {
        eprintln!(
            "skipping worker_nats_fanout_8: no nats-server binary (apt-get install nats-server, \
             or set NATS_SERVER)"
        );
        return;
    };
    let nats = NatsBuilder::new(format!("nats://127.0.0.1:{}", server.port))
        .prefix("bench.fanout")
        .codec(PostcardCodec);
    let store = Store::new(0_i64);
    // Writes made outside calls are published as they happen: the host needs no pumping.
    let app = WorkerApp::builder()
        .module(Module::new("counter", store.clone()))
        .build(nats.clone().host().expect("the host connects"));
    let clients: Vec<WorkerClient> = (0..CLIENTS)
        .map(|_| WorkerClient::new(nats.clone().client().expect("a client connects")))
        .collect();
    // The first snapshot answers each client's sync request, which the host reads when pumped.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !clients.iter().all(WorkerClient::is_ready) {
        assert!(Instant::now() < deadline, "the clients did not get ready");
        app.pump();
        for client in &clients {
            client.pump();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let update = || {
        store.update(|n| *n += 1);
        wait_for(&clients, app.version());
    };
    update();
    let expected = store.get_state();
    for client in &clients {
        assert_eq!(client.get_state()["counter"], expected);
    }
    let mut group = c.benchmark_group("worker_nats_fanout_8");
    group.bench_function("stateloom", |b| b.iter(update));
    group.finish();
    drop(clients);
    drop(app);
}

fn benches(c: &mut Criterion) {
    fanout_8(c);
}

fn main() -> ExitCode {
    stateloom_benches::harness::main(&[], benches)
}
