//! The client side: a [`Transport`] for a [`WorkerClient`](crate::WorkerClient) that
//! connects to a [`NetHost`](super::NetHost), and reconnects when the connection is lost.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::auth::{self, Side};
use super::frame::{self, DEFAULT_MAX_FRAME, Frame, PROTOCOL_VERSION, WireCodec};
use super::io::FrameReader;
use super::stream::{ByteStream, StreamParts};
use crate::error::RemoteError;
use crate::error::{Error, Result};
use crate::message::{CallId, CallResult, Epoch, Message, Outcome};
use crate::transport::{Inbox, Transport};

type Closer = Arc<dyn Fn() + Send + Sync>;
type Connector = Box<dyn FnMut() -> io::Result<StreamParts> + Send>;

/// Settings of a [`NetClient`].
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stateloom_worker::net::{NetClient, WireCodec};
///
/// let builder = NetClient::builder()
///     .codec(WireCodec::Json)
///     .secret(b"correct horse battery staple")
///     .backoff(Duration::from_millis(10), Duration::from_secs(1))
///     .give_up_after(Some(Duration::from_secs(30)));
/// // Nothing listens on port 9 of this machine: the first connection fails at once.
/// assert!(builder.connect_tcp("127.0.0.1:9").is_err());
/// ```
#[derive(Clone)]
#[must_use]
pub struct NetClientBuilder {
    codec: WireCodec,
    secret: Option<Arc<[u8]>>,
    max_frame: usize,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    keepalive: Duration,
    reconnect: bool,
    backoff: (Duration, Duration),
    give_up_after: Option<Duration>,
}

impl Default for NetClientBuilder {
    fn default() -> Self {
        Self {
            codec: WireCodec::Postcard,
            secret: None,
            max_frame: DEFAULT_MAX_FRAME,
            read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(10)),
            keepalive: Duration::from_secs(10),
            reconnect: true,
            backoff: (Duration::from_millis(20), Duration::from_secs(2)),
            give_up_after: None,
        }
    }
}

impl NetClientBuilder {
    /// The codec to speak: [`WireCodec::Postcard`] by default.
    ///
    /// # Examples
    /// See [`NetClientBuilder`].
    pub fn codec(mut self, codec: WireCodec) -> Self {
        self.codec = codec;
        self
    }

