//! Zustand-style stores for StateLoom: one state object per store, read through selectors,
//! written through a middleware pipeline (persist, history, logger), on the core graph.
//!
//! ```
//! use stateloom_store::{History, Store};
//!
//! #[derive(Clone, Debug, PartialEq)]
//! struct Counter { count: i32 }
//!
//! let history = History::new(50);
//! let store = Store::builder(Counter { count: 0 }).middleware(history.clone()).build();
//! let count = store.select(|s| s.count); // a core `Computed<i32>`
//! let _sub = store.subscribe_selector(|s| s.count, |new, old| println!("{old} -> {new}"));
//! store.named("increment").update(|s| s.count += 1);
//! assert_eq!(count.get(), 1);
//! history.undo();
//! assert_eq!(count.get(), 0);
//! ```
//!
//! # Actions
//! Actions are ordinary methods. Wrap the store in a newtype (or write an extension trait
//! for `Store<YourState>`) and give each write a name with [`Store::named`], so middleware
//! such as the logger can tell them apart:
//!
//! ```
//! use stateloom_store::Store;
//!
//! #[derive(Clone, Debug, Default, PartialEq)]
//! struct Todo { title: String, done: bool }
//!
//! /// The todo list, with its actions.
//! #[derive(Clone)]
//! struct Todos(Store<Vec<Todo>>);
//!
//! impl Todos {
//!     fn add(&self, title: &str) {
//!         let todo = Todo { title: title.into(), done: false };
//!         self.0.named("add").update(move |list| list.push(todo));
//!     }
//!     fn toggle(&self, index: usize) {
//!         self.0.named("toggle").update(move |list| {
//!             if let Some(t) = list.get_mut(index) { t.done = !t.done; }
//!         });
//!     }
//! }
//!
//! /// The same, as an extension trait on the store itself.
//! trait TodoActions {
//!     fn clear_done(&self);
//! }
//! impl TodoActions for Store<Vec<Todo>> {
//!     fn clear_done(&self) {
//!         self.named("clear done").update(|list| list.retain(|t| !t.done));
//!     }
//! }
//!
//! let todos = Todos(Store::new(Vec::new()));
//! todos.add("milk");
//! todos.add("eggs");
//! todos.toggle(0);
//! todos.0.clear_done();
//! assert_eq!(todos.0.with(|l| l.len()), 1);
//! ```
//!
//! # Design
//! - **On the core graph.** The state is a core `Signal`; [`Store::select`] returns a core
//!   `Computed` with equality, so selectors can be read inside computeds, effects and atoms'
//!   derived reads, and a selector whose output did not change notifies nobody.
//! - **Cheap writes.** A write swaps the new state in and keeps the old one for listeners
//!   without cloning it; listeners are called directly, not through effects.
//!   [`Store::subscribe_selector`] runs its selector once per write and calls its listener only
//!   when the output changed.
//! - **Equal writes are skipped.** A write whose result equals the current state notifies
//!   nobody and is recorded by no middleware (no undo step, no save, no log line), whatever
//!   path it took. [`Store::new`] and [`Store::builder`] compare with `PartialEq`;
//!   [`Store::new_with_equals`] and [`Store::builder_with_equals`] take your own equality,
//!   which is also how a state without `PartialEq` gets a store.
//! - **One write value.** A [`Write`] (an [`Update`] plus an optional action name) is what
//!   flows through the [`Middleware`] pipeline. Middleware can observe, transform, veto or
//!   delay it; the first middleware added is the outermost, and none knows the others.
//! - **Actions are methods.** There is no action registry: write methods on a newtype or an
//!   extension trait of `Store<YourState>`, and name their writes with [`Store::named`].
//! - **Persisted data is precious.** [`Persist`] writes files atomically, and never
//!   overwrites data it could not read with a default.
//! - **Single-threaded**, like the core: `Store` is `Clone` but not `Send`.
//!
//! # Which construct do I use?
//! | you want to | use |
//! |---|---|
//! | read the whole state | [`Store::get_state`], [`Store::with`] |
//! | replace it / change it in place / change some fields | [`Store::set_state`], [`Store::update`], [`Store::patch`] with a [`Patch`] |
//! | name a write for middleware | [`Store::named`], [`Write::with_action`] |
//! | decide yourself which writes are changes (or store a state without `PartialEq`) | [`Store::new_with_equals`], [`Store::builder_with_equals`] |
//! | derive a value that other reactive code reads | [`Store::select`] |
//! | react to every change with old and new state | [`Store::subscribe`] |
//! | react to one part changing | [`Store::subscribe_selector`] |
//! | save and restore the state | [`Persist`] with [`FileStorage`] or [`MemoryStorage`] |
//! | undo and redo | [`History`] |
//! | log writes | `Logger` (feature `tracing`) |
//! | wrap writes in your own logic | [`Middleware`] or [`middleware_fn`] |
//! | give each server request its own state | `Scope::set(store.signal(), ..)`; see [`Store::signal`] |
//!
//! # Features
//! - `serde`: `JsonCodec` for [`Persist`], `Logger::json`, and the core's `serde` feature
//!   (scope serialization of a store's signal).
//! - `tracing`: the `Logger` middleware.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]
#![forbid(unsafe_code)]

mod error;
mod history;
#[cfg(feature = "tracing")]
mod logger;
mod middleware;
mod persist;
mod store;
mod write;

pub use error::{Error, Result};
pub use history::History;
#[cfg(feature = "tracing")]
pub use logger::Logger;
pub use middleware::{Api, FnMiddleware, Middleware, Next, middleware_fn};
#[cfg(feature = "serde")]
pub use persist::JsonCodec;
pub use persist::{Codec, FileStorage, FnCodec, MemoryStorage, Persist, PersistBuilder, Storage};
pub use store::{Named, Store, StoreBuilder, StoreSubscription};
pub use write::{Patch, Update, Write};

/// The names most programs need, for a glob import.
///
/// # Examples
/// ```
/// use stateloom_store::prelude::*;
///
/// let store = Store::new(1);
/// store.set_state(2);
/// assert_eq!(store.get_state(), 2);
/// ```
pub mod prelude {
    pub use crate::{History, Middleware, Persist, Store, Write};
}

/// The examples of the guide, `docs/store.md`, run as doc tests so the guide cannot go stale.
/// Some use `JsonCodec` and `Logger`, so they run with the `serde` and `tracing` features.
#[cfg(all(doctest, feature = "serde", feature = "tracing"))]
#[doc = include_str!("../../../docs/store.md")]
struct GuideExamples;
