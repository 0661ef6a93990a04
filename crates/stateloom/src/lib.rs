//! StateLoom: state management for Rust on one fast reactive kernel.
//!
//! This crate re-exports the StateLoom crates, each behind a cargo feature of the same name,
//! for programs that prefer one dependency. `core`, `atom`, `store` and `optimistic` are on by default.
//!
//! | feature | crate | what it gives |
//! |---|---|---|
//! | `core` | [`stateloom-core`](https://docs.rs/stateloom-core) | signals, computeds, effects, batches, roots, scopes |
//! | `atom` | [`stateloom-atom`](https://docs.rs/stateloom-atom) | Jotai-style atoms: config objects whose values live in scopes; derived, writable, families |
//! | `store` | [`stateloom-store`](https://docs.rs/stateloom-store) | Zustand-style stores: selectors, listeners, middleware (persist, history, logger) |
//! | `optimistic` | [`stateloom-optimistic`](https://docs.rs/stateloom-optimistic) | async results, queries, mutations and optimistic updates as atoms |
//! | `worker` | [`stateloom-worker`](https://docs.rs/stateloom-worker) | stores hosted on another thread or process, mirrored in this thread's graph |
//! | `worker-net` | `stateloom-worker` with its `net` feature | the worker over TCP, Unix sockets and pipes |
//! | `egui` | `egui` 0.32 | [`egui::repaint_on_change`]: a UI repaints when a value it shows changes |
//! | `worker-nats` | `stateloom-worker` with its `nats` feature | the worker through a NATS server, for hosts and clients on several machines |
//! | `bridge` | [`stateloom-bridge`](https://docs.rs/stateloom-bridge) | external reactive stores as atoms, with an event-sourced SQLite store (off by default) |
//!
//! `serde` and `tracing` turn on the features of the same name in the crates that have them.
//!
//! ```
//! use stateloom::core::{computed, signal};
//!
//! let n = signal(2);
//! let square = computed(move || n.get() * n.get());
//! n.set(3);
//! assert_eq!(square.get(), 9);
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]
#![forbid(unsafe_code)]

/// The reactive kernel: see [`stateloom_core`].
#[cfg(feature = "core")]
#[doc(inline)]
pub use stateloom_core as core;

/// Jotai-style atoms: see [`stateloom_atom`].
#[cfg(feature = "atom")]
#[doc(inline)]
pub use stateloom_atom as atom;

/// Zustand-style stores: see [`stateloom_store`].
#[cfg(feature = "store")]
#[doc(inline)]
pub use stateloom_store as store;

/// Async results, queries, mutations and optimistic updates: see [`stateloom_optimistic`].
#[cfg(feature = "optimistic")]
#[doc(inline)]
pub use stateloom_optimistic as optimistic;

/// External reactive stores as atoms, and the event-sourced SQLite store: see
/// [`stateloom_bridge`].
#[cfg(feature = "bridge")]
#[doc(inline)]
pub use stateloom_bridge as bridge;
/// Stores hosted on another thread, process or machine, mirrored here: see [`stateloom_worker`].
#[cfg(feature = "egui")]
#[cfg_attr(docsrs, doc(cfg(feature = "egui")))]
pub mod egui;

#[cfg(feature = "worker")]
#[doc(inline)]
pub use stateloom_worker as worker;
