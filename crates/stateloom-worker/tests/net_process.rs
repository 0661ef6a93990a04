//! Hosts and clients in separate processes, over TCP and over a Unix socket: concurrent
//! calls, the host killed and restarted mid-way, and every client converging.
//!
//! The test binary plays every part: run with `STATELOOM_NET_CHILD` set, its `child` test
//! becomes a host or a client process, talking to the parent test over stdin and stdout.
#![cfg(feature = "net")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use stateloom_store::Store;
use stateloom_worker::net::{NetClient, NetClientBuilder, NetHost};
use stateloom_worker::{Error, Module, WorkerApp, WorkerClient};

const PATIENCE: Duration = Duration::from_secs(60);
const CLIENTS: usize = 3;

// ---------------------------------------------------------------------------------------
// The child processes.

#[test]
#[ignore = "a child process of the multi-process tests; not a test by itself"]
fn child() {
    let role = std::env::var("STATELOOM_NET_CHILD").expect("run by the multi-process tests");
    let parts: Vec<&str> = role.splitn(4, ' ').collect();
    match parts.as_slice() {
        ["host", kind, addr] => host_process(kind, addr),
        ["client", kind, addr, name] => client_process(kind, addr, name),
        _ => panic!("unknown role {role}"),
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "@@ {line}").unwrap();
    out.flush().unwrap();
}

fn host_process(kind: &str, addr: &str) {
    let host = NetHost::builder().build();
    let tally = Store::new(BTreeMap::<String, u64>::new());
    let app = WorkerApp::builder()
        .module(
            Module::new("tally", tally)
                .method("record", |s, name: String| {
                    let key = name.clone();
                    s.update(move |t| *t.entry(key).or_default() += 1);
                    s.get_state()[&name]
                })
                .method("read", |s, (): ()| s.get_state()),
        )
        .build(host.clone());
    let listening = match kind {
        "tcp" => host
            .serve_tcp(std::net::TcpListener::bind(addr).unwrap())
            .unwrap(),
        #[cfg(unix)]
        "unix" => {
            // A socket file left by a killed host.
            let _ = std::fs::remove_file(addr);
            host.serve_unix(std::os::unix::net::UnixListener::bind(addr).unwrap())
                .unwrap()
        }
        _ => panic!("unknown transport {kind}"),
    };
    say(&format!("LISTENING {}", listening.local_addr()));
    // Until killed.
    app.run();
}

fn builder() -> NetClientBuilder {
    NetClient::builder().backoff(Duration::from_millis(5), Duration::from_millis(100))
}

fn connect(kind: &str, addr: &str) -> WorkerClient {
    let net = match kind {
        "tcp" => builder().connect_tcp(addr).unwrap(),
        #[cfg(unix)]
        "unix" => builder().connect_unix(addr).unwrap(),
        _ => panic!("unknown transport {kind}"),
    };
    let client = WorkerClient::builder(net).timeout(Some(PATIENCE)).build();
    client.wait_ready(PATIENCE).unwrap();
    client
}

fn count(client: &WorkerClient, name: &str) -> u64 {
    client.with_state(|s| s["tally"][name].as_u64().unwrap_or(0))
}

