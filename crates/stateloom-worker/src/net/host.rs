//! The host side: one transport for a [`WorkerApp`](crate::WorkerApp) that serves many
//! connections, routes each result to its caller and publishes state to everyone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use super::auth::{self, Side};
use super::frame::{self, DEFAULT_MAX_FRAME, Frame, PROTOCOL_VERSION, WireCodec};
use super::io::FrameReader;
use super::stream::{ByteStream, StreamParts};
use crate::error::{RemoteError, Result};
use crate::message::{CallId, CallResult, Epoch, Message, Outcome, SyncRequest, Version};
use crate::transport::{Inbox, Transport};

type RandomState = ahash::RandomState;

/// The most requests kept for an app that has not subscribed yet.
const EARLY_LIMIT: usize = 4096;
type Closer = Arc<dyn Fn() + Send + Sync>;

/// Settings of a [`NetHost`].
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stateloom_worker::net::{NetHost, WireCodec};
///
/// let host = NetHost::builder()
///     .secret(b"correct horse battery staple")
///     .codecs([WireCodec::Postcard])
///     .max_connections(64)
///     .max_in_flight(128)
///     .max_frame(1 << 20)
///     .read_timeout(Some(Duration::from_secs(30)))
///     .build();
/// assert_eq!(host.stats().connections, 0);
/// ```
#[derive(Clone)]
#[must_use]
pub struct NetHostBuilder {
    codecs: Vec<WireCodec>,
    secret: Option<Arc<[u8]>>,
    max_connections: usize,
    max_in_flight: usize,
    max_frame: usize,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    keepalive: Duration,
    session_ttl: Duration,
    outbox: usize,
    max_bad_messages: u32,
}

impl Default for NetHostBuilder {
    fn default() -> Self {
        Self {
            codecs: vec![WireCodec::Json, WireCodec::Postcard],
            secret: None,
            max_connections: 1024,
            max_in_flight: 1024,
            max_frame: DEFAULT_MAX_FRAME,
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(10)),
            keepalive: Duration::from_secs(10),
            session_ttl: Duration::from_secs(60),
            outbox: 16 * 1024,
            max_bad_messages: 16,
        }
    }
}

impl NetHostBuilder {
    /// The codecs clients may speak. Both by default.
    ///
    /// # Examples
    /// See [`NetHostBuilder`].
    pub fn codecs(mut self, codecs: impl IntoIterator<Item = WireCodec>) -> Self {
        self.codecs = codecs.into_iter().collect();
        self
    }

    /// Requires every client to prove it knows `secret` (an HMAC-SHA256 challenge), and
    /// proves it to them in turn. The secret never travels. None by default.
    ///
    /// # Examples
    /// See [`NetHostBuilder`].
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = Some(secret.as_ref().into());
        self
    }

    /// At most this many connections at once, handshakes included; more are refused.
    /// 1024 by default.
    ///
    /// # Examples
    /// See [`NetHostBuilder`].
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// At most this many calls of one client waiting for their result; more are answered
    /// with a `too-many-calls` error at once. 1024 by default.
    ///
    /// # Examples
    /// See [`NetHostBuilder`].
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max.max(1);
        self
    }

    /// The largest frame accepted or sent, in bytes. 16 MiB by default. A client that sends
    /// a longer one is dropped; a message too long to send is not sent.
    ///
    /// # Examples
    /// See [`NetHostBuilder`].
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// Drops a connection that sends nothing (not even a ping) for this long, and a client
    /// that does not finish its handshake in time. 30 s by default.
    ///
    /// # Examples
    /// See [`NetHostBuilder`].
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Drops a connection whose writes block this long (a client that stopped reading).
    /// 10 s by default.
    ///
    /// # Examples
    /// ```
    /// let host = stateloom_worker::net::NetHost::builder()
    ///     .write_timeout(Some(std::time::Duration::from_secs(2)))
    ///     .keepalive(std::time::Duration::from_secs(1))
    ///     .build();
    /// # drop(host);
    /// ```
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sends a ping on a connection idle this long. 10 s by default; keep it well under the
    /// clients' read timeout.
    ///
    /// # Examples
    /// See [`write_timeout`](Self::write_timeout).
    pub fn keepalive(mut self, every: Duration) -> Self {
        self.keepalive = every;
        self
    }

    /// How long a disconnected client's session (its unanswered calls and their results) is
    /// kept for it to reconnect. 60 s by default.
    ///
    /// # Examples
    /// ```
    /// let host = stateloom_worker::net::NetHost::builder()
    ///     .session_ttl(std::time::Duration::from_secs(5))
    ///     .build();
    /// # drop(host);
    /// ```
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// At most this many frames queued for one connection; a client that falls further
    /// behind is dropped (it reconnects and resyncs). 16,384 by default.
    ///
    /// # Examples
    /// ```
    /// let host = stateloom_worker::net::NetHost::builder().outbox(1024).build();
    /// # drop(host);
    /// ```
    pub fn outbox(mut self, frames: usize) -> Self {
        self.outbox = frames.max(1);
        self
    }

    /// The host.
    ///
    /// # Examples
    /// See [`NetHostBuilder`].
    pub fn build(self) -> NetHost {
        NetHost {
            shared: Arc::new(Shared {
                config: self,
                state: Mutex::new(State::default()),
                active: AtomicUsize::new(0),
                stopped: AtomicBool::new(false),
                wakers: Mutex::new(Vec::new()),
            }),
        }
    }
}