    /// The secret shared with the host: the client proves it knows it, and checks that the
    /// host does too.
    ///
    /// # Examples
    /// See [`NetClientBuilder`].
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = Some(secret.as_ref().into());
        self
    }

    /// The largest frame sent or accepted, in bytes. 16 MiB by default; a snapshot larger
    /// than this cannot be received.
    ///
    /// # Examples
    /// ```
    /// let builder = stateloom_worker::net::NetClient::builder().max_frame(64 << 20);
    /// # drop(builder);
    /// ```
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// Treats the connection as lost when nothing (not even the host's ping) arrives for
    /// this long. 30 s by default.
    ///
    /// # Examples
    /// ```
    /// let builder = stateloom_worker::net::NetClient::builder()
    ///     .read_timeout(Some(std::time::Duration::from_secs(5)))
    ///     .write_timeout(Some(std::time::Duration::from_secs(5)))
    ///     .keepalive(std::time::Duration::from_secs(1));
    /// # drop(builder);
    /// ```
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Treats the connection as lost when a write blocks this long. 10 s by default.
    ///
    /// # Examples
    /// See [`read_timeout`](Self::read_timeout).
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sends a ping when idle this long. 10 s by default; keep it well under the host's read
    /// timeout.
    ///
    /// # Examples
    /// See [`read_timeout`](Self::read_timeout).
    pub fn keepalive(mut self, every: Duration) -> Self {
        self.keepalive = every;
        self
    }

    /// Whether to reconnect when the connection is lost (the default). Without, a lost
    /// connection closes the transport: the client's pending calls fail.
    ///
    /// # Examples
    /// ```
    /// let builder = stateloom_worker::net::NetClient::builder().reconnect(false);
    /// # drop(builder);
    /// ```
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// The wait before the first reconnection attempt, doubled after each failure up to
    /// `max`. 20 ms and 2 s by default.
    ///
    /// # Examples
    /// See [`NetClientBuilder`].
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = (first, max.max(first));
        self
    }

    /// Stops reconnecting after this long without a connection, and closes the transport.
    /// Never by default.
    ///
    /// # Examples
    /// See [`NetClientBuilder`].
    pub fn give_up_after(mut self, after: Option<Duration>) -> Self {
        self.give_up_after = after;
        self
    }

    /// Connects over TCP to `addr` (and to it again after a connection is lost).
    ///
    /// # Errors
    /// [`Error::Transport`] if the address does not resolve or the first connection fails;
    /// [`Error::Handshake`] if the host refuses it.
    ///
    /// # Examples
    /// See [`NetHost`](super::NetHost).
    pub fn connect_tcp(self, addr: impl ToSocketAddrs) -> Result<NetClient> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| Error::Transport(format!("cannot resolve the address: {e}")))?
            .collect();
        self.connect(move || {
            let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
            for addr in &addrs {
                match TcpStream::connect_timeout(addr, Duration::from_secs(5)) {
                    Ok(stream) => return Ok(stream),
                    Err(e) => last = e,
                }
            }
            Err(last)
        })
    }

    /// Connects to the Unix socket at `path` (and to it again after a connection is lost).
    ///
    /// # Errors
    /// As [`connect_tcp`](Self::connect_tcp).
    ///
    /// # Examples
    /// ```
    /// let missing = std::env::temp_dir().join("no-such-stateloom-host.sock");
    /// assert!(stateloom_worker::net::NetClient::builder().connect_unix(missing).is_err());
    /// ```
    #[cfg(unix)]
    pub fn connect_unix(self, path: impl AsRef<std::path::Path>) -> Result<NetClient> {
        let path = path.as_ref().to_path_buf();
        self.connect(move || std::os::unix::net::UnixStream::connect(&path))
    }

    /// Connects with `connect`, which opens a new stream to the host each time it is called:
    /// once now, and again after each lost connection.
    ///
    /// # Errors
    /// As [`connect_tcp`](Self::connect_tcp).
    ///
    /// # Examples
    /// ```
    /// use stateloom_worker::net::{NetClient, Pipe};
    ///
    /// // A "host" that closes at once: the handshake fails.
    /// let result = NetClient::builder().connect(|| Ok(Pipe::new(std::io::empty(), std::io::sink())));
    /// assert!(result.is_err());
    /// ```
    pub fn connect<S, F>(self, mut connect: F) -> Result<NetClient>
    where
        S: ByteStream,
        F: FnMut() -> io::Result<S> + Send + 'static,
    {
        let (read_timeout, write_timeout) = (self.read_timeout, self.write_timeout);
        let mut connector: Connector =
            Box::new(move || connect()?.into_parts(read_timeout, write_timeout));
        let session = auth::session_id()
            .map_err(|e| Error::Transport(format!("no randomness for a session id: {e}")))?;
        let shared = Arc::new(ClientShared {
            config: self,
            session,
            in_flight: Mutex::new(InFlight::default()),
            inbox: Mutex::new(InboxSlot::Waiting(Vec::new())),
            conn: Mutex::new(None),
            closed: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            stats: Mutex::new(NetClientStats::default()),
        });
        let first = open(&shared, &mut connector)?;
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let supervisor = Arc::clone(&shared);
        thread::Builder::new()
            .name("stateloom-net-client".into())
            .spawn(move || supervise(&supervisor, &stopped, connector, first))
            .map_err(|e| Error::Transport(format!("cannot start the connection thread: {e}")))?;
        Ok(NetClient {
            shared,
            _stop: stop,
        })
    }
}

impl std::fmt::Debug for NetClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetClientBuilder")
            .field("codec", &self.codec)
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

/// What a [`NetClient`] has done.
///
/// # Examples
/// See [`NetClient::drop_connection`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetClientStats {
    /// Connections made, the first included.
    pub connections: u64,
    /// Calls sent again after a reconnection.
    pub resent_calls: u64,
    /// Results received twice (after a reconnection) and delivered once.
    pub duplicate_results: u64,
    /// Frames from the host whose message did not decode.
    pub bad_messages: u64,
    /// Reconnections that found a new host lifetime (a new epoch).
    pub new_epochs: u64,
    /// Calls failed with `session-expired`: the host had forgotten the client when it
    /// reconnected.
    pub expired_calls: u64,
}

