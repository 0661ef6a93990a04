//! Run StateLoom stores on another thread, process or machine, and mirror their state
//! anywhere: a host answers calls and publishes state; clients mirror it in their own
//! thread's reactive graph.
//!
//! ```
//! use stateloom_store::Store;
//! use stateloom_worker::{Module, WorkerApp, WorkerClient, spawn_worker};
//!
//! // The host runs on a thread of its own; its stores are the source of truth.
//! let (transport, thread) = spawn_worker(|transport| {
//!     let counter = Store::new(0_i64);
//!     WorkerApp::builder()
//!         .module(Module::new("counter", counter).method("add", |s, n: i64| {
//!             s.update(move |c| *c += n);
//!             s.get_state()
//!         }))
//!         .build(transport)
//! })
//! .unwrap();
//! // The client mirrors the state here, in this thread's graph.
//! let client = WorkerClient::new(transport);
//! let count = client.select(|state| state["counter"].as_i64().unwrap_or(0));
//! assert_eq!(client.call_blocking("counter", "add", 2).unwrap(), 2);
//! assert_eq!(count.get(), 2); // the mirror caught up before the call settled
//! client.dispose();
//! thread.join().unwrap();
//! ```
//!
//! # Design
//! - **Messages, not shared memory.** The core graph is single-threaded and its handles are
//!   not `Send`. State crosses threads as [`Message`]s: `call`, `result`, `state`, `sync` and
//!   `ready`, with a JSON form and a compact binary form ([`Codec`]).
//! - **The host is the source of truth.** A [`WorkerApp`] owns [`Module`]s: a name, a
//!   `stateloom_store::Store` and the methods clients may call. Each call is one atomic
//!   commit: one new version, whatever the method wrote; a panicking method is rolled back.
//! - **Epochs and contiguous versions.** Each host lifetime has a random epoch, and each
//!   published change the next version. A client detects lost, duplicated, reordered and late
//!   messages, reports them ([`Conflict`]) and recovers by asking for a snapshot.
//! - **Results wait for their state.** A call settles only once the mirror has reached the
//!   version the result observed, so code that runs on a result sees the method's writes.
//! - **Patches of what changed.** In [`SyncMode::Patch`] the host sends RFC 6902 patches of
//!   only the modules whose store moved, and clients apply them atomically.
//! - **Private sections stay home.** [`WorkerAppBuilder::state_sections`] publishes only the
//!   chosen modules.
//! - **Hostile input is an error value.** Unknown modules and methods, bad arguments, bad
//!   patches and bad bytes produce errors or conflicts, never a panic of the host.
//!
//! # Which construct do I use?
//! | you want to | use |
//! |---|---|
//! | serve stores to other threads or processes | [`WorkerApp`] with [`Module`]s |
//! | run the host on its own thread | [`spawn_worker`] |
//! | mirror the state and call methods | [`WorkerClient`] |
//! | call methods without string names | [`worker_module!`] |
//! | derive a reactive value from the mirror | [`WorkerClient::select`], [`WorkerClient::watch`] |
//! | host and client in one thread (tests, demos) | [`memory_pair`] |
//! | several clients on one channel | [`BroadcastBus`] |
//! | a host and clients on several machines, through a NATS server | `NatsBuilder` (feature `nats`) |
//! | test behaviour under loss, duplication and reordering | [`FaultTransport`] |
//! | carry messages as bytes | [`JsonCodec`], [`PostcardCodec`] |
//! | test timeouts without waiting | [`ManualClock`] |
//!
//! # Features
//! - `nats`: a transport over a NATS server (`NatsBuilder`, `NatsHost`, `NatsClient`), with
//!   `async-nats` and a small tokio runtime per connection.
//! - `net`: hosts and clients over byte streams (TCP, Unix sockets, pipes), in the [`net`]
//!   module: frames, a handshake with an optional shared secret, many connections per host,
//!   reconnection with resync.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]
#![forbid(unsafe_code)]

mod client;
mod clock;
mod codec;
mod error;
mod host;
mod message;
mod module;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "net")]
#[cfg_attr(docsrs, doc(cfg(feature = "net")))]
pub mod net;
mod timer;
mod transport;
mod typed;

pub use client::{
    CallOptions, ClientBuilder, Conflict, ConflictReason, PendingCall, TypedCall, WatchOptions,
    WhenReady, WorkerClient,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use codec::{Codec, JsonCodec, PostcardCodec};
pub use error::{Error, RemoteError, Result};
pub use host::{SyncMode, WorkerApp, WorkerAppBuilder};
pub use message::{
    Call, CallId, CallResult, Epoch, Message, Outcome, Payload, Ready, StateUpdate, SyncRequest,
    Version,
};
pub use module::{MethodTable, Module};
#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub use nats::{NatsBuilder, NatsClient, NatsHost, NatsStats};
pub use transport::{
    BroadcastBus, BroadcastTransport, Envelope, Fault, FaultTransport, Inbox, MemoryTransport,
    Transport, WorkerThread, memory_pair, spawn_worker,
};

/// The names most programs need, for a glob import.
///
/// # Examples
/// ```
/// use stateloom_worker::prelude::*;
///
/// let (host_side, client_side) = memory_pair();
/// let app = WorkerApp::builder().build(host_side);
/// let client = WorkerClient::new(client_side);
/// app.pump();
/// client.pump();
/// assert!(client.is_ready());
/// ```
pub mod prelude {
    pub use crate::{
        Module, SyncMode, WorkerApp, WorkerClient, memory_pair, spawn_worker, worker_module,
    };
}

/// The examples of the guide, `docs/worker.md`, run as doc tests so the guide cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/worker.md")]
struct GuideExamples;

/// The examples of the network guide, `docs/worker-network.md`.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/worker-network.md")]
struct NetworkGuideExamples;