impl std::fmt::Debug for NetHostBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetHostBuilder")
            .field("codecs", &self.codecs)
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .field("max_connections", &self.max_connections)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_frame", &self.max_frame)
            .finish_non_exhaustive()
    }
}

/// What a [`NetHost`] is doing and has done.
///
/// # Examples
/// See [`NetHost`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetHostStats {
    /// Connections past their handshake.
    pub connections: usize,
    /// Client sessions kept, connected or waiting to reconnect.
    pub sessions: usize,
    /// Calls handed to the app and not yet answered.
    pub calls_in_flight: usize,
    /// Results kept for clients that may not have received them.
    pub kept_results: usize,
    /// Handshakes that succeeded.
    pub accepted: u64,
    /// Connections refused: full, wrong version or codec, failed authentication.
    pub refused: u64,
    /// Connections dropped for a protocol violation, an idle timeout or a full outbox.
    pub dropped: u64,
    /// Frames whose message did not decode, or was not one a client may send.
    pub bad_messages: u64,
    /// Calls received again (after a reconnection) and answered without running twice.
    pub duplicates: u64,
}

/// A host reachable over byte streams: the [`Transport`] of a
/// [`WorkerApp`](crate::WorkerApp) that serves many connections.
///
/// Each connection is one client. The host publishes state to every connection, routes each
/// result (and each snapshot a client asked for) to the connection of the client that called,
/// and starts every new connection with a snapshot.
///
/// Clients keep a session across reconnections. The host remembers which of a session's calls
/// it has run and keeps their results until the client confirms it has them: a call sent
/// again after a reconnection is answered from memory, not run twice. A session whose client
/// stays away longer than [`session_ttl`](NetHostBuilder::session_ttl) is forgotten.
///
/// Handles are cheap clones of one host. Build the [`WorkerApp`](crate::WorkerApp) with it
/// before serving connections.
///
/// # Examples
/// ```
/// use std::net::TcpListener;
/// use stateloom_store::Store;
/// use stateloom_worker::net::{NetClient, NetHost};
/// use stateloom_worker::{Module, WorkerApp, WorkerClient};
///
/// let host = NetHost::builder().build();
/// let served = host.clone();
/// let app_thread = std::thread::spawn(move || {
///     let app = WorkerApp::builder()
///         .module(Module::new("count", Store::new(0_i64)).method("add", |s, n: i64| {
///             s.update(move |c| *c += n);
///             s.get_state()
///         }))
///         .build(served);
///     app.run(); // until the host shuts down
/// });
/// let listening = host.serve_tcp(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
///
/// let client = WorkerClient::new(NetClient::builder().connect_tcp(listening.local_addr()).unwrap());
/// assert_eq!(client.call_blocking("count", "add", 5).unwrap(), 5);
/// assert_eq!(client.get_state()["count"], 5);
/// assert_eq!(host.stats().connections, 1);
///
/// client.dispose();
/// host.shutdown();
/// app_thread.join().unwrap();
/// ```
#[derive(Clone)]
pub struct NetHost {
    shared: Arc<Shared>,
}