/// A connection to a [`NetHost`](super::NetHost): the [`Transport`] of a
/// [`WorkerClient`](crate::WorkerClient) in another process or on another machine.
///
/// It keeps one session across connections. When the connection is lost, it reconnects with
/// backoff and sends again every call still waiting for its result; the host answers those
/// it already ran from memory, so no call runs twice and none is lost. The host starts each
/// connection with a snapshot, which brings the mirror up to date. If the host restarted
/// meanwhile (a new epoch), the calls in flight are not sent again: the client fails them with
/// [`Error::AuthorityChanged`], since whether they ran is unknown.
///
/// # Examples
/// See [`NetHost`](super::NetHost).
pub struct NetClient {
    shared: Arc<ClientShared>,
    /// Dropped with the client: stops the connection thread.
    _stop: Sender<()>,
}

struct ClientShared {
    config: NetClientBuilder,
    session: u128,
    in_flight: Mutex<InFlight>,
    inbox: Mutex<InboxSlot>,
    /// The current connection's writer; `None` while reconnecting. Locked before
    /// `in_flight` wherever both are.
    conn: Mutex<Option<Conn>>,
    /// Set when the transport stops for good: posts fail.
    closed: AtomicBool,
    /// The host's epoch at the last handshake, 0 if unknown.
    epoch: AtomicU64,
    stats: Mutex<NetClientStats>,
}

/// Calls sent and not yet answered, encoded, by id.
#[derive(Default)]
struct InFlight {
    calls: BTreeMap<CallId, Arc<[u8]>>,
    /// One past the highest call id sent.
    next: CallId,
}

impl InFlight {
    /// The lowest call id still waiting: every lower one has its result.
    fn ack(&self) -> CallId {
        self.calls.keys().next().copied().unwrap_or(self.next)
    }
}

enum InboxSlot {
    /// Messages that arrived before the client subscribed.
    Waiting(Vec<Message>),
    Subscribed(Inbox),
    Closed,
}

/// The writing side of the current connection. Posts write to it directly, on the client's
/// thread; the connection thread pings through it when idle.
struct Conn {
    writer: BufWriter<Box<dyn Write + Send>>,
    close: Closer,
    last_write: Instant,
}

impl Conn {
    fn write(&mut self, frame: &[u8]) -> io::Result<()> {
        self.last_write = Instant::now();
        self.writer.write_all(frame)?;
        self.writer.flush()
    }
}

