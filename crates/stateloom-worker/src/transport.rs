//! How messages travel: the [`Transport`] trait, and the [`Inbox`] a transport delivers into.

mod broadcast;
mod fault;
mod memory;
mod thread;

pub use broadcast::{BroadcastBus, BroadcastTransport, Envelope};
pub use fault::{Fault, FaultTransport};
pub use memory::{MemoryTransport, memory_pair};
pub use thread::{WorkerThread, spawn_worker};

use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::error::Result;
use crate::message::Message;

/// A way to send messages to the other side and to receive theirs: `post` and `subscribe`.
///
/// A host ([`WorkerApp`](crate::WorkerApp)) and a client ([`WorkerClient`](crate::WorkerClient))
/// each own one transport. They call [`subscribe`](Transport::subscribe) once with their
/// [`Inbox`]; the transport hands every message meant for them to
/// [`Inbox::deliver`], from any thread. The host and client then read their inbox on their own
/// thread, where their reactive graph lives.
///
/// # Examples
/// A transport that logs what it sends, around another:
/// ```
/// use std::sync::{Arc, Mutex};
/// use stateloom_worker::{Inbox, Message, Transport, memory_pair};
///
/// struct Logged<T> { inner: T, sent: Arc<Mutex<Vec<String>>> }
///
/// impl<T: Transport> Transport for Logged<T> {
///     fn post(&self, message: Message) -> stateloom_worker::Result<()> {
///         self.sent.lock().unwrap().push(serde_json::to_string(&message).unwrap());
///         self.inner.post(message)
///     }
///     fn subscribe(&self, inbox: Inbox) {
///         self.inner.subscribe(inbox)
///     }
/// }
///
/// let (host, client) = memory_pair();
/// let sent = Arc::new(Mutex::new(Vec::new()));
/// let logged = Logged { inner: client, sent: sent.clone() };
/// logged.post(Message::Sync(stateloom_worker::SyncRequest { id: 1, min_version: 0 })).unwrap();
/// assert_eq!(sent.lock().unwrap().len(), 1);
/// # drop(host);
/// ```
pub trait Transport {
    /// Sends `message` to the other side.
    ///
    /// # Errors
    /// [`Error::Transport`](crate::Error::Transport) if the message cannot be sent.
    fn post(&self, message: Message) -> Result<()>;

    /// Delivers every message that arrives for this side to `inbox`, from now on.
    fn subscribe(&self, inbox: Inbox);
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn post(&self, message: Message) -> Result<()> {
        (**self).post(message)
    }

    fn subscribe(&self, inbox: Inbox) {
        (**self).subscribe(inbox)
    }
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn post(&self, message: Message) -> Result<()> {
        (**self).post(message)
    }

    fn subscribe(&self, inbox: Inbox) {
        (**self).subscribe(inbox)
    }
}

/// The receiving end of a host or client, as a transport sees it: a cheap, `Send` handle
/// that queues messages for the owner's thread and wakes whoever waits for them.
///
/// # Examples
/// See [`Transport`].
#[derive(Clone)]
pub struct Inbox {
    sender: Sender<Delivery>,
    wakers: Arc<Mutex<Vec<Waker>>>,
}

/// What an inbox queues.
pub(crate) enum Delivery {
    Message(Message),
    /// The other side is gone.
    Closed,
}

impl Inbox {
    /// Queues `message` for the owner. Returns `false` if the owner is gone, so the transport
    /// can forget this inbox.
    ///
    /// # Examples
    /// See [`Transport`].
    pub fn deliver(&self, message: Message) -> bool {
        let alive = self.sender.send(Delivery::Message(message)).is_ok();
        self.wake();
        alive
    }

    /// Tells the owner the other side is gone: a client fails its pending calls, a host's
    /// [`run`](crate::WorkerApp::run) loop returns.
    ///
    /// # Examples
    /// ```
    /// let (host, client) = stateloom_worker::memory_pair();
    /// drop(host); // closes the inboxes subscribed to `client`
    /// # drop(client);
    /// ```
    pub fn close(&self) {
        let _ = self.sender.send(Delivery::Closed);
        self.wake();
    }

    fn wake(&self) {
        let wakers =
            std::mem::take(&mut *self.wakers.lock().unwrap_or_else(PoisonError::into_inner));
        for waker in wakers {
            waker.wake();
        }
    }
}

/// The owner's side of an inbox.
pub(crate) struct InboxReceiver {
    receiver: Receiver<Delivery>,
    wakers: Arc<Mutex<Vec<Waker>>>,
}

impl InboxReceiver {
    pub(crate) fn new() -> (Inbox, InboxReceiver) {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let wakers = Arc::new(Mutex::new(Vec::new()));
        (
            Inbox {
                sender,
                wakers: Arc::clone(&wakers),
            },
            InboxReceiver { receiver, wakers },
        )
    }

    /// The next delivery, if one is queued.
    pub(crate) fn try_next(&self) -> Option<Delivery> {
        self.receiver.try_recv().ok()
    }

    /// The next delivery, waiting up to `timeout` for one. A queue no transport can fill any
    /// more reads as closed, so a loop waiting on it stops instead of spinning.
    pub(crate) fn next_timeout(&self, timeout: Duration) -> Option<Delivery> {
        match self.receiver.recv_timeout(timeout) {
            Ok(delivery) => Some(delivery),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Delivery::Closed),
        }
    }

    /// Wakes `waker` when the next delivery arrives.
    pub(crate) fn register(&self, waker: &Waker) {
        let mut wakers = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }
}