struct Shared {
    config: NetHostBuilder,
    state: Mutex<State>,
    /// Connection threads alive, handshakes included.
    active: AtomicUsize,
    stopped: AtomicBool,
    /// Wake the accept loops at shutdown.
    wakers: Mutex<Vec<Box<dyn Fn() + Send>>>,
}

#[derive(Default)]
struct State {
    inbox: Option<Inbox>,
    /// Requests that arrived before the app subscribed, delivered when it does.
    early: Vec<Message>,
    /// The app's epoch, 0 until it announced itself.
    epoch: Epoch,
    version: Version,
    next_conn: u64,
    conns: HashMap<u64, Conn, RandomState>,
    // Keyed by ids from the wire: hashed with aHash's seeded hasher.
    sessions: HashMap<u128, Session, RandomState>,
    routes: HashMap<CallId, Route, RandomState>,
    next_route: CallId,
    stats: NetHostStats,
}

struct Conn {
    session: u128,
    codec: WireCodec,
    outbox: Sender<Arc<[u8]>>,
    close: Closer,
    /// Whether it has had its first snapshot: state published before that is not sent.
    live: bool,
}

#[derive(Default)]
struct Session {
    conn: Option<u64>,
    /// Calls handed to the app, by the client's id.
    in_flight: HashSet<CallId, RandomState>,
    /// Results the client may not have, by the client's id.
    done: BTreeMap<CallId, CallResult>,
    /// Every call below this id has its result at the client.
    floor: CallId,
    left_at: Option<Instant>,
}

enum Route {
    Call {
        session: u128,
        id: CallId,
    },
    /// A snapshot for one connection; `id` is the client's sync id, `None` for the snapshot
    /// every connection starts with.
    Sync {
        conn: u64,
        id: Option<CallId>,
    },
}

/// An accept loop started by [`NetHost::serve_tcp`] or [`NetHost::serve_unix`]; it stops at
/// [`NetHost::shutdown`].
///
/// # Examples
/// See [`NetHost`].
#[derive(Debug)]
pub struct Listening {
    local_addr: String,
    thread: JoinHandle<()>,
}

impl Listening {
    /// The address the listener is bound to: `ip:port`, or a socket path.
    ///
    /// # Examples
    /// See [`NetHost`].
    pub fn local_addr(&self) -> &str {
        &self.local_addr
    }

