//! The reactive kernel of StateLoom: signals, computed values, effects, batches, ownership and
//! SSR scopes, on one fast, glitch-free dependency graph.
//!
//! ```
//! use stateloom_core::{batch, computed, create_root, effect, signal};
//! use std::{cell::RefCell, rc::Rc};
//!
//! let log = Rc::new(RefCell::new(Vec::new()));
//! let (price, root) = create_root(|| {
//!     let price = signal(10);
//!     let quantity = signal(3);
//!     let total = computed(move || price.get() * quantity.get());
//!     let l = log.clone();
//!     effect(move || l.borrow_mut().push(total.get()));
//!     batch(|| { price.set(12); quantity.set(2) });
//!     price
//! });
//! price.set(20);
//! assert_eq!(*log.borrow(), [30, 24, 40]);
//! root.dispose();
//! ```
//!
//! # Design
//! - **Push, then pull.** A write marks everything downstream as possibly out of date and
//!   queues the effects it reaches; nothing recomputes until read. A read walks back up and
//!   recomputes only what really changed, so no computed or effect ever sees a half-updated
//!   graph, and a computed that recomputes to an equal value stops the change there.
//! - **One runtime per thread.** Handles (`Signal`, `Computed`, `Effect`) are small `Copy`
//!   keys into this thread's graph and are not `Send`; there are no locks or atomics. Moving
//!   state between threads is done with messages (`stateloom-worker`).
//! - **No recursion per graph level.** Marking, checking and disposal use explicit stacks; a
//!   first read through a very deep chain of never-computed values grows the stack on demand.
//!   A chain of a million computeds works on a 2 MiB thread.
//! - **Ownership.** Nodes created inside a [`create_root`] closure, an effect or a computed
//!   belong to it and are disposed with it; an effect's children are disposed before it
//!   re-runs. Reading a disposed handle is an error naming where the node was created.
//! - **Failures stay local.** A computed that reads itself is [`Error::Cycle`]; effects that
//!   re-trigger each other forever stop with [`Error::EffectLoop`] after 100 flush rounds
//!   ([`set_flush_round_limit`]); a panicking effect or cleanup does not stop the others; after
//!   a panic in user code the runtime stays usable.
//!
//! # Which construct do I use?
//! | you want to | use |
//! |---|---|
//! | hold a value that changes | [`signal`] |
//! | derive a value from others, cached | [`computed`] |
//! | do something when values change (I/O, logging, DOM) | [`effect`] or `subscribe` |
//! | write several signals, react once | [`batch`] |
//! | read without depending | [`untrack`], `get_untracked` |
//! | free a group of nodes together | [`create_root`] and [`Root::dispose`] |
//! | give each request its own values | [`Scope`] and [`run_in_scope`] |
//! | accept "anything readable" in an API | [`Subscribable`] |
//! | await a value, or consume it as a stream | `SubscribableExt` (feature `futures`) |
//!
//! # Features
//! - `serde`: [`Scope::serialize`] and [`Scope::hydrate`] with stable keys.
//! - `tracing`: `tracing` spans around flushes (`stateloom.flush`) and runs (`stateloom.run`).
//! - `futures`: [`SubscribableExt`]: any `Subscribable` as a stream of its values, or a future
//!   of the first value that passes a test, for async code on the graph's thread.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]
#![deny(unsafe_code)]

mod arena;
mod batch;
mod computed;
mod diagnostics;
mod effect;
mod erased;
mod error;
mod graph;
mod pool;
mod root;
mod runtime;
mod scope;
mod signal;
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
mod stream;
mod subscribable;

pub use batch::{batch, on_cleanup, untrack};
pub use computed::{Computed, computed, computed_with_equals};
pub use diagnostics::{
    RuntimeCapacity, RuntimeStats, clear_batch_hook, runtime_capacity, runtime_stats,
    set_batch_hook, set_flush_round_limit, set_retained_slots,
};
pub use effect::{Effect, effect};
pub use erased::{ErasedNode, RawNode};
pub use error::{Error, Origin, Result};
pub use root::{Root, create_detached_root, create_root};
#[cfg(feature = "serde")]
pub use scope::{HydrateEntry, ScopeSnapshot, SerializeEntry};
pub use scope::{Scope, run_in_scope, run_outside_scopes};
pub use signal::{Signal, signal, signal_with_equals};
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
pub use stream::{SubscribableExt, Until, ValueStream};
pub use subscribable::{Subscribable, Subscription};

/// The names most programs need, for a glob import.
///
/// # Examples
/// ```
/// use stateloom_core::prelude::*;
///
/// let s = signal(1);
/// let c = computed(move || s.get() + 1);
/// assert_eq!(c.get(), 2);
/// ```
pub mod prelude {
    pub use crate::{
        Computed, Effect, Root, Signal, Subscribable, batch, computed, create_root, effect,
        on_cleanup, signal, untrack,
    };
}

/// The examples of the guide, `docs/core.md`, run as doc tests so the guide cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/core.md")]
struct GuideExamples;
