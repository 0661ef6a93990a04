//! Async state for StateLoom: results that arrive later, queries that fetch them, mutations
//! that change them, and optimistic updates that show a change before the server confirms
//! it — all as atoms of `stateloom-atom`.
//!
//! ```
//! use std::{cell::RefCell, rc::Rc};
//! use stateloom_optimistic::{Concurrency, Key, MutationBuilder, QueryBuilder, optimistic, optimistic_fn, run_until_stalled};
//!
//! // A pretend server: a list of todos.
//! let server = Rc::new(RefCell::new(vec!["milk".to_string()]));
//! let todos = QueryBuilder::new({
//!     let server = server.clone();
//!     move |_| {
//!         let rows = server.borrow().clone();
//!         async move { Ok::<_, String>(rows) }
//!     }
//! })
//! .keys([Key::table("todos")])
//! .build();
//! let add = MutationBuilder::new(Concurrency::Concurrent, {
//!     let server = server.clone();
//!     move |title: String, _| {
//!         let server = server.clone();
//!         async move {
//!             futures::future::ready(()).await; // the network
//!             server.borrow_mut().push(title);
//!             Ok::<_, String>(())
//!         }
//!     }
//! })
//! .invalidates([Key::table("todos")])
//! .build();
//!
//! let shown = optimistic(todos);
//! let add = optimistic_fn(shown, |list, title: &String| {
//!     list.clone().map(|mut rows| {
//!         rows.push(title.clone());
//!         rows
//!     })
//! }, add);
//!
//! add.write("eggs".into());
//! assert_eq!(shown.get().value().unwrap().len(), 2); // shown at once
//! run_until_stalled(); // the server answers; the list is fetched again
//! assert_eq!(shown.get().value().unwrap(), &["milk", "eggs"]);
//! ```
//!
//! # Design
//! - **Everything is an atom.** A [`Query`], a [`Mutation`], an [`Optimistic`] atom and an
//!   [`OptimisticFn`] are `stateloom-atom` atoms: shared definitions whose values live in an
//!   [`AtomScope`](stateloom_atom::AtomScope). Read them with `scope.get`, subscribe with
//!   `scope.sub`, combine them in `derived`, make them per id with `atom_family`. Dropping or
//!   disposing a scope cancels the futures it started.
//! - **No executor of our own.** Futures run on the thread's [`Spawner`]: by default a
//!   `futures` `LocalPool` driven by [`run_until_stalled`], or tokio's `LocalSet` with the
//!   `tokio` feature. A future that is ready when first polled is used at once, inside the
//!   call that made it.
//! - **A logical clock orders results.** Every result carries a [`Stamp`]; a query's result
//!   is stamped when its request started. An optimistic atom shows an authoritative value
//!   only when it is not waiting and not older than what it shows: no flicker back to a
//!   stale value, and no wall-clock races in tests. Idle timers use the thread's [`Clock`],
//!   which tests replace with a [`ManualClock`].
//! - **One transition per call.** Each optimistic call keeps its own reducer, re-applied on
//!   top of the newest authoritative value. A failed or cancelled call's effect is removed
//!   while the others stay; a call whose future is dropped settles as cancelled, so nothing
//!   is left frozen.
//!
//! # Which construct do I use?
//! | you want | use |
//! |---|---|
//! | a value that arrives later, with loading and error states | [`AsyncResult`] |
//! | data fetched by a future, refreshed on demand | [`query`], [`QueryBuilder`] → [`Query`] |
//! | a query dropped when unused for a while | [`QueryBuilder::time_to_live`] |
//! | refetch queries when data changes | [`Key`], [`QueryBuilder::keys`], [`MutationBuilder::invalidates`], [`invalidate`] |
//! | a write to the server | [`mutation`], [`MutationBuilder`] → [`Mutation`], with a [`Concurrency`] |
//! | show a write before the server confirms it | [`optimistic`] + [`optimistic_fn`] |
//! | the same over a value that is not an `AsyncResult` | [`optimistic_value`] |
//! | use the server's response instead of refetching | [`OptimisticFnBuilder::apply_response`] |
//! | run futures on tokio | [`TokioSpawner`], [`TokioClock`] (feature `tokio`) |
//!
//! # Features
//! - `tokio`: [`TokioSpawner`] and [`TokioClock`].
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]
#![forbid(unsafe_code)]

mod defs;
mod error;
mod keys;
mod mutation;
mod optimistic;
mod query;
mod result;
mod runtime;
#[cfg(feature = "tokio")]
mod tokio;

pub use error::{CallError, Error};
pub use keys::{Key, invalidate};
pub use mutation::{Call, Concurrency, Mutation, MutationBuilder, MutationContext, mutation};
pub use optimistic::{
    Optimistic, OptimisticAction, OptimisticFn, OptimisticFnBuilder, optimistic, optimistic_fn,
    optimistic_value,
};
pub use query::{Lifetime, Query, QueryAction, QueryBuilder, query};
pub use result::{AsyncResult, Stamp};
pub use runtime::{
    Clock, ManualClock, Spawner, SystemClock, run_until_stalled, set_clock, set_spawner,
};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use tokio::{TokioClock, TokioSpawner};

/// The examples of the guide, `docs/optimistic.md`, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/optimistic.md")]
struct GuideExamples;