    /// Waits for the accept loop to stop.
    ///
    /// # Examples
    /// ```
    /// # let host = stateloom_worker::net::NetHost::builder().build();
    /// let listening = host.serve_tcp(std::net::TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    /// host.shutdown();
    /// listening.join();
    /// ```
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl NetHost {
    /// Configures a host; see [`NetHostBuilder`].
    ///
    /// # Examples
    /// See [`NetHostBuilder`].
    pub fn builder() -> NetHostBuilder {
        NetHostBuilder::default()
    }

    /// Accepts TCP connections on `listener`, on a thread of its own, until
    /// [`shutdown`](Self::shutdown).
    ///
    /// # Errors
    /// The I/O error of reading the listener's address or starting the thread.
    ///
    /// # Examples
    /// See [`NetHost`].
    pub fn serve_tcp(&self, listener: TcpListener) -> io::Result<Listening> {
        let addr = listener.local_addr()?;
        self.add_waker(Box::new(move || {
            let _ = TcpStream::connect_timeout(&wake_addr(addr), Duration::from_secs(1));
        }));
        self.accept_loop(
            move || listener.accept().map(|(stream, _)| stream),
            addr.to_string(),
        )
    }

    /// Accepts Unix socket connections on `listener`, on a thread of its own, until
    /// [`shutdown`](Self::shutdown).
    ///
    /// # Errors
    /// The I/O error of reading the listener's address or starting the thread.
    ///
    /// # Examples
    /// ```
    /// use std::os::unix::net::UnixListener;
    /// # let host = stateloom_worker::net::NetHost::builder().build();
    /// let dir = std::env::temp_dir().join(format!("stateloom-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("host.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let listening = host.serve_unix(UnixListener::bind(&path).unwrap()).unwrap();
    /// assert!(listening.local_addr().ends_with("host.sock"));
    /// host.shutdown();
    /// listening.join();
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    #[cfg(unix)]
    pub fn serve_unix(&self, listener: std::os::unix::net::UnixListener) -> io::Result<Listening> {
        use std::os::unix::net::UnixStream;
        let path = listener
            .local_addr()?
            .as_pathname()
            .map(std::path::Path::to_path_buf)
            .ok_or_else(|| io::Error::other("the listener has no path"))?;
        let wake = path.clone();
        self.add_waker(Box::new(move || {
            let _ = UnixStream::connect(&wake);
        }));
        self.accept_loop(
            move || listener.accept().map(|(stream, _)| stream),
            path.display().to_string(),
        )
    }

    /// Serves one connection, on threads of its own: the handshake, then messages until
    /// either side closes it. Use it for streams [`serve_tcp`](Self::serve_tcp) does not
    /// accept, such as a child process's pipes ([`Pipe`](super::Pipe)).
    ///
    /// # Examples
    /// ```
    /// use std::io;
    /// use stateloom_worker::net::{NetHost, Pipe};
    ///
    /// let host = NetHost::builder().build();
    /// // A stream that ends at once: the handshake fails and the connection is dropped.
    /// host.accept(Pipe::new(io::empty(), io::sink()));
    /// # std::thread::sleep(std::time::Duration::from_millis(50));
    /// assert_eq!(host.stats().connections, 0);
    /// ```
    pub fn accept(&self, stream: impl ByteStream) {
        let config = &self.shared.config;
        if self.is_shut_down() {
            return;
        }
        let Ok(parts) = stream.into_parts(config.read_timeout, config.write_timeout) else {
            return;
        };
        let active = self.shared.active.fetch_add(1, Ordering::SeqCst);
        let guard = ActiveGuard(Arc::clone(&self.shared));
        if active >= config.max_connections {
            lock(&self.shared.state).stats.refused += 1;
            // A new connection's send buffer is empty: this small write does not block.
            let mut writer = parts.writer;
            let _ = writer.write_all(
                &Frame::Refused {
                    reason: format!("the host is full ({} connections)", config.max_connections),
                }
                .to_frame(),
            );
            let _ = writer.flush();
            (parts.close)();
            return;
        }
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name("stateloom-net-conn".into())
            .spawn(move || {
                let _guard = guard;
                serve_connection(&shared, parts);
            });
        if spawned.is_err() {
            lock(&self.shared.state).stats.refused += 1;
        }
    }

    /// What the host is doing and has done.
    ///
    /// # Examples
    /// See [`NetHost`].
    pub fn stats(&self) -> NetHostStats {
        let state = lock(&self.shared.state);
        let mut stats = state.stats.clone();
        stats.connections = state.conns.len();
        stats.sessions = state.sessions.len();
        stats.calls_in_flight = state.sessions.values().map(|s| s.in_flight.len()).sum();
        stats.kept_results = state.sessions.values().map(|s| s.done.len()).sum();
        stats
    }

    /// Stops serving: closes every connection and listener, and closes the app's inbox so
    /// that its [`run`](crate::WorkerApp::run) loop returns.
    ///
    /// # Examples
    /// See [`NetHost`].
    pub fn shutdown(&self) {
        if self.shared.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let (conns, inbox) = {
            let mut state = lock(&self.shared.state);
            let conns: Vec<Conn> = state.conns.drain().map(|(_, c)| c).collect();
            (conns, state.inbox.take())
        };
        for conn in conns {
            (conn.close)();
        }
        if let Some(inbox) = inbox {
            inbox.close();
        }
        let wakers = std::mem::take(&mut *lock(&self.shared.wakers));
        for wake in wakers {
            wake();
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// # Examples
    /// ```
    /// let host = stateloom_worker::net::NetHost::builder().build();
    /// host.shutdown();
    /// assert!(host.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.shared.stopped.load(Ordering::SeqCst)
    }

    /// Serves the connections `next_stream` accepts, on a thread of its own, until shutdown.
    fn accept_loop<S: ByteStream>(
        &self,
        mut next_stream: impl FnMut() -> io::Result<S> + Send + 'static,
        local_addr: String,
    ) -> io::Result<Listening> {
        let host = self.clone();
        let thread = thread::Builder::new()
            .name("stateloom-net-accept".into())
            .spawn(move || {
                loop {
                    let stream = next_stream();
                    if host.is_shut_down() {
                        break;
                    }
                    match stream {
                        Ok(stream) => host.accept(stream),
                        // Out of descriptors, say: wait instead of spinning.
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            })?;
        Ok(Listening { local_addr, thread })
    }

    fn add_waker(&self, wake: Box<dyn Fn() + Send>) {
        lock(&self.shared.wakers).push(wake);
    }
}

/// Where to connect to wake an accept loop bound to `addr`.
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for NetHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetHost")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Transport for NetHost {
    fn post(&self, message: Message) -> Result<()> {
        let max_frame = self.shared.config.max_frame;
        let mut guard = lock(&self.shared.state);
        let state = &mut *guard;
        match message {
            Message::Result(mut result) => {
                state.epoch = result.epoch;
                let Some(Route::Call { session, id }) = state.routes.remove(&result.id) else {
                    return Ok(());
                };
                result.id = id;
                let Some(s) = state.sessions.get_mut(&session) else {
                    return Ok(());
                };
                s.in_flight.remove(&id);
                let conn = s.conn;
                let message = Message::Result(result.clone());
                if id >= s.floor {
                    s.done.insert(id, result);
                    // A client that never confirms its results cannot make the host keep
                    // them without bound.
                    let cap = self.shared.config.max_in_flight * 2;
                    while s.done.len() > cap {
                        s.done.pop_first();
                    }
                }
                if let Some(conn) = conn {
                    state.send(conn, &message, max_frame);
                }
            }
            Message::State(mut update) if update.sync_id.is_some() => {
                state.epoch = update.epoch;
                let routed = update.sync_id.unwrap_or_default();
                if let Some(Route::Sync { conn, id }) = state.routes.remove(&routed) {
                    update.sync_id = id;
                    if let Some(c) = state.conns.get_mut(&conn) {
                        c.live = true;
                    }
                    state.send(conn, &Message::State(update), max_frame);
                }
            }
            Message::State(update) => {
                state.epoch = update.epoch;
                state.version = update.version;
                state.broadcast(&Message::State(update), max_frame);
            }
            Message::Ready(ready) => {
                state.epoch = ready.epoch;
                state.version = ready.version;
                state.broadcast(&Message::Ready(ready), max_frame);
            }
            // Requests are for a host, not from one.
            Message::Call(_) | Message::Sync(_) => {}
        }
        Ok(())
    }

    fn subscribe(&self, inbox: Inbox) {
        if self.is_shut_down() {
            inbox.close();
        } else {
            let mut state = lock(&self.shared.state);
            for message in state.early.drain(..) {
                inbox.deliver(message);
            }
            state.inbox = Some(inbox);
        }
    }
}

impl State {
    /// Hands a request to the app, or keeps it until the app subscribes.
    fn deliver(&mut self, message: Message) {
        match &self.inbox {
            Some(inbox) => {
                inbox.deliver(message);
            }
            None => self.early.push(message),
        }
    }

    /// Queues `message` for one connection.
    fn send(&mut self, conn: u64, message: &Message, max_frame: usize) {
        let Some(codec) = self.conns.get(&conn).map(|c| c.codec) else {
            return;
        };
        if let Some(frame) = encode(codec, message, max_frame) {
            self.enqueue(conn, frame);
        }
    }

    /// Queues `message` for every connection that has had its first snapshot, encoding it
    /// once per codec.
    fn broadcast(&mut self, message: &Message, max_frame: usize) {
        let mut frames: [Option<Option<Arc<[u8]>>>; 2] = [None, None];
        let targets: Vec<(u64, WireCodec)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.live)
            .map(|(id, c)| (*id, c.codec))
            .collect();
        for (conn, codec) in targets {
            let frame = frames[codec.id() as usize]
                .get_or_insert_with(|| encode(codec, message, max_frame))
                .clone();
            if let Some(frame) = frame {
                self.enqueue(conn, frame);
            }
        }
    }

    fn enqueue(&mut self, conn: u64, frame: Arc<[u8]>) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        match c.outbox.try_send(frame) {
            Ok(()) => {}
            // Too far behind, or its writer is gone: drop it; the client reconnects and
            // starts over from a snapshot.
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.dropped += 1;
                self.remove_conn(conn);
            }
        }
    }