/// What the connection thread watches of an open connection.
struct Live {
    close: Closer,
    /// Disconnected when the connection's reader stops.
    lost: Receiver<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl NetClient {
    /// Configures a client; see [`NetClientBuilder`].
    ///
    /// # Examples
    /// See [`NetClientBuilder`].
    pub fn builder() -> NetClientBuilder {
        NetClientBuilder::default()
    }

    /// Closes the current connection, as a network failure would: the client reconnects (if
    /// allowed) and carries on.
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
    /// let app = std::thread::spawn(move || {
    ///     WorkerApp::builder()
    ///         .module(Module::new("n", Store::new(0)).method("inc", |s, (): ()| s.update(|n| *n += 1)))
    ///         .build(served)
    ///         .run()
    /// });
    /// let addr = host.serve_tcp(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap().local_addr().to_owned();
    /// let net = NetClient::builder().connect_tcp(&addr).unwrap();
    /// let stats = net.handle();
    /// let client = WorkerClient::new(net);
    /// client.call_blocking("n", "inc", ()).unwrap();
    /// stats.drop_connection();
    /// client.call_blocking("n", "inc", ()).unwrap(); // sent once reconnected
    /// assert_eq!(client.get_state()["n"], 2);
    /// assert!(stats.stats().connections >= 2);
    /// client.dispose();
    /// host.shutdown();
    /// app.join().unwrap();
    /// ```
    pub fn drop_connection(&self) {
        self.handle().drop_connection();
    }

    /// A handle that reads this client's statistics and can drop its connection, usable
    /// after the client was moved into a [`WorkerClient`](crate::WorkerClient).
    ///
    /// # Examples
    /// See [`drop_connection`](Self::drop_connection).
    pub fn handle(&self) -> NetClientHandle {
        NetClientHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// What this client has done.
    ///
    /// # Examples
    /// See [`drop_connection`](Self::drop_connection).
    pub fn stats(&self) -> NetClientStats {
        self.handle().stats()
    }
}

/// A handle on a [`NetClient`]'s connection, from [`NetClient::handle`].
///
/// # Examples
/// See [`NetClient::drop_connection`].
#[derive(Clone)]
pub struct NetClientHandle {
    shared: Arc<ClientShared>,
}

impl NetClientHandle {
    /// See [`NetClient::drop_connection`].
    ///
    /// # Examples
    /// See [`NetClient::drop_connection`].
    pub fn drop_connection(&self) {
        let close = lock(&self.shared.conn)
            .as_ref()
            .map(|c| Arc::clone(&c.close));
        if let Some(close) = close {
            close();
        }
    }

    /// What the client has done.
    ///
    /// # Examples
    /// See [`NetClient::drop_connection`].
    pub fn stats(&self) -> NetClientStats {
        lock(&self.shared.stats).clone()
    }
}

impl std::fmt::Debug for NetClientHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetClientHandle").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NetClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetClient")
            .field("codec", &self.shared.config.codec)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Transport for NetClient {
    fn post(&self, message: Message) -> Result<()> {
        let shared = &self.shared;
        if shared.closed.load(Ordering::SeqCst) {
            return Err(Error::Transport(
                "the connection to the host is closed".into(),
            ));
        }
        let max_frame = shared.config.max_frame;
        let bytes = shared.config.codec.codec().encode(&message)?;
        // The frame adds 9 bytes: its kind and the acknowledgement.
        if bytes.len() + 9 > max_frame {
            return Err(Error::Transport(format!(
                "a message of {} bytes is over the frame limit of {max_frame}",
                bytes.len()
            )));
        }
        let mut conn = lock(&shared.conn);
        let ack = {
            let mut in_flight = lock(&shared.in_flight);
            if let Message::Call(call) = &message {
                // Kept until answered: sent again after a reconnection.
                in_flight.calls.insert(call.id, Arc::from(bytes.as_slice()));
                in_flight.next = in_flight.next.max(call.id + 1);
            }
            in_flight.ack()
        };
        // While reconnecting, calls wait in the table; a lost sync request is asked again by
        // the client.
        if let Some(c) = conn.as_mut() {
            let frame = frame::request_frame(ack, &bytes, max_frame)
                .map_err(|e| Error::Transport(e.to_string()))?;
            if c.write(&frame).is_err() {
                // The connection thread notices the reader stop, and reconnects.
                (c.close)();
                *conn = None;
            }
        }
        Ok(())
    }

    fn subscribe(&self, inbox: Inbox) {
        let mut slot = lock(&self.shared.inbox);
        match std::mem::replace(&mut *slot, InboxSlot::Closed) {
            InboxSlot::Waiting(messages) => {
                for message in messages {
                    inbox.deliver(message);
                }
                *slot = InboxSlot::Subscribed(inbox);
            }
            InboxSlot::Subscribed(_) => *slot = InboxSlot::Subscribed(inbox),
            InboxSlot::Closed => inbox.close(),
        }
    }
}

impl ClientShared {
    fn deliver(&self, message: Message) {
        match &mut *lock(&self.inbox) {
            InboxSlot::Waiting(messages) => messages.push(message),
            InboxSlot::Subscribed(inbox) => {
                inbox.deliver(message);
            }
            InboxSlot::Closed => {}
        }
    }

    /// Stops for good: later posts fail, the client's inbox closes.
    fn close_for_good(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(conn) = lock(&self.conn).take() {
            (conn.close)();
        }
        self.close_inbox();
    }

