//! External reactive stores as StateLoom atoms, through a batch coordinator; and an
//! event-sourced SQLite store, the first such store.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use serde::{Deserialize, Serialize};
//! use stateloom_atom::{AtomScope, derived};
//! use stateloom_bridge::{BatchCoordinator, SqlQuery, SqliteStore, StoreBridge};
//!
//! #[derive(Serialize, Deserialize)]
//! enum Event { Added(String), Cleared }
//!
//! let scope = AtomScope::new();
//! let coordinator = BatchCoordinator::new(scope.clone());
//! let store = SqliteStore::<Event>::builder()
//!     .table("CREATE TABLE todos (text TEXT NOT NULL)")
//!     .materializer(|event, db| match event {
//!         Event::Added(text) => db.execute("INSERT INTO todos VALUES (?1)", [text]).map(drop),
//!         Event::Cleared => db.execute("DELETE FROM todos", []).map(drop),
//!     })
//!     .batch_updates(coordinator.batch_updates())
//!     .open_in_memory()?;
//! let bridge = StoreBridge::new(store.clone(), coordinator)?;
//! let count = bridge.query_atom(SqlQuery::<i64>::value("SELECT count(*) FROM todos", []))?;
//! let summary = derived(move |get| format!("{} to do", get.get(count)));
//!
//! store.commit(Event::Added("milk".into())).map_err(|e| e.error)?;
//! assert_eq!(scope.get(summary), "1 to do");
//! store.commit(Event::Cleared).map_err(|e| e.error)?;
//! assert_eq!(scope.get(summary), "0 to do");
//! # }
//! # Ok::<(), stateloom_bridge::Error>(())
//! ```
//!
//! # Design
//! - **The problem.** An external store calls its subscribers while it is still
//!   dispatching a change. If they write atoms right there, StateLoom's subscribers and
//!   effects run mid-dispatch, see one query updated and the next not yet, and may write
//!   the store again. The [`BatchCoordinator`] queues those writes (last value per atom),
//!   and applies them together in one kernel batch once the store's dispatch has ended.
//! - **Phases, not polling.** A store reports [`Phase::BeforeChange`] and
//!   [`Phase::AfterSettle`] through its [`BatchUpdates`], so the coordinator knows exactly
//!   when to flush; a store that cannot falls back to a dispatch probe.
//! - **Per-store caches.** A [`StoreBridge`] holds one store's query atoms; its subscriptions
//!   are released through a [`DisposePool`], tied to an atom scope.
//! - **SQLite says what a statement touches.** The [`SqliteStore`] learns the tables each
//!   query reads and each materializer statement writes from SQLite's authorizer when the
//!   statement is prepared, never by parsing SQL. Only queries reading a written table
//!   re-run; only changed results notify; one commit is one notification pass.
//! - **One thread.** Like the kernel, everything here is `!Send`.
//!
//! # Which construct do I use?
//! | you want | use |
//! |---|---|
//! | make any reactive store a source of atoms | implement [`ExternalStore`] |
//! | hold a store's updates until its dispatch is over | [`BatchCoordinator`] |
//! | an atom that follows a query | [`StoreBridge::query_atom`] |
//! | release many subscriptions at once | [`DisposePool`] |
//! | an event log with SQL tables as the read model | [`SqliteStore`] (feature `sqlite`) |
//!
//! # Features
//! - `sqlite`: [`SqliteStore`], on `rusqlite` with SQLite compiled in.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]
#![forbid(unsafe_code)]

mod bridge;
mod coordinator;
mod error;
mod external;
mod key;
mod pool;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use bridge::StoreBridge;
pub use coordinator::{BatchCoordinator, DEFAULT_MAX_DEFERRALS, UpdateTarget};
pub use error::{Error, Result};
pub use external::{BatchUpdates, ExternalStore, ExternalSubscription, Phase, SubscribeOptions};
pub use pool::DisposePool;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{
    Commit, CommitError, Durability, FORMAT_VERSION, MAX_SETTLE_ROUNDS, SqlQuery, SqliteStore,
    SqliteStoreBuilder, StoreStats, Writer,
};

/// The examples of the guide, `docs/bridge.md`, run as doc tests so the guide cannot go stale.
#[cfg(all(doctest, feature = "sqlite"))]
#[doc = include_str!("../../../docs/bridge.md")]
struct GuideExamples;
