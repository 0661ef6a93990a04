//! Shared code for the StateLoom benchmarks: the [`Framework`] trait, one adapter per library,
//! the ported js-reactivity-benchmark workloads and the driver that probes and times them. The
//! bench targets themselves are in `benches/`.
//!
//! # Layout
//! - [`framework`]: the trait every library implements, and the upstream `busy()`.
//! - [`adapters`]: `stateloom`, `alien_signals`, `sycamore` and `reactive_graph`.
//! - [`workloads`]: each case written once, generic over [`Framework`], plus a hand-written
//!   non-reactive `baseline` that computes the same results with plain variables.
//! - [`harness`]: criterion groups, the probe child process and the skip file (the contract
//!   with `xtask`).

pub mod adapters;
pub mod framework;
pub mod harness;
pub mod workloads;

pub use framework::{Framework, Value, busy};

/// Builds a chain of `depth` computeds, each adding one to the previous, on top of `head`.
///
/// # Examples
/// ```
/// let head = stateloom_core::signal(0);
/// let tail = stateloom_benches::chain(head, 10);
/// assert_eq!(tail.get(), 10);
/// ```
pub fn chain(head: stateloom_core::Signal<i64>, depth: usize) -> stateloom_core::Computed<i64> {
    let mut last = stateloom_core::computed(move || head.get() + 1);
    for _ in 1..depth {
        let prev = last;
        last = stateloom_core::computed(move || prev.get() + 1);
    }
    last
}