    fn close_inbox(&self) {
        if let InboxSlot::Subscribed(inbox) =
            std::mem::replace(&mut *lock(&self.inbox), InboxSlot::Closed)
        {
            inbox.close();
        }
    }
}

/// Opens a connection: the handshake, then a reader thread. Sends again the calls still in
/// flight if the host is the same lifetime; forgets them if it is a new one.
fn open(shared: &Arc<ClientShared>, connector: &mut Connector) -> Result<Live> {
    let config = &shared.config;
    let parts = connector().map_err(|e| Error::Transport(format!("cannot connect: {e}")))?;
    let close: Closer = Arc::from(parts.close);
    let mut reader = FrameReader::new(parts.reader, config.max_frame);
    let mut writer = BufWriter::new(parts.writer);
    let (epoch, resumed) = match handshake(shared, &mut reader, &mut writer) {
        Ok(welcome) => welcome,
        Err(e) => {
            close();
            return Err(e);
        }
    };
    // Hold the writer slot while sending calls again, so that no post overtakes them.
    let mut slot = lock(&shared.conn);
    let previous = shared.epoch.swap(epoch, Ordering::SeqCst);
    {
        let mut stats = lock(&shared.stats);
        stats.connections += 1;
        let mut in_flight = lock(&shared.in_flight);
        if previous != 0 && epoch != 0 && previous != epoch {
            // A new host lifetime never saw these calls; the client fails them when the new
            // epoch's snapshot arrives.
            stats.new_epochs += 1;
            in_flight.calls.clear();
        } else if !resumed && previous != 0 {
            // The host forgot this client while it was away (its session outlived
            // `session_ttl`): whether these calls ran is unknown, and sending them again could
            // run them twice. They fail instead.
            for id in std::mem::take(&mut in_flight.calls).into_keys() {
                stats.expired_calls += 1;
                shared.deliver(Message::Result(CallResult {
                    id,
                    epoch,
                    version: 0,
                    outcome: Outcome::Error(RemoteError::new(
                        "session-expired",
                        "the host forgot this client's session while it was disconnected; \
                         whether the call ran is unknown",
                    )),
                }));
            }
        } else {
            let ack = in_flight.ack();
            for bytes in in_flight.calls.values() {
                let frame = frame::request_frame(ack, bytes, config.max_frame)
                    .map_err(|e| Error::Transport(e.to_string()))?;
                writer
                    .write_all(&frame)
                    .map_err(|e| Error::Transport(e.to_string()))?;
                stats.resent_calls += 1;
            }
        }
    }
    writer
        .flush()
        .map_err(|e| Error::Transport(e.to_string()))?;
    let (lost_tx, lost) = crossbeam_channel::bounded::<()>(0);
    let reader_shared = Arc::clone(shared);
    let reader_close = Arc::clone(&close);
    thread::Builder::new()
        .name("stateloom-net-read".into())
        .spawn(move || {
            read_loop(&reader_shared, &mut reader);
            reader_close();
            drop(lost_tx);
        })
        .map_err(|e| Error::Transport(format!("cannot start the reader thread: {e}")))?;
    *slot = Some(Conn {
        writer,
        close: Arc::clone(&close),
        last_write: Instant::now(),
    });
    Ok(Live { close, lost })
}

/// Hello, challenge, proof, welcome. Returns the host's epoch, and whether it still had this
/// client's session.
fn handshake(
    shared: &ClientShared,
    reader: &mut FrameReader,
    writer: &mut BufWriter<Box<dyn Write + Send>>,
) -> Result<(Epoch, bool)> {
    let config = &shared.config;
    let io_error = |e: io::Error| Error::Transport(e.to_string());
    let nonce = auth::nonce().map_err(io_error)?;
    let hello = Frame::Hello {
        version: PROTOCOL_VERSION,
        codec: config.codec.id(),
        session: shared.session,
        nonce,
    };
    writer.write_all(&hello.to_frame()).map_err(io_error)?;
    writer.flush().map_err(io_error)?;
    let mut next = || -> Result<Vec<u8>> {
        match reader.next() {
            Ok(Some(body)) => Ok(body),
            Ok(None) => Err(Error::Handshake("the host closed the connection".into())),
            Err(e) => Err(Error::Handshake(e.to_string())),
        }
    };
    let body = next()?;
    let (epoch, auth_required, host_nonce) = match Frame::parse(&body) {
        Ok(Frame::Challenge {
            version,
            epoch,
            auth,
            nonce,
        }) => {
            if version != PROTOCOL_VERSION {
                return Err(Error::Handshake(format!(
                    "the host speaks protocol version {version}, this client {PROTOCOL_VERSION}"
                )));
            }
            (epoch, auth, nonce)
        }
        Ok(Frame::Refused { reason }) => return Err(Error::Handshake(reason)),
        _ => {
            return Err(Error::Handshake(
                "the host did not answer with a challenge".into(),
            ));
        }
    };
    if auth_required {
        let Some(secret) = &config.secret else {
            return Err(Error::Handshake("the host requires a secret".into()));
        };
        let mac = auth::proof(secret, Side::Client, &nonce, &host_nonce, shared.session);
        writer
            .write_all(&Frame::Proof { mac }.to_frame())
            .map_err(io_error)?;
        writer.flush().map_err(io_error)?;
    }
    let body = next()?;
    match Frame::parse(&body) {
        Ok(Frame::Welcome { mac, resumed, .. }) => {
            if let Some(secret) = &config.secret
                && !auth::verify(
                    secret,
                    Side::Host,
                    &nonce,
                    &host_nonce,
                    shared.session,
                    &mac,
                )
            {
                return Err(Error::Handshake(
                    "the host did not prove it knows the secret".into(),
                ));
            }
            Ok((epoch, resumed))
        }
        Ok(Frame::Refused { reason }) => Err(Error::Handshake(reason)),
        _ => Err(Error::Handshake(
            "the host did not answer with a welcome".into(),
        )),
    }
}

/// Reads the host's frames and delivers their messages, until the connection ends.
fn read_loop(shared: &ClientShared, reader: &mut FrameReader) {
    let codec = shared.config.codec.codec();
    while let Ok(Some(body)) = reader.next() {
        match Frame::parse(&body) {
            Ok(Frame::Message { message }) => match codec.decode(message) {
                Ok(Message::Result(result)) => {
                    // A result sent again after a reconnection is delivered once.
                    let waiting = lock(&shared.in_flight).calls.remove(&result.id).is_some();
                    if waiting {
                        shared.deliver(Message::Result(result));
                    } else {
                        lock(&shared.stats).duplicate_results += 1;
                    }
                }
                Ok(message) => shared.deliver(message),
                Err(_) => lock(&shared.stats).bad_messages += 1,
            },
            Ok(Frame::Ping) => {}
            // Anything else now is a protocol violation: start over on a new connection.
            _ => return,
        }
    }
}

/// The connection thread: pings when idle, and reconnects when the connection is lost.
fn supervise(
    shared: &Arc<ClientShared>,
    stopped: &Receiver<()>,
    mut connector: Connector,
    first: Live,
) {
    let mut live = first;
    loop {
        let lost = watch(shared, stopped, &live);
        if !lost && let Some(c) = lock(&shared.conn).as_mut() {
            // Leaving for good: the host can forget this session now.
            let _ = c.write(&Frame::Bye.to_frame());
        }
        (live.close)();
        lock(&shared.conn).take();
        if !lost || !shared.config.reconnect {
            shared.close_for_good();
            return;
        }
        match reconnect(shared, stopped, &mut connector) {
            Some(next) => live = next,
            None => {
                shared.close_for_good();
                return;
            }
        }
    }
}

/// Waits until the connection is lost (`true`) or the client is dropped (`false`), pinging
/// the host when nothing was written for the keep-alive interval.
fn watch(shared: &ClientShared, stopped: &Receiver<()>, live: &Live) -> bool {
    let keepalive = shared.config.keepalive;
    let ping = Frame::Ping.to_frame();
    loop {
        crossbeam_channel::select! {
            recv(live.lost) -> _ => return true,
            recv(stopped) -> _ => return false,
            default(keepalive) => {
                let mut conn = lock(&shared.conn);
                let Some(c) = conn.as_mut() else { return true };
                if c.last_write.elapsed() >= keepalive && c.write(&ping).is_err() {
                    return true;
                }
            }
        }
    }
}

fn reconnect(
    shared: &Arc<ClientShared>,
    stopped: &Receiver<()>,
    connector: &mut Connector,
) -> Option<Live> {
    let (first, max) = shared.config.backoff;
    let started = Instant::now();
    let mut wait = first;
    loop {
        // Wait, unless the client is dropped meanwhile.
        if let Err(RecvTimeoutError::Disconnected) = stopped.recv_timeout(wait) {
            return None;
        }
        if let Ok(live) = open(shared, connector) {
            return Some(live);
        }
        if shared
            .config
            .give_up_after
            .is_some_and(|limit| started.elapsed() >= limit)
        {
            return None;
        }
        wait = (wait * 2).min(max);
    }
}
