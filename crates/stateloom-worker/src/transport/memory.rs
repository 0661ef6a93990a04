//! The in-memory pair: two connected transports in one process, usable from one thread or
//! from two.

use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{Error, Result};
use crate::message::Message;
use crate::transport::{Inbox, Transport};

/// One end of an in-memory pair made by [`memory_pair`]. It is `Send`, so one end can move
/// to another thread ([`spawn_worker`](crate::spawn_worker) does exactly that).
///
/// Messages are handed over as values, without encoding; a message posted to an end with
/// several subscribers is cloned for each. Messages posted before the other end has a
/// subscriber wait for it, as in a channel. Dropping an end closes the other end's inboxes
/// (also those subscribed later), and posting to a dropped end is an
/// [`Error::Transport`](crate::Error::Transport).
///
/// # Examples
/// ```
/// use stateloom_worker::{Module, WorkerApp, WorkerClient, memory_pair};
/// use stateloom_store::Store;
///
/// let (host_side, client_side) = memory_pair();
/// let store = Store::new(0_i64);
/// let app = WorkerApp::builder()
///     .module(Module::new("count", store).method("add", |s, n: i64| s.update(move |c| *c += n)))
///     .build(host_side);
/// let client = WorkerClient::new(client_side);
/// let call = client.call("count", "add", 2);
/// app.pump();
/// client.pump();
/// assert!(call.try_result().unwrap().is_ok());
/// assert_eq!(client.get_state()["count"], 2);
/// ```
pub struct MemoryTransport {
    /// Where this end posts: the other end's subscribers.
    outgoing: Arc<Mutex<End>>,
    /// This end's subscribers.
    incoming: Arc<Mutex<End>>,
}

/// The receiving side of one end.
#[derive(Default)]
struct End {
    inboxes: Vec<Inbox>,
    /// Messages posted while no one had subscribed.
    backlog: Vec<Message>,
    /// The transport that posts here was dropped: a later subscriber is told at once.
    closed: bool,
    /// The transport that reads here was dropped: posting here fails.
    gone: bool,
}

/// Two connected in-memory transports: what one posts, the other's subscribers receive.
///
/// # Examples
/// See [`MemoryTransport`].
pub fn memory_pair() -> (MemoryTransport, MemoryTransport) {
    let a = Arc::new(Mutex::new(End::default()));
    let b = Arc::new(Mutex::new(End::default()));
    (
        MemoryTransport {
            outgoing: Arc::clone(&b),
            incoming: Arc::clone(&a),
        },
        MemoryTransport {
            outgoing: a,
            incoming: b,
        },
    )
}

impl Transport for MemoryTransport {
    fn post(&self, message: Message) -> Result<()> {
        let mut end = self.outgoing.lock().unwrap_or_else(PoisonError::into_inner);
        if end.gone {
            return Err(Error::Transport(
                "the other end of the memory pair was dropped".into(),
            ));
        }
        match end.inboxes.len() {
            0 => end.backlog.push(message),
            1 => {
                if !end.inboxes[0].deliver(message) {
                    end.inboxes.clear();
                }
            }
            _ => end.inboxes.retain(|inbox| inbox.deliver(message.clone())),
        }
        Ok(())
    }

    fn subscribe(&self, inbox: Inbox) {
        let mut end = self.incoming.lock().unwrap_or_else(PoisonError::into_inner);
        for message in std::mem::take(&mut end.backlog) {
            inbox.deliver(message);
        }
        if end.closed {
            inbox.close();
        }
        end.inboxes.push(inbox);
    }
}

impl Drop for MemoryTransport {
    fn drop(&mut self) {
        let mut outgoing = self.outgoing.lock().unwrap_or_else(PoisonError::into_inner);
        outgoing.closed = true;
        for inbox in &outgoing.inboxes {
            inbox.close();
        }
        drop(outgoing);
        // Nobody reads this end's messages any more: later posts to it fail.
        let mut incoming = self.incoming.lock().unwrap_or_else(PoisonError::into_inner);
        incoming.gone = true;
        incoming.inboxes.clear();
        incoming.backlog.clear();
    }
}

impl std::fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTransport").finish_non_exhaustive()
    }
}
