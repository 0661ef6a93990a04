//! The ported js-reactivity-benchmark workloads (milomg/js-reactivity-benchmark), each written
//! once over [`Framework`] plus a hand-written non-reactive `baseline`, and the criterion groups
//! that run them for every library.
//!
//! Each module documents the upstream case it ports and what its baseline does. The baselines
//! keep plain values in fields and recompute exactly what a perfect push-pull system would
//! (what changed, with the same equality cut-offs), so they are the floor for each case.

use std::hint::black_box;

use crate::adapters::{AlienSignals, ReactiveGraph, Stateloom, Sycamore};
use crate::framework::Framework;
use crate::harness::{Group, LEAKY_MAX_TIMES, Pair};

pub mod avoidable;
pub mod broad;
pub mod cellx;
pub mod creation;
pub mod deep;
pub mod diamond;
pub mod dynamic;
pub mod mux;
pub mod repeated;
pub mod triangle;
pub mod unstable;

/// Owns a root and disposes it when dropped, so a built workload frees its graph however it
/// ends (including outside criterion's timed region, where outputs are dropped).
///
/// # Examples
/// ```
/// use stateloom_benches::{Framework, adapters::Stateloom, workloads::RootGuard};
///
/// let (s, root) = Stateloom::root(|| Stateloom::signal(1_i64));
/// drop(RootGuard::<Stateloom>::new(root));
/// assert!(!s.is_alive());
/// ```
pub struct RootGuard<F: Framework>(Option<F::Root>);

impl<F: Framework> RootGuard<F> {
    /// Takes ownership of `root`.
    pub fn new(root: F::Root) -> Self {
        RootGuard(Some(root))
    }
}

impl<F: Framework> Drop for RootGuard<F> {
    fn drop(&mut self) {
        if let Some(root) = self.0.take() {
            F::dispose(root);
        }
    }
}

/// Asserts `actual == expected` when checking; otherwise only keeps `actual` alive.
#[inline(always)]
#[track_caller]
pub(crate) fn expect(check: bool, actual: i64, expected: i64, what: &str) {
    if check {
        assert_eq!(actual, expected, "{what}");
    } else {
        black_box(actual);
    }
}

/// Asserts an effect run count when checking.
#[inline(always)]
#[track_caller]
pub(crate) fn expect_runs(check: bool, actual: usize, expected: usize) {
    if check {
        assert_eq!(actual, expected, "effect runs");
    }
}

/// `alien-signals` never frees nodes or links, so on a workload that creates nodes on every
/// timed run (`leaks`), or like `kairo_unstable` new links on every write, its pair gets
/// capped times.
fn alien(pair: Pair, leaks: bool) -> Pair {
    if leaks {
        pair.with_max_times(LEAKY_MAX_TIMES)
    } else {
        pair
    }
}

macro_rules! group {
    ($name:expr, $kind:ident, $reactive:ident < _ $(, $arg:literal)* >, $baseline:ty) => {
        Group {
            name: $name,
            pairs: vec![
                Pair::$kind::<$reactive<Stateloom $(, $arg)*>>(Stateloom::NAME),
                alien(
                    Pair::$kind::<$reactive<AlienSignals $(, $arg)*>>(AlienSignals::NAME),
                    stringify!($kind) == "batched"
                        || $name == "kairo_unstable"
                        || $name.starts_with("dyn_"),
                ),
                Pair::$kind::<$reactive<Sycamore $(, $arg)*>>(Sycamore::NAME),
                Pair::$kind::<$reactive<ReactiveGraph $(, $arg)*>>(ReactiveGraph::NAME),
                Pair::$kind::<$baseline>("baseline"),
            ],
        }
    };
}

/// The kairo and cellx groups, in the order they run (`core_propagation`).
///
/// # Examples
/// ```
/// let groups = stateloom_benches::workloads::propagation_groups();
/// assert_eq!(groups[0].name, "kairo_avoidable");
/// assert!(groups.iter().all(|g| g.pairs.len() == 5));
/// ```
pub fn propagation_groups() -> Vec<Group> {
    use self::{
        avoidable::*, broad::*, cellx::*, deep::*, diamond::*, dynamic::*, mux::*, repeated::*,
        triangle::*, unstable::*,
    };
    vec![
        group!("kairo_avoidable", steady, Avoidable<_>, AvoidableBaseline),
        group!("kairo_broad", steady, Broad<_>, BroadBaseline),
        group!("kairo_deep", steady, Deep<_>, DeepBaseline),
        group!("kairo_diamond", steady, Diamond<_>, DiamondBaseline),
        group!("kairo_mux", steady, Mux<_>, MuxBaseline),
        group!("kairo_repeated", steady, Repeated<_>, RepeatedBaseline),
        group!("kairo_triangle", steady, Triangle<_>, TriangleBaseline),
        group!("kairo_unstable", steady, Unstable<_>, UnstableBaseline),
        group!("cellx_1000", batched, Cellx<_, 1000>, CellxBaseline<1000>),
        group!("cellx_2500", batched, Cellx<_, 2500>, CellxBaseline<2500>),
        group!("dyn_simple_component", steady, Dynamic<_, 0>, DynamicBaseline<0>),
        group!("dyn_dynamic_component", steady, Dynamic<_, 1>, DynamicBaseline<1>),
        group!("dyn_large_web_app", steady, Dynamic<_, 2>, DynamicBaseline<2>),
        group!("dyn_wide_dense", steady, Dynamic<_, 3>, DynamicBaseline<3>),
        group!("dyn_very_dynamic", steady, Dynamic<_, 4>, DynamicBaseline<4>),
    ]
}

/// The creation groups, in the order they run (`core_creation`).
///
/// # Examples
/// ```
/// let groups = stateloom_benches::workloads::creation_groups();
/// assert_eq!(groups[0].name, "create_signals_1k");
/// ```
pub fn creation_groups() -> Vec<Group> {
    use self::creation::*;
    vec![
        group!("create_signals_1k", batched, CreateSignals<_, 1000>, SignalsBaseline<1000>),
        group!("create_signals_10k", batched, CreateSignals<_, 10_000>, SignalsBaseline<10_000>),
        group!(
            "create_computeds_10k_1src",
            batched,
            CreateComputeds<_>,
            ComputedsBaseline
        ),
        group!(
            "create_computeds_8src",
            batched,
            CreateComputeds8<_>,
            Computeds8Baseline
        ),
        group!(
            "create_dispose",
            batched,
            CreateDispose<_>,
            CreateDisposeBaseline
        ),
    ]
}