    fn remove_conn(&mut self, conn: u64) {
        if let Some(c) = self.conns.remove(&conn) {
            (c.close)();
            if let Some(session) = self.sessions.get_mut(&c.session)
                && session.conn == Some(conn)
            {
                session.conn = None;
                session.left_at = Some(Instant::now());
            }
        }
    }

    /// Forgets sessions whose client has been away longer than `ttl`.
    fn forget_old_sessions(&mut self, ttl: Duration) {
        let now = Instant::now();
        self.sessions.retain(|_, s| {
            s.conn.is_some() || s.left_at.is_none_or(|left| now.duration_since(left) < ttl)
        });
    }

    fn next_route(&mut self, route: Route) -> CallId {
        self.next_route += 1;
        self.routes.insert(self.next_route, route);
        self.next_route
    }
}

fn encode(codec: WireCodec, message: &Message, max_frame: usize) -> Option<Arc<[u8]>> {
    let bytes = codec.codec().encode(message).ok()?;
    frame::message_frame(&bytes, max_frame).ok().map(Arc::from)
}

/// The life of one connection, on its reader thread.
fn serve_connection(shared: &Arc<Shared>, parts: StreamParts) {
    let config = &shared.config;
    let close: Closer = Arc::from(parts.close);
    let mut reader = FrameReader::new(parts.reader, config.max_frame);
    let mut writer = BufWriter::new(parts.writer);
    let accepted = handshake(shared, &mut reader, &mut writer);
    let Ok((session, codec)) = accepted else {
        if let Err(reason) = accepted {
            lock(&shared.state).stats.refused += 1;
            let _ = writer.write_all(&Frame::Refused { reason }.to_frame());
            let _ = writer.flush();
        }
        close();
        return;
    };
    let (outbox, queue) = crossbeam_channel::bounded(config.outbox);
    let conn = {
        let mut state = lock(&shared.state);
        if shared.stopped.load(Ordering::SeqCst) {
            drop(state);
            close();
            return;
        }
        state.next_conn += 1;
        let conn = state.next_conn;
        let previous = {
            let s = state.sessions.entry(session).or_default();
            s.left_at = None;
            s.conn.replace(conn)
        };
        // The same client again, before its old connection was found dead: the new one wins.
        if let Some(previous) = previous {
            state.remove_conn(previous);
            if let Some(s) = state.sessions.get_mut(&session) {
                s.conn = Some(conn);
                s.left_at = None;
            }
        }
        state.conns.insert(
            conn,
            Conn {
                session,
                codec,
                outbox,
                close: Arc::clone(&close),
                live: false,
            },
        );
        state.stats.accepted += 1;
        state.forget_old_sessions(config.session_ttl);
        // Every connection starts with a snapshot, asked of the app on its behalf.
        let routed = state.next_route(Route::Sync { conn, id: None });
        state.deliver(Message::Sync(SyncRequest {
            id: routed,
            min_version: 0,
        }));
        conn
    };
    let keepalive = config.keepalive;
    let writer_close = Arc::clone(&close);
    let spawned = thread::Builder::new()
        .name("stateloom-net-write".into())
        .spawn(move || write_loop(&queue, writer, keepalive, &writer_close));
    if spawned.is_ok() {
        read_loop(shared, conn, session, codec, &mut reader);
    }
    let mut state = lock(&shared.state);
    state.remove_conn(conn);
    state.forget_old_sessions(config.session_ttl);
    drop(state);
    close();
}

