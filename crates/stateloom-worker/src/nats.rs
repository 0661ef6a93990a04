//! A transport over a NATS server, for a host and clients on several machines: the host
//! publishes state on one subject, clients send requests on another with their own reply
//! subject, and the host answers each request on its sender's reply subject only.

mod link;
mod routes;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::ConnectOptions;

use crate::codec::{Codec, JsonCodec};
use crate::error::{Error, Result};
use crate::message::Message;
use crate::transport::{Inbox, Transport};
use link::Link;
use routes::Routes;

/// The subject prefix unless [`NatsBuilder::prefix`] sets one.
const DEFAULT_PREFIX: &str = "stateloom";

/// How many requests the host may have taken in and not yet answered, unless
/// [`NatsBuilder::max_in_flight`] sets it.
const DEFAULT_MAX_IN_FLIGHT: usize = 65_536;

/// Connects a [`NatsHost`] or a [`NatsClient`] to a NATS server: the server's address, the
/// subject prefix both sides agree on, the codec, and the connection's credentials and TLS.
///
/// With prefix `p` the host publishes state and heartbeats on `p.state` and takes calls and
/// sync requests on `p.call`; each client sends its requests there with a reply subject of its
/// own (a fresh inbox, `_INBOX.<unique id>` unless the connection options set another inbox
/// prefix), where the host sends its results and the snapshots it asked for.
///
/// The host and its clients must use the same prefix and the same codec: a message in another
/// codec does not decode and is dropped (see [`NatsStats::rejected`]).
///
/// [`host`](Self::host) and [`client`](Self::client) connect at once, blocking until the
/// server accepted the connection or the connection timeout (five seconds unless set)
/// passed. Each transport then owns a small single-threaded tokio runtime on a thread of
/// its own, which does the network I/O: posting a message only queues it. The connection
/// reconnects by itself when the server goes away and comes back; messages lost meanwhile
/// are found missing by the client's version checks, which ask for a snapshot.
///
/// # Examples
/// ```no_run
/// use std::time::Duration;
/// use stateloom_store::Store;
/// use stateloom_worker::{Module, NatsBuilder, PostcardCodec, WorkerApp, WorkerClient};
///
/// # fn main() -> stateloom_worker::Result<()> {
/// let nats = NatsBuilder::new("nats://127.0.0.1:4222")
///     .prefix("demo.counter")
///     .codec(PostcardCodec)
///     .token("s3cret")
///     .connect_timeout(Duration::from_secs(2));
///
/// // On one machine:
/// let app = WorkerApp::builder()
///     .module(Module::new("counter", Store::new(0_i64)).method("add", |s, n: i64| {
///         s.update(move |c| *c += n);
///         s.get_state()
///     }))
///     .heartbeat(Duration::from_millis(500))
///     .build(nats.clone().host()?);
/// // app.run();
///
/// // On another:
/// let client = WorkerClient::new(nats.client()?);
/// client.wait_ready(Duration::from_secs(5))?;
/// let total = client.call_blocking("counter", "add", 2)?;
/// # drop((app, total));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `host` or `client`"]
pub struct NatsBuilder {
    url: String,
    prefix: String,
    codec: Arc<dyn Codec + Send + Sync>,
    options: ConnectOptions,
    max_in_flight: usize,
}

