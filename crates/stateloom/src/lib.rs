//! StateLoom: state management for Rust on one fast reactive kernel.
//!
//! This crate re-exports the StateLoom crates, each behind a cargo feature of the same name,
//! for programs that prefer one dependency. Only `core` is on by default.
//!
//! | feature | crate | what it gives |
//! |---|---|---|
//! | `core` | [`stateloom-core`](https://docs.rs/stateloom-core) | signals, computeds, effects, batches, roots, scopes |
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
