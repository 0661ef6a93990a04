//! The broadcast bus: many peers on one channel, with peer routing, per-peer call ids,
//! targeted resync replies and an optional capability token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::message::{CallId, Message};
use crate::transport::{Inbox, Transport};

/// What travels on a [`BroadcastBus`]: a message with its sender, its addressee and a
/// capability token.
///
/// # Examples
/// ```
/// use stateloom_worker::{Envelope, Message, Ready};
///
/// let envelope = Envelope {
///     source: "tab:host".into(),
///     target: None,
///     auth: None,
///     message: Message::Ready(Ready { epoch: 1, version: 0 }),
/// };
/// assert!(envelope.target.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sending peer.
    pub source: String,
    /// The peer it is for; `None` for everyone.
    pub target: Option<String>,
    /// The sender's capability token, if it has one.
    pub auth: Option<String>,
    /// The message.
    pub message: Message,
}

/// A peer's receiving end; `false` once its owner is gone.
type Receiver = Arc<dyn Fn(&Envelope) -> bool + Send + Sync>;

/// A channel every peer hears, like a browser `BroadcastChannel`: a host and any number of
/// clients, each a [`BroadcastTransport`] with its own peer id.
///
/// Calls and sync requests go to the client's target peer; the host rewrites their ids so
/// two clients may use the same ids, and addresses each result, and each snapshot that answers
/// a sync request, to the client that asked. Ordinary state messages go to everyone.
///
/// # Examples
/// ```
/// use stateloom_store::Store;
/// use stateloom_worker::{BroadcastBus, Module, WorkerApp, WorkerClient};
///
/// let bus = BroadcastBus::new();
/// let one = WorkerClient::new(bus.client("tab:one", "tab:host"));
/// let two = WorkerClient::new(bus.client("tab:two", "tab:host"));
/// let store = Store::new(0_i64);
/// let app = WorkerApp::builder()
///     .module(Module::new("count", store).method("add", |s, n: i64| { s.update(move |c| *c += n); s.get_state() }))
///     .build(bus.host("tab:host"));
/// let a = one.call("count", "add", 2);
/// let b = two.call("count", "add", 5);
/// app.pump();
/// one.pump();
/// two.pump();
/// assert_eq!(a.try_result().unwrap().unwrap(), 2);
/// assert_eq!(b.try_result().unwrap().unwrap(), 7);
/// assert_eq!(one.get_state(), two.get_state());
/// ```
#[derive(Clone, Default)]
pub struct BroadcastBus {
    peers: Arc<Mutex<Vec<Receiver>>>,
}

impl BroadcastBus {
    /// An empty bus.
    ///
    /// # Examples
    /// See [`BroadcastBus`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The transport of the host peer `peer_id`.
    ///
    /// # Examples
    /// See [`BroadcastBus`].
    pub fn host(&self, peer_id: impl Into<String>) -> BroadcastTransport {
        self.peer(peer_id.into(), None, true)
    }

    /// The transport of a client peer `peer_id` whose calls go to `target_peer_id`.
    ///
    /// # Examples
    /// See [`BroadcastBus`].
    pub fn client(
        &self,
        peer_id: impl Into<String>,
        target_peer_id: impl Into<String>,
    ) -> BroadcastTransport {
        self.peer(peer_id.into(), Some(target_peer_id.into()), false)
    }

    fn peer(&self, peer_id: String, target: Option<String>, host: bool) -> BroadcastTransport {
        BroadcastTransport {
            bus: self.clone(),
            peer_id,
            target,
            token: None,
            routes: host.then(|| Arc::new(Mutex::new(Routes::default()))),
        }
    }

    fn send(&self, envelope: &Envelope) {
        let peers = self
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for peer in peers {
            peer(envelope);
        }
    }
}

impl std::fmt::Debug for BroadcastBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastBus").finish_non_exhaustive()
    }
}

/// One peer's transport on a [`BroadcastBus`].
///
/// # Examples
/// See [`BroadcastBus`].
pub struct BroadcastTransport {
    bus: BroadcastBus,
    peer_id: String,
    target: Option<String>,
    token: Option<String>,
    /// The host's routed call ids; `None` on a client.
    routes: Option<Arc<Mutex<Routes>>>,
}

/// The host's table from the ids it gave incoming calls and sync requests to their sender
/// and original id.
#[derive(Default)]
struct Routes {
    next: CallId,
    // Keyed by ids from the wire: hashed with aHash's seeded hasher.
    pending: HashMap<CallId, (String, CallId), ahash::RandomState>,
}

impl BroadcastTransport {
    /// Requires `token` on every message this peer receives and attaches it to every message
    /// it sends. Messages with another token, or none, are ignored.
    ///
    /// # Examples
    /// ```
    /// let bus = stateloom_worker::BroadcastBus::new();
    /// let host = bus.host("tab:host").with_token("s3cret");
    /// assert_eq!(host.peer_id(), "tab:host");
    /// ```
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// This peer's id.
    ///
    /// # Examples
    /// See [`with_token`](Self::with_token).
    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }
}

impl Transport for BroadcastTransport {
    fn post(&self, message: Message) -> Result<()> {
        let (target, message) = match &self.routes {
            None => match message {
                Message::Call(_) | Message::Sync(_) => (self.target.clone(), message),
                other => (None, other),
            },
            Some(routes) => {
                let mut routes = routes.lock().unwrap_or_else(PoisonError::into_inner);
                match message {
                    Message::Result(mut result) => match routes.pending.remove(&result.id) {
                        Some((peer, id)) => {
                            result.id = id;
                            (Some(peer), Message::Result(result))
                        }
                        None => (None, Message::Result(result)),
                    },
                    Message::State(mut update) => {
                        match update.sync_id.and_then(|id| routes.pending.remove(&id)) {
                            Some((peer, id)) => {
                                update.sync_id = Some(id);
                                (Some(peer), Message::State(update))
                            }
                            None => (None, Message::State(update)),
                        }
                    }
                    other => (None, other),
                }
            }
        };
        self.bus.send(&Envelope {
            source: self.peer_id.clone(),
            target,
            auth: self.token.clone(),
            message,
        });
        Ok(())
    }

    fn subscribe(&self, inbox: Inbox) {
        let me = self.peer_id.clone();
        let token = self.token.clone();
        let routes = self.routes.clone();
        let receiver: Receiver = Arc::new(move |envelope: &Envelope| {
            if envelope.source == me
                || envelope.target.as_ref().is_some_and(|t| *t != me)
                || envelope.auth != token
            {
                return true;
            }
            let mut message = envelope.message.clone();
            if let Some(routes) = &routes {
                // Give the request an id of this host's, remember whom to answer.
                let mut routes = routes.lock().unwrap_or_else(PoisonError::into_inner);
                let id = match &mut message {
                    Message::Call(call) => &mut call.id,
                    Message::Sync(request) => &mut request.id,
                    _ => return true,
                };
                routes.next += 1;
                let routed = routes.next;
                routes
                    .pending
                    .insert(routed, (envelope.source.clone(), *id));
                *id = routed;
            }
            inbox.deliver(message)
        });
        self.bus
            .peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(receiver);
    }
}

impl std::fmt::Debug for BroadcastTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastTransport")
            .field("peer_id", &self.peer_id)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}