/// Hello, challenge, proof and welcome. Returns the client's session and codec, or why it
/// was refused.
fn handshake(
    shared: &Shared,
    reader: &mut FrameReader,
    writer: &mut BufWriter<Box<dyn Write + Send>>,
) -> Result<(u128, WireCodec), String> {
    let config = &shared.config;
    let body = match reader.next() {
        Ok(Some(body)) => body,
        Ok(None) => return Err("the stream ended before the hello".into()),
        Err(e) => return Err(format!("no hello: {e}")),
    };
    let Ok(Frame::Hello {
        version,
        codec,
        session,
        nonce: client_nonce,
    }) = Frame::parse(&body)
    else {
        return Err("the first frame was not a stateloom-worker hello".into());
    };
    if version != PROTOCOL_VERSION {
        return Err(format!(
            "protocol version {version} is not supported; this host speaks {PROTOCOL_VERSION}"
        ));
    }
    let codec = match WireCodec::from_id(codec) {
        Some(c) if config.codecs.contains(&c) => c,
        Some(c) => return Err(format!("this host does not accept the {c} codec")),
        None => return Err(format!("unknown codec {codec}")),
    };
    let host_nonce = auth::nonce().map_err(|e| format!("no randomness: {e}"))?;
    let epoch = lock(&shared.state).epoch;
    let challenge = Frame::Challenge {
        version: PROTOCOL_VERSION,
        epoch,
        auth: config.secret.is_some(),
        nonce: host_nonce,
    };
    writer
        .write_all(&challenge.to_frame())
        .and_then(|()| writer.flush())
        .map_err(|e| e.to_string())?;
    let mut mac = [0; 32];
    if let Some(secret) = &config.secret {
        let proof = match reader.next() {
            Ok(Some(body)) => body,
            _ => return Err("no proof".into()),
        };
        let Ok(Frame::Proof { mac: claimed }) = Frame::parse(&proof) else {
            return Err("expected a proof".into());
        };
        if !auth::verify(
            secret,
            Side::Client,
            &client_nonce,
            &host_nonce,
            session,
            &claimed,
        ) {
            return Err("authentication failed".into());
        }
        mac = auth::proof(secret, Side::Host, &client_nonce, &host_nonce, session);
    }
    // A session found here gets a fresh grace period, so it is not forgotten before this
    // connection takes it over.
    let resumed = match lock(&shared.state).sessions.get_mut(&session) {
        Some(s) => {
            if s.conn.is_none() {
                s.left_at = Some(Instant::now());
            }
            true
        }
        None => false,
    };
    let welcome = Frame::Welcome {
        mac,
        max_in_flight: u32::try_from(config.max_in_flight).unwrap_or(u32::MAX),
        resumed,
    };
    writer
        .write_all(&welcome.to_frame())
        .and_then(|()| writer.flush())
        .map_err(|e| e.to_string())?;
    Ok((session, codec))
}

