//! The `net` feature: hosts and clients over TCP and Unix sockets, in one process. The
//! multi-process tests are in `tests/net_process.rs`, hostile input in `tests/net_hostile.rs`.
#![cfg(feature = "net")]

mod load;
mod reconnect;
mod serve;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Receiver;
use stateloom_store::Store;
use stateloom_worker::net::{NetClient, NetClientBuilder, NetHost, NetHostBuilder};
use stateloom_worker::{Module, RemoteError, WorkerApp, WorkerClient};

/// A host app on a thread of its own, served on a loopback TCP port.
pub(crate) struct TestHost {
    pub(crate) host: NetHost,
    pub(crate) addr: String,
    thread: Option<JoinHandle<()>>,
    listening: Option<stateloom_worker::net::Listening>,
}

/// How long anything may take before a test gives up instead of hanging.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

impl TestHost {
    /// The tally app: `tally.record(name)` counts one more for `name` and returns the new
    /// count; `tally.read()` returns every count; `gate.wait()` blocks until the test sends
    /// on `gate` (or drops it).
    pub(crate) fn start(builder: NetHostBuilder, gate: Option<Receiver<()>>) -> Self {
        Self::start_on(builder, TcpListener::bind("127.0.0.1:0").unwrap(), gate)
    }

    pub(crate) fn start_on(
        builder: NetHostBuilder,
        listener: TcpListener,
        gate: Option<Receiver<()>>,
    ) -> Self {
        let host = builder.build();
        let served = host.clone();
        let (built, ready) = crossbeam_channel::bounded(1);
        let thread = std::thread::spawn(move || {
            let app = tally_app(gate).build(served);
            built.send(()).unwrap();
            app.run();
        });
        ready.recv().unwrap();
        let listening = host.serve_tcp(listener).unwrap();
        let addr = listening.local_addr().to_owned();
        Self {
            host,
            addr,
            thread: Some(thread),
            listening: Some(listening),
        }
    }

    pub(crate) fn client(&self) -> WorkerClient {
        connect(NetClient::builder(), &self.addr)
    }

    /// Shuts the host down and waits for its app thread and its listener to stop.
    pub(crate) fn stop(mut self) {
        self.host.shutdown();
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        if let Some(listening) = self.listening.take() {
            listening.join();
        }
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        self.host.shutdown();
    }
}

pub(crate) fn tally_app(gate: Option<Receiver<()>>) -> stateloom_worker::WorkerAppBuilder {
    let tally = Store::new(BTreeMap::<String, u64>::new());
    let gate_store = Store::new(0_u64);
    // Calls that queue up while others run are committed together.
    WorkerApp::builder()
        .batch_calls(32)
        .module(
            Module::new("tally", tally)
                .method("record", |s, name: String| {
                    let key = name.clone();
                    s.update(move |t| *t.entry(key).or_default() += 1);
                    s.get_state()[&name]
                })
                .method("read", |s, (): ()| s.get_state()),
        )
        .module(Module::new("gate", gate_store).try_method(
            "wait",
            move |s, (): ()| -> Result<u64, RemoteError> {
                if let Some(gate) = &gate {
                    let _ = gate.recv();
                }
                s.update(|n| *n += 1);
                Ok(s.get_state())
            },
        ))
}

pub(crate) fn connect(builder: NetClientBuilder, addr: &str) -> WorkerClient {
    let client = WorkerClient::builder(builder.connect_tcp(addr).unwrap())
        .timeout(Some(PATIENCE))
        .build();
    client.wait_ready(PATIENCE).unwrap();
    client
}

/// The count of `name` in a mirror of the tally app.
pub(crate) fn count(client: &WorkerClient, name: &str) -> u64 {
    client.with_state(|s| s["tally"][name].as_u64().unwrap_or(0))
}

/// Pumps `client` until `done` holds, or panics after [`PATIENCE`].
pub(crate) fn pump_until(client: &WorkerClient, done: impl Fn(&WorkerClient) -> bool) {
    let start = std::time::Instant::now();
    while !done(client) {
        assert!(start.elapsed() < PATIENCE, "gave up waiting");
        client.pump();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `done` holds, or panics after [`PATIENCE`]: for what another thread does.
pub(crate) fn eventually(done: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "gave up waiting");
        std::thread::sleep(Duration::from_millis(1));
    }
}