impl NatsBuilder {
    /// Options for the server at `url`, such as `nats://127.0.0.1:4222`, or several
    /// comma-separated addresses; `tls://` requires TLS. Prefix `stateloom`, the JSON codec,
    /// no credentials.
    ///
    /// # Examples
    /// ```
    /// let nats = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222");
    /// assert_eq!(nats.state_subject(), "stateloom.state");
    /// assert_eq!(nats.call_subject(), "stateloom.call");
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            codec: Arc::new(JsonCodec),
            options: ConnectOptions::new(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// The subject prefix: one or more dot-separated tokens without spaces or wildcards, the
    /// same on the host and its clients. `stateloom` unless set.
    ///
    /// # Examples
    /// ```
    /// let nats = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222").prefix("shop.cart");
    /// assert_eq!(nats.state_subject(), "shop.cart.state");
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The codec messages travel in: [`JsonCodec`] (the default, readable with the `nats`
    /// command-line tool) or [`PostcardCodec`](crate::PostcardCodec) (smaller and faster).
    ///
    /// # Examples
    /// ```
    /// let nats = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222")
    ///     .codec(stateloom_worker::PostcardCodec);
    /// # drop(nats);
    /// ```
    pub fn codec(mut self, codec: impl Codec + Send + Sync + 'static) -> Self {
        self.codec = Arc::new(codec);
        self
    }

    /// Authenticates with `token` (the server's `authorization { token: ... }`).
    ///
    /// # Examples
    /// ```
    /// let nats = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222").token("s3cret");
    /// # drop(nats);
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.options = self.options.token(token.into());
        self
    }

    /// Authenticates with a user name and password.
    ///
    /// # Examples
    /// ```
    /// let nats = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222")
    ///     .user_and_password("host", "s3cret");
    /// # drop(nats);
    /// ```
    pub fn user_and_password(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.options = self.options.user_and_password(user.into(), password.into());
        self
    }

    /// Refuses to connect without TLS.
    ///
    /// # Examples
    /// ```
    /// let nats = stateloom_worker::NatsBuilder::new("tls://nats.example:4222")
    ///     .require_tls(true)
    ///     .root_certificate("/etc/nats/ca.pem")
    ///     .client_certificate("/etc/nats/client.pem", "/etc/nats/client-key.pem");
    /// # drop(nats);
    /// ```
    pub fn require_tls(mut self, required: bool) -> Self {
        self.options = self.options.require_tls(required);
        self
    }

    /// Trusts the certificate authorities in the PEM file at `path`, besides the system's.
    ///
    /// # Examples
    /// See [`require_tls`](Self::require_tls).
    pub fn root_certificate(mut self, path: impl Into<PathBuf>) -> Self {
        self.options = self.options.add_root_certificates(path.into());
        self
    }

    /// Presents the client certificate in the PEM file `cert`, with its key in `key`
    /// (mutual TLS).
    ///
    /// # Examples
    /// See [`require_tls`](Self::require_tls).
    pub fn client_certificate(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.options = self.options.add_client_certificate(cert.into(), key.into());
        self
    }

    /// The connection's name, as the server's monitoring shows it.
    ///
    /// # Examples
    /// ```
    /// let nats = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222").name("todo-host");
    /// # drop(nats);
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options = self.options.name(name.into());
        self
    }

    /// How long connecting may take. Five seconds unless set.
    ///
    /// # Examples
    /// ```
    /// let nats = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222")
    ///     .connect_timeout(std::time::Duration::from_secs(1));
    /// # drop(nats);
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options = self.options.connection_timeout(timeout);
        self
    }

    /// Replaces the connection options with `options`, for what the methods above do not
    /// cover (credentials files, NKeys, JWTs, event callbacks). The methods above write into
    /// these options, so call this first.
    ///
    /// # Examples
    /// ```
    /// let options = async_nats::ConnectOptions::new().no_echo();
    /// let nats = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222")
    ///     .connect_options(options)
    ///     .token("s3cret");
    /// # drop(nats);
    /// ```
    pub fn connect_options(mut self, options: ConnectOptions) -> Self {
        self.options = options;
        self
    }

    /// How many requests a host may have taken in and not yet answered; requests beyond it
    /// are dropped (their callers time out). A host answers each request before it reads the
    /// next, so only a flood fills this. 65,536 unless set; ignored by clients.
    ///
    /// # Examples
    /// ```
    /// let nats = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222").max_in_flight(1024);
    /// # drop(nats);
    /// ```
    pub fn max_in_flight(mut self, limit: usize) -> Self {
        self.max_in_flight = limit;
        self
    }

    /// The subject the host publishes state and heartbeats on: `<prefix>.state`.
    ///
    /// # Examples
    /// See [`new`](Self::new).
    pub fn state_subject(&self) -> String {
        format!("{}.state", self.prefix)
    }

    /// The subject clients send calls and sync requests on: `<prefix>.call`.
    ///
    /// # Examples
    /// See [`new`](Self::new).
    pub fn call_subject(&self) -> String {
        format!("{}.call", self.prefix)
    }

    /// Connects the host's transport, for
    /// [`WorkerAppBuilder::build`](crate::WorkerAppBuilder::build).
    ///
    /// # Errors
    /// [`Error::Transport`] if the prefix is not a valid subject, or the server cannot be
    /// reached or refuses the connection.
    ///
    /// # Examples
    /// See [`NatsBuilder`].
    pub fn host(self) -> Result<NatsHost> {
        self.check_prefix()?;
        let (state_subject, call_subject) = (self.state_subject(), self.call_subject());
        let link = Link::connect(&self.url, self.options, "host")?;
        Ok(NatsHost {
            routes: Arc::new(Routes::new(self.max_in_flight)),
            state_subject,
            call_subject,
            codec: self.codec,
            link,
        })
    }

    /// Connects a client's transport, for [`WorkerClient::new`](crate::WorkerClient::new).
    ///
    /// # Errors
    /// [`Error::Transport`] if the prefix is not a valid subject, or the server cannot be
    /// reached or refuses the connection.
    ///
    /// # Examples
    /// See [`NatsBuilder`].
    pub fn client(self) -> Result<NatsClient> {
        self.check_prefix()?;
        let (state_subject, call_subject) = (self.state_subject(), self.call_subject());
        let link = Link::connect(&self.url, self.options, "client")?;
        Ok(NatsClient {
            reply_subject: link.new_inbox(),
            state_subject,
            call_subject,
            codec: self.codec,
            link,
        })
    }

    fn check_prefix(&self) -> Result<()> {
        let valid = self.prefix.split('.').all(|token| {
            !token.is_empty()
                && !token
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '*' || c == '>')
        });
        if valid {
            Ok(())
        } else {
            Err(Error::Transport(format!(
                "`{}` is not a NATS subject prefix: use dot-separated tokens without spaces or wildcards",
                self.prefix
            )))
        }
    }
}