/// Reads requests until the connection ends or misbehaves.
fn read_loop(
    shared: &Shared,
    conn: u64,
    session: u128,
    codec: WireCodec,
    reader: &mut FrameReader,
) {
    let config = &shared.config;
    let mut bad = 0_u32;
    loop {
        let Ok(Some(body)) = reader.next() else {
            // The end of the stream, an I/O error, an idle timeout, or a framing error
            // (after which the stream cannot be trusted).
            if shared.stopped.load(Ordering::SeqCst) {
                return;
            }
            lock(&shared.state).stats.dropped += 1;
            return;
        };
        let (ack, message) = match Frame::parse(&body) {
            Ok(Frame::Request { ack, message }) => (ack, message),
            Ok(Frame::Ping) => continue,
            Ok(Frame::Bye) => {
                // Nothing of this client is needed any more.
                lock(&shared.state).sessions.remove(&session);
                return;
            }
            // A handshake frame now, a host's frame, or garbage: a protocol violation.
            _ => {
                lock(&shared.state).stats.dropped += 1;
                return;
            }
        };
        let decoded = codec.codec().decode(message);
        let mut state = lock(&shared.state);
        if !state.conns.contains_key(&conn) {
            // Replaced by a newer connection of the same client, or shut down.
            return;
        }
        let message = match decoded {
            Ok(message @ (Message::Call(_) | Message::Sync(_))) => message,
            _ => {
                state.stats.bad_messages += 1;
                bad += 1;
                if bad > config.max_bad_messages {
                    state.stats.dropped += 1;
                    return;
                }
                continue;
            }
        };
        if !on_request(&mut state, config, conn, session, ack, message) {
            state.stats.dropped += 1;
            return;
        }
    }
}

