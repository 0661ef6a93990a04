//! Hostile input to the network transport: arbitrary bytes into the frame decoder and the
//! codecs, raw TCP peers and piped streams that break the protocol against a real host, and
//! fake hosts that break the handshake or send unsafe patches to a real client.
//!
//! Every attack against the host is made while a well-behaved client is connected to the same
//! host; each test checks that this client keeps its connection and gets correct answers after
//! the attack, that the host's counters record the attack, and that no thread of the host or
//! the client panicked.
#![cfg(feature = "net")]

#[path = "net_hostile/client.rs"]
mod client;
#[path = "net_hostile/frames.rs"]
mod frames;
#[path = "net_hostile/handshake.rs"]
mod handshake;
#[path = "net_hostile/requests.rs"]
mod requests;
#[path = "net_hostile/sequences.rs"]
mod sequences;

use std::cell::{Cell, RefCell};
use std::io::{Cursor, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use stateloom_store::Store;
use stateloom_worker::net::{
    Frame, FrameDecoder, FrameError, Listening, NetClient, NetClientHandle, NetHost,
    NetHostBuilder, NetHostStats, PROTOCOL_VERSION, Pipe, WireCodec, encode_frame,
};
use stateloom_worker::{
    Call, CallResult, Codec, Conflict, ConflictReason, JsonCodec, Message, Module, Outcome,
    Payload, PostcardCodec, Ready, StateUpdate, SyncRequest, WorkerApp, WorkerClient,
};

/// The proptest case count: `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

/// How long a raw peer waits for the host before the test fails: long enough never to fire
/// on a healthy host, short enough that a hang fails the test instead of blocking it.
const WAIT: Duration = Duration::from_secs(5);

/// The codec ids of a hello, as they travel on the wire.
const JSON_ID: u8 = 0;
const POSTCARD_ID: u8 = 1;

/// Panics on threads of the network transport (`stateloom-net-*`) and of the served app.
static TRANSPORT_PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics on transport and app threads, then reports them as usual.
fn watch_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = thread::current().name().unwrap_or("").to_owned();
            if name.starts_with("stateloom-net") || name == APP_THREAD {
                TRANSPORT_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

fn assert_no_transport_panic() {
    assert_eq!(
        TRANSPORT_PANICS.load(Ordering::SeqCst),
        0,
        "a thread of the network transport panicked"
    );
}

const APP_THREAD: &str = "hostile-test-app";

/// A session id no other raw peer of this test binary uses, so that no peer inherits the
/// calls and acknowledgements of another.
fn fresh_session() -> u128 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    (0x5eed_u128 << 64) | u128::from(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A `WorkerApp` served by a `NetHost` on a loopback TCP port, with a well-behaved client.
struct Served {
    host: NetHost,
    addr: String,
    app: Option<JoinHandle<()>>,
    listening: Option<Listening>,
}

impl Served {
    fn start(builder: NetHostBuilder) -> Self {
        watch_panics();
        let host = builder.build();
        let served = host.clone();
        // Serve connections once the app is built, as the host's documentation asks.
        let (built, ready) = std::sync::mpsc::channel();
        let app = thread::Builder::new()
            .name(APP_THREAD.into())
            .spawn(move || {
                let app = WorkerApp::builder()
                    .module(
                        Module::new("count", Store::new(0_i64)).method("add", |s, n: i64| {
                            s.update(move |c| *c = c.saturating_add(n));
                            s.get_state()
                        }),
                    )
                    .module(
                        Module::new("echo", Store::new(0_u8))
                            .method("echo", |_s, value: Value| value),
                    )
                    .build(served);
                built.send(()).unwrap();
                app.run();
            })
            .unwrap();
        ready.recv().unwrap();
        let listening = host
            .serve_tcp(TcpListener::bind("127.0.0.1:0").unwrap())
            .unwrap();
        Self {
            host,
            addr: listening.local_addr().to_owned(),
            app: Some(app),
            listening: Some(listening),
        }
    }

    fn stats(&self) -> NetHostStats {
        self.host.stats()
    }

    /// A client that follows the protocol, connected and with its first snapshot.
    fn good_client(&self, secret: Option<&[u8]>) -> Good {
        let mut builder = NetClient::builder().reconnect(false);
        if let Some(secret) = secret {
            builder = builder.secret(secret);
        }
        let net = builder.connect_tcp(self.addr.as_str()).unwrap();
        let handle = net.handle();
        let client = WorkerClient::builder(net)
            .timeout(Some(Duration::from_secs(10)))
            .build();
        client.wait_ready(Duration::from_secs(10)).unwrap();
        Good {
            client,
            handle,
            echoes: Cell::new(0),
        }
    }

    /// A raw peer past its handshake, speaking JSON.
    fn raw_peer(&self) -> Peer {
        let mut peer = Peer::connect(&self.addr);
        peer.hello(PROTOCOL_VERSION, JSON_ID);
        let challenge = peer.expect_frame();
        assert!(
            matches!(
                Frame::parse(&challenge),
                Ok(Frame::Challenge { auth: false, .. })
            ),
            "expected a challenge, got {challenge:?}"
        );
        let welcome = peer.expect_frame();
        assert!(
            matches!(Frame::parse(&welcome), Ok(Frame::Welcome { .. })),
            "expected a welcome, got {welcome:?}"
        );
        peer
    }

    /// Waits until the host's stats satisfy `done`, and returns them.
    ///
    /// # Panics
    /// If they do not within [`WAIT`].
    fn wait_stats(&self, what: &str, done: impl Fn(&NetHostStats) -> bool) -> NetHostStats {
        let deadline = Instant::now() + WAIT;
        loop {
            let stats = self.stats();
            if done(&stats) {
                return stats;
            }
            assert!(Instant::now() < deadline, "{what}: {stats:?}");
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.host.shutdown();
        if let Some(listening) = self.listening.take() {
            listening.join();
        }
        if let Some(app) = self.app.take() {
            let joined = app.join();
            if !thread::panicking() {
                joined.unwrap();
            }
        }
    }
}

/// A well-behaved client of a [`Served`] host.
struct Good {
    client: WorkerClient,
    handle: NetClientHandle,
    echoes: Cell<i64>,
}

impl Good {
    /// Checks that the client still works: an echo call comes back with its argument, a
    /// counter call changes the mirrored state, and the connection was never replaced.
    fn check(&self) {
        self.echoes.set(self.echoes.get() + 1);
        let sent = json!({ "check": self.echoes.get(), "text": "still here" });
        assert_eq!(
            self.client.call_blocking("echo", "echo", &sent).unwrap(),
            sent
        );
        let count = self.client.call_blocking("count", "add", 0).unwrap();
        assert!(count.is_i64(), "count.add answered {count}");
        assert!(self.client.get_state()["count"].is_i64());
        assert_eq!(
            self.handle.stats().connections,
            1,
            "the good client lost its connection"
        );
        assert_no_transport_panic();
    }
}

impl Drop for Good {
    fn drop(&mut self) {
        self.client.dispose();
    }
}

/// A raw TCP peer that writes whatever it is told and reads frames back.
struct Peer {
    stream: TcpStream,
    decoder: FrameDecoder,
    next_id: u64,
}

impl Peer {
    fn connect(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        Self {
            stream,
            decoder: FrameDecoder::new(1 << 24),
            next_id: 1,
        }
    }

    /// Writes bytes; a write error means the host already closed the connection, which the
    /// reads that follow see.
    fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    fn send(&mut self, frame: &Frame<'_>) {
        let mut out = Vec::new();
        encode_frame(&frame.to_body(), usize::MAX, &mut out).unwrap();
        self.send_raw(&out);
    }

    fn hello(&mut self, version: u16, codec: u8) {
        self.send(&Frame::Hello {
            version,
            codec,
            session: fresh_session(),
            nonce: [7; 16],
        });
    }

    /// The next frame body, or `None` once the host closed the connection.
    ///
    /// # Panics
    /// If nothing arrives within [`WAIT`]: the host neither answered nor hung up.
    fn next_frame(&mut self) -> Option<Vec<u8>> {
        let mut chunk = [0; 4096];
        loop {
            if let Some(body) = self.decoder.next_frame().unwrap() {
                return Some(body);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.decoder.push(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!("the host neither answered nor closed the connection within {WAIT:?}")
                }
                // A reset: the host closed with our bytes unread.
                Err(_) => return None,
            }
        }
    }

    fn expect_frame(&mut self) -> Vec<u8> {
        self.next_frame()
            .expect("the host closed the connection instead of answering")
    }

    /// Reads until the host closes the connection; returns the frames it sent meanwhile.
    fn until_closed(&mut self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        while let Some(body) = self.next_frame() {
            frames.push(body);
        }
        frames
    }

    /// Reads until the host closes the connection, and returns the reason of its refusal.
    fn refusal(&mut self) -> String {
        let frames = self.until_closed();
        let reasons: Vec<String> = frames
            .iter()
            .filter_map(|body| match Frame::parse(body) {
                Ok(Frame::Refused { reason }) => Some(reason),
                _ => None,
            })
            .collect();
        assert_eq!(reasons.len(), 1, "expected one refusal, got {frames:?}");
        reasons.into_iter().next().unwrap()
    }

    /// Sends one request frame carrying `message` as is.
    fn request(&mut self, message: &[u8]) {
        self.send(&Frame::Request { ack: 0, message });
    }

    /// Sends a call in JSON and returns its id.
    fn call(&mut self, module: &str, method: &str, args: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let message = JsonCodec
            .encode(&Message::Call(Call {
                id,
                module: module.into(),
                method: method.into(),
                args,
            }))
            .unwrap();
        self.request(&message);
        id
    }

    /// Waits for the result of call `id`, skipping state messages and pings.
    fn result(&mut self, id: u64) -> Outcome {
        loop {
            let body = self.expect_frame();
            if let Ok(Frame::Message { message }) = Frame::parse(&body)
                && let Ok(Message::Result(result)) = JsonCodec.decode(message)
                && result.id == id
            {
                return result.outcome;
            }
        }
    }

    /// Calls `module.method` and returns the outcome.
    fn round_trip(&mut self, module: &str, method: &str, args: Value) -> Outcome {
        let id = self.call(module, method, args);
        self.result(id)
    }
}

fn error_code(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Error(error) => &error.code,
        Outcome::Ok(value) => panic!("expected an error, got {value}"),
    }
}

/// A hello body with another magic.
fn hello_with_magic(magic: &[u8; 4]) -> Vec<u8> {
    let mut body = Frame::Hello {
        version: PROTOCOL_VERSION,
        codec: JSON_ID,
        session: 1,
        nonce: [0; 16],
    }
    .to_body();
    body[1..5].copy_from_slice(magic);
    body
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(body, usize::MAX, &mut out).unwrap();
    out
}

/// Everything a decoder returns for `bytes` pushed in pieces cut at `cuts`: the frames, then
/// the error that stopped it or the verdict of `finish`.
/// Everything a decoder returns for `bytes` pushed in pieces cut at `cuts`: the frames, then
/// the error that stopped it or the verdict of `finish`.
fn decode_all(bytes: &[u8], cuts: &[usize], max: usize) -> (Vec<Vec<u8>>, Result<(), FrameError>) {
    let mut decoder = FrameDecoder::new(max);
    let mut frames = Vec::new();
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.push(0);
    cuts.push(bytes.len());
    cuts.sort_unstable();
    for piece in cuts.windows(2) {
        decoder.push(&bytes[piece[0]..piece[1]]);
        loop {
            match decoder.next_frame() {
                Ok(Some(body)) => frames.push(body),
                Ok(None) => break,
                Err(e) => return (frames, Err(e)),
            }
        }
    }
    (frames, decoder.finish())
}