impl fmt::Debug for NatsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection options hold credentials: leave them out.
        f.debug_struct("NatsBuilder")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .field("codec", &self.codec.name())
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

/// Counts of what a NATS transport took off the wire: messages received, and those dropped
/// because they did not decode, were of a kind not meant for this side, came without a reply
/// subject, or exceeded the in-flight limit.
///
/// # Examples
/// ```no_run
/// # fn main() -> stateloom_worker::Result<()> {
/// let host = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222").host()?;
/// let stats = host.stats();
/// let app = stateloom_worker::WorkerApp::builder().build(host);
/// // ... later:
/// eprintln!("{} of {} messages rejected", stats.rejected(), stats.received());
/// # drop(app);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct NatsStats {
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    received: AtomicU64,
    rejected: AtomicU64,
}

impl NatsStats {
    fn new() -> Self {
        Self {
            counts: Arc::new(Counts::default()),
        }
    }

    /// How many messages arrived on the transport's subjects.
    ///
    /// # Examples
    /// See [`NatsStats`].
    pub fn received(&self) -> u64 {
        self.counts.received.load(Ordering::Relaxed)
    }

    /// How many of them were dropped.
    ///
    /// # Examples
    /// See [`NatsStats`].
    pub fn rejected(&self) -> u64 {
        self.counts.rejected.load(Ordering::Relaxed)
    }

    fn receive(&self) {
        self.counts.received.fetch_add(1, Ordering::Relaxed);
    }

    fn reject(&self) {
        self.counts.rejected.fetch_add(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for NatsStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsStats")
            .field("received", &self.received())
            .field("rejected", &self.rejected())
            .finish()
    }
}

/// The host's NATS transport: it publishes state and heartbeats on the state subject, takes
/// calls and sync requests from the call subject, and answers each on its sender's reply
/// subject. Made by [`NatsBuilder::host`].
///
/// Like [`BroadcastTransport`](crate::BroadcastTransport), it gives every request an id of
/// its own before the host sees it, so clients may use the same ids, and puts the caller's id
/// back on the answer. A snapshot that answers a sync request goes to that client only.
///
/// Messages that do not decode, client-bound messages (results, state, heartbeats) published
/// on the call subject, and requests without a reply subject are dropped and counted
/// ([`stats`](Self::stats)); the host goes on serving. Calls to unknown modules or methods,
/// or with bad arguments, reach the host, which answers them with an error.
///
/// Dropping the transport (with its host) flushes what was posted, waiting at most two
/// seconds, and closes the connection.
///
/// # Examples
/// See [`NatsBuilder`].
pub struct NatsHost {
    routes: Arc<Routes>,
    state_subject: String,
    call_subject: String,
    codec: Arc<dyn Codec + Send + Sync>,
    link: Link,
}

impl NatsHost {
    /// The counts of received and rejected messages, shared with the transport.
    ///
    /// # Examples
    /// See [`NatsStats`].
    pub fn stats(&self) -> NatsStats {
        self.link.stats.clone()
    }
}

impl Transport for NatsHost {
    fn post(&self, message: Message) -> Result<()> {
        let (subject, message) = match message {
            Message::Result(mut result) => match self.routes.answer(result.id) {
                Some((reply, id)) => {
                    result.id = id;
                    (reply, Message::Result(result))
                }
                // Not a request this transport took in: there is no one to answer.
                None => return Ok(()),
            },
            Message::State(mut update) => {
                match update.sync_id.and_then(|id| self.routes.answer(id)) {
                    Some((reply, id)) => {
                        update.sync_id = Some(id);
                        (reply, Message::State(update))
                    }
                    None => (self.state_subject.clone(), Message::State(update)),
                }
            }
            Message::Ready(ready) => (self.state_subject.clone(), Message::Ready(ready)),
            Message::Call(_) | Message::Sync(_) => {
                return Err(Error::Transport(
                    "a NATS host sends no calls or sync requests".into(),
                ));
            }
        };
        let payload = self.codec.encode(&message)?;
        self.link.publish(subject, None, payload)
    }