fn on_request(
    state: &mut State,
    config: &NetHostBuilder,
    conn: u64,
    session: u128,
    ack: CallId,
    message: Message,
) -> bool {
    let max_frame = config.max_frame;
    // Before the app listens, requests wait in memory: only so many.
    let early_full = state.inbox.is_none() && state.early.len() >= EARLY_LIMIT;
    let Some(s) = state.sessions.get_mut(&session) else {
        return true;
    };
    if ack > s.floor {
        s.floor = ack;
        s.done = s.done.split_off(&ack);
    }
    match message {
        Message::Call(mut call) => {
            if call.id < s.floor || s.in_flight.contains(&call.id) {
                // Answered and confirmed, or running: not again.
                state.stats.duplicates += 1;
                return true;
            }
            if let Some(result) = s.done.get(&call.id) {
                let message = Message::Result(result.clone());
                state.stats.duplicates += 1;
                state.send(conn, &message, max_frame);
                return true;
            }
            if early_full {
                // The client sends its calls again when it reconnects.
                return false;
            }
            if s.in_flight.len() >= config.max_in_flight {
                let result = CallResult {
                    id: call.id,
                    epoch: state.epoch,
                    version: state.version,
                    outcome: Outcome::Error(RemoteError::new(
                        "too-many-calls",
                        format!(
                            "more than {} calls in flight on one connection",
                            config.max_in_flight
                        ),
                    )),
                };
                s.done.insert(call.id, result.clone());
                state.send(conn, &Message::Result(result), max_frame);
                return true;
            }
            s.in_flight.insert(call.id);
            let id = call.id;
            call.id = state.next_route(Route::Call { session, id });
            state.deliver(Message::Call(call));
        }
        Message::Sync(mut request) => {
            if early_full {
                // The client asks again later.
                return true;
            }
            request.id = state.next_route(Route::Sync {
                conn,
                id: Some(request.id),
            });
            state.deliver(Message::Sync(request));
        }
        _ => {}
    }
    true
}

/// Writes queued frames, many per system call, and a ping when idle.
fn write_loop(
    queue: &Receiver<Arc<[u8]>>,
    mut writer: BufWriter<Box<dyn Write + Send>>,
    keepalive: Duration,
    close: &Closer,
) {
    let ping = Frame::Ping.to_frame();
    loop {
        let written = match queue.recv_timeout(keepalive) {
            Ok(frame) => writer.write_all(&frame).and_then(|()| {
                while let Ok(frame) = queue.try_recv() {
                    writer.write_all(&frame)?;
                }
                writer.flush()
            }),
            Err(RecvTimeoutError::Timeout) => writer.write_all(&ping).and_then(|()| writer.flush()),
            Err(RecvTimeoutError::Disconnected) => {
                let _ = writer.flush();
                break;
            }
        };
        if written.is_err() {
            break;
        }
    }
    close();
}