/// Calls `tally.record(name)` until the parent says `FINISH`, checking each result against
/// the mirror; reports how many calls succeeded in the last host lifetime, then converges to
/// the state the parent sends.
fn client_process(kind: &str, addr: &str, name: &str) {
    let client = connect(kind, addr);
    let finish = Arc::new(AtomicBool::new(false));
    let (lines_tx, lines) = mpsc::channel::<String>();
    {
        let finish = Arc::clone(&finish);
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let line = line.unwrap();
                if line == "FINISH" {
                    finish.store(true, Ordering::SeqCst);
                } else {
                    let _ = lines_tx.send(line);
                }
            }
        });
    }
    let first_epoch = client.epoch();
    let mut results: Vec<(Option<u64>, u64)> = Vec::new();
    let mut told_started = false;
    let mut told_epoch = false;
    let mut lost = 0;
    while !finish.load(Ordering::SeqCst) {
        match client.call_blocking("tally", "record", name) {
            Ok(value) => {
                let value = value.as_u64().unwrap();
                assert!(
                    count(&client, name) >= value,
                    "{name}: result {value} settled before the mirror showed it"
                );
                results.push((client.epoch(), value));
            }
            // The host died with the call in flight: whether it ran there is unknown, and
            // that lifetime's state is gone anyway.
            Err(Error::AuthorityChanged) => lost += 1,
            Err(e) => panic!("{name}: {e}"),
        }
        if !told_started && results.len() >= 5 {
            say("STARTED");
            told_started = true;
        }
        if !told_epoch && client.epoch() != first_epoch {
            say("NEW_EPOCH");
            told_epoch = true;
        }
    }
    // In the final lifetime, this client's results are exactly 1, 2, ... k: none lost, none
    // run twice, none settled twice.
    let last = client.epoch();
    let mut mine: Vec<u64> = results
        .iter()
        .filter(|(e, _)| *e == last)
        .map(|(_, v)| *v)
        .collect();
    mine.sort_unstable();
    let k = mine.len() as u64;
    assert_eq!(mine, (1..=k).collect::<Vec<_>>(), "{name}: results");
    say(&format!("DONE {k} {lost}"));
    let expected: serde_json::Value =
        serde_json::from_str(&lines.recv_timeout(PATIENCE).unwrap()).unwrap();
    let start = Instant::now();
    while client.get_state()["tally"] != expected {
        assert!(start.elapsed() < PATIENCE, "{name}: never converged");
        client.pump();
        std::thread::sleep(Duration::from_millis(2));
    }
    say("CONVERGED");
}

// ---------------------------------------------------------------------------------------
// The parent.

/// A child process and the `@@` lines it prints.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(role: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("STATELOOM_NET_CHILD", role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // The test harness may print its own words before ours on the same line.
                if let Some((_, line)) = line.split_once("@@ ") {
                    let _ = tx.send(line.to_owned());
                }
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines,
        }
    }

    fn expect(&self, prefix: &str) -> String {
        let line = self
            .lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("no {prefix} line"));
        assert!(line.starts_with(prefix), "expected {prefix}, got {line}");
        line[prefix.len()..].trim().to_owned()
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn succeed(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "a child process failed: {status}");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kill_and_restart(kind: &str, bind: &str) {
    let host = Proc::spawn(&format!("host {kind} {bind}"));
    let addr = host.expect("LISTENING");
    let mut clients: Vec<Proc> = (0..CLIENTS)
        .map(|i| Proc::spawn(&format!("client {kind} {addr} c{i}")))
        .collect();
    for client in &clients {
        client.expect("STARTED");
    }
    // Kill the host mid-calls, and bring a new one up at the same address.
    drop(host);
    let second = Proc::spawn(&format!("host {kind} {addr}"));
    assert_eq!(second.expect("LISTENING"), addr);
    for client in &clients {
        client.expect("NEW_EPOCH");
    }
    std::thread::sleep(Duration::from_millis(100));
    for client in &mut clients {
        client.send("FINISH");
    }
    let mut expected = serde_json::Map::new();
    for (i, client) in clients.iter().enumerate() {
        let done = client.expect("DONE");
        let k: u64 = done.split(' ').next().unwrap().parse().unwrap();
        expected.insert(format!("c{i}"), k.into());
    }
    // The new host's state is exactly the calls that succeeded in its lifetime.
    let observer = connect(kind, &addr);
    let state = observer.call_blocking("tally", "read", ()).unwrap();
    assert_eq!(state, serde_json::Value::Object(expected));
    for client in &mut clients {
        client.send(&state.to_string());
    }
    for client in clients {
        client.expect("CONVERGED");
        client.succeed();
    }
}

#[test]
fn tcp_clients_survive_a_host_restart() {
    kill_and_restart("tcp", "127.0.0.1:0");
}

#[cfg(unix)]
#[test]
fn unix_socket_clients_survive_a_host_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.sock");
    kill_and_restart("unix", path.to_str().unwrap());
}