    fn subscribe(&self, inbox: Inbox) {
        let codec = Arc::clone(&self.codec);
        let routes = Arc::clone(&self.routes);
        let stats = self.link.stats.clone();
        let closing = inbox.clone();
        self.link.subscribe(
            self.call_subject.clone(),
            Box::new(move |message| {
                stats.receive();
                match routes.take_in(codec.as_ref(), message) {
                    Some(message) => inbox.deliver(message),
                    None => {
                        stats.reject();
                        true
                    }
                }
            }),
            Box::new(move || closing.close()),
            // Once the host is built, it hears every request.
            true,
        );
    }
}

impl fmt::Debug for NatsHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsHost")
            .field("state_subject", &self.state_subject)
            .field("call_subject", &self.call_subject)
            .field("codec", &self.codec.name())
            .field("stats", &self.link.stats)
            .finish_non_exhaustive()
    }
}

/// A client's NATS transport: it hears the host's state and heartbeats on the state subject,
/// and sends calls and sync requests on the call subject with a reply subject of its own,
/// where the host's results and requested snapshots come back. Made by
/// [`NatsBuilder::client`].
///
/// A client that joins late, or misses messages (a slow subscription, a reconnect), finds
/// the gap by the versions of what it hears next, or by the host's heartbeat, and asks for a
/// snapshot, which only it receives.
///
/// Messages that do not decode, and messages not meant for a client (requests, or results
/// published on the state subject) are dropped and counted ([`stats`](Self::stats)).
///
/// # Examples
/// See [`NatsBuilder`].
pub struct NatsClient {
    reply_subject: String,
    state_subject: String,
    call_subject: String,
    codec: Arc<dyn Codec + Send + Sync>,
    link: Link,
}

impl NatsClient {
    /// The counts of received and rejected messages, shared with the transport.
    ///
    /// # Examples
    /// See [`NatsStats`].
    pub fn stats(&self) -> NatsStats {
        self.link.stats.clone()
    }

    /// The subject this client's answers come back on.
    ///
    /// # Examples
    /// ```no_run
    /// # fn main() -> stateloom_worker::Result<()> {
    /// let client = stateloom_worker::NatsBuilder::new("nats://127.0.0.1:4222").client()?;
    /// assert!(client.reply_subject().starts_with("_INBOX."));
    /// # Ok(())
    /// # }
    /// ```
    pub fn reply_subject(&self) -> &str {
        &self.reply_subject
    }
}

impl Transport for NatsClient {
    fn post(&self, message: Message) -> Result<()> {
        match message {
            Message::Call(_) | Message::Sync(_) => {
                let payload = self.codec.encode(&message)?;
                self.link.publish(
                    self.call_subject.clone(),
                    Some(self.reply_subject.clone()),
                    payload,
                )
            }
            Message::Result(_) | Message::State(_) | Message::Ready(_) => Err(Error::Transport(
                "a NATS client sends only calls and sync requests".into(),
            )),
        }
    }

    fn subscribe(&self, inbox: Inbox) {
        // Results are accepted on the reply subject only: on the shared state subject anyone
        // could address one to this client's call ids.
        for (subject, results) in [
            (self.state_subject.clone(), false),
            (self.reply_subject.clone(), true),
        ] {
            let codec = Arc::clone(&self.codec);
            let stats = self.link.stats.clone();
            let inbox = inbox.clone();
            let closing = inbox.clone();
            self.link.subscribe(
                subject,
                Box::new(move |message| {
                    stats.receive();
                    let accepted = codec.decode(&message.payload).ok().filter(|message| {
                        match message {
                            // What the host publishes for everyone.
                            Message::State(_) | Message::Ready(_) => true,
                            Message::Result(_) => results,
                            Message::Call(_) | Message::Sync(_) => false,
                        }
                    });
                    match accepted {
                        Some(message) => inbox.deliver(message),
                        None => {
                            stats.reject();
                            true
                        }
                    }
                }),
                Box::new(move || closing.close()),
                // The client's requests go out on this connection after its subscriptions,
                // so the server has them before any answer: no need to wait.
                false,
            );
        }
    }
}

impl fmt::Debug for NatsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsClient")
            .field("state_subject", &self.state_subject)
            .field("call_subject", &self.call_subject)
            .field("reply_subject", &self.reply_subject)
            .field("codec", &self.codec.name())
            .field("stats", &self.link.stats)
            .finish_non_exhaustive()
    }
}
