//! The creation groups (after `sBench.ts`'s creation cases): the cost of making nodes, linking
//! them and, for `create_dispose`, freeing them.
//!
//! Every timed run creates its nodes under a fresh root. That root is returned from the timed
//! routine and disposed when criterion drops the outputs, outside the timed region, except in
//! `create_dispose`, where disposal is the point and is timed. Sources that a case only reads
//! are made in the untimed setup under their own root.
//!
//! - `create_signals_1k`, `create_signals_10k`: `N` signals holding `0..N`.
//! - `create_computeds_10k_1src`: 10,000 computeds `s_i + 1`, one per source signal, each read
//!   once so that it links to its source.
//! - `create_computeds_8src`: 1,000 computeds, each summing 8 of 1,000 source signals (every
//!   source is read by 8 computeds), each read once.
//! - `create_dispose`: a root with 1,000 signals, 1,000 computeds `s_i + 1` and 1,000 effects
//!   reading them (each effect runs once), then disposed.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use crate::framework::Framework;
use crate::harness::Batched;
use crate::workloads::RootGuard;

const COMPUTEDS_1SRC: usize = 10_000;
const COMPUTEDS_8SRC: usize = 1_000;
const SOURCES_8SRC: usize = 1_000;
const FAN_IN: usize = 8;
const DISPOSE_SIZE: usize = 1_000;

/// Handles created under a root that is disposed when this is dropped.
pub struct Owned<F: Framework, T> {
    /// The handles (or values) the root's closure returned.
    pub value: T,
    _root: RootGuard<F>,
}

impl<F: Framework, T: 'static> Owned<F, T> {
    /// Runs `f` under a new root and keeps both.
    pub fn new(f: impl FnOnce() -> T + 'static) -> Self {
        let (value, root) = F::root(f);
        Owned {
            value,
            _root: RootGuard::new(root),
        }
    }
}

/// `0 + 1 + … + (n - 1)`.
const fn triangular(n: usize) -> i64 {
    (n * (n - 1) / 2) as i64
}

/// The sources of computed `i` in `create_computeds_8src`.
fn sources_of(i: usize) -> [usize; FAN_IN] {
    std::array::from_fn(|k| (i * FAN_IN + k) % SOURCES_8SRC)
}

/// `create_signals_*`: `N` signals under a new root.
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Batched, workloads::creation::*};
///
/// type Case = CreateSignals<Stateloom, 1000>;
/// Case::check(&Case::routine(Case::setup()));
/// ```
pub struct CreateSignals<F, const N: usize>(std::marker::PhantomData<F>);

impl<F: Framework, const N: usize> Batched for CreateSignals<F, N> {
    type Input = ();
    type Output = Owned<F, Vec<F::Signal<i64>>>;

    fn setup() {}

    fn routine((): ()) -> Self::Output {
        Owned::new(|| (0..N as i64).map(F::signal).collect())
    }

    fn check(output: &Self::Output) {
        let sum: i64 = output.value.iter().map(F::get).sum();
        assert_eq!(
            (output.value.len(), sum),
            (N, triangular(N)),
            "signal values"
        );
    }
}

/// Baseline of `create_signals_*`: a `Vec` of `N` values.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Batched, workloads::creation::*};
///
/// SignalsBaseline::<1000>::check(&SignalsBaseline::<1000>::routine(()));
/// ```
#[derive(Debug)]
pub struct SignalsBaseline<const N: usize>;

impl<const N: usize> Batched for SignalsBaseline<N> {
    type Input = ();
    type Output = Vec<i64>;

    fn setup() {}

    fn routine((): ()) -> Vec<i64> {
        (0..black_box(N) as i64).collect()
    }

    fn check(output: &Vec<i64>) {
        assert_eq!(output.iter().sum::<i64>(), triangular(N), "signal values");
    }
}

/// `create_computeds_10k_1src`: one computed per source signal, each read once.
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Batched, workloads::creation::*};
///
/// type Case = CreateComputeds<Stateloom>;
/// Case::check(&Case::routine(Case::setup()));
/// ```
pub struct CreateComputeds<F>(std::marker::PhantomData<F>);

impl<F: Framework> Batched for CreateComputeds<F> {
    type Input = Owned<F, Vec<F::Signal<i64>>>;
    /// The computeds (disposed first), then the sources.
    type Output = (Owned<F, Vec<F::Computed<i64>>>, Self::Input);

    fn setup() -> Self::Input {
        Owned::new(|| (0..COMPUTEDS_1SRC as i64).map(F::signal).collect())
    }

    fn routine(sources: Self::Input) -> Self::Output {
        let signals = sources.value.clone();
        let computeds = Owned::new(move || {
            signals
                .iter()
                .map(|&s| {
                    let c = F::computed(move || F::get(&s) + 1);
                    black_box(F::read(&c));
                    c
                })
                .collect()
        });
        (computeds, sources)
    }

    fn check((computeds, _): &Self::Output) {
        let sum: i64 = computeds.value.iter().map(F::read).sum();
        let expected = triangular(COMPUTEDS_1SRC) + COMPUTEDS_1SRC as i64;
        assert_eq!(sum, expected, "computed values");
    }
}

/// Baseline of `create_computeds_10k_1src`: a `Vec` of `s_i + 1`.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Batched, workloads::creation::*};
///
/// ComputedsBaseline::check(&ComputedsBaseline::routine(ComputedsBaseline::setup()));
/// ```
#[derive(Debug)]
pub struct ComputedsBaseline;

impl Batched for ComputedsBaseline {
    type Input = Vec<i64>;
    type Output = (Vec<i64>, Vec<i64>);

    fn setup() -> Vec<i64> {
        (0..COMPUTEDS_1SRC as i64).collect()
    }

    fn routine(sources: Vec<i64>) -> Self::Output {
        let computeds = sources.iter().map(|s| black_box(s + 1)).collect();
        (computeds, sources)
    }

    fn check((computeds, _): &Self::Output) {
        let expected = triangular(COMPUTEDS_1SRC) + COMPUTEDS_1SRC as i64;
        assert_eq!(computeds.iter().sum::<i64>(), expected, "computed values");
    }
}

/// `create_computeds_8src`: 1,000 computeds each summing 8 of the 1,000 sources.
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Batched, workloads::creation::*};
///
/// type Case = CreateComputeds8<Stateloom>;
/// Case::check(&Case::routine(Case::setup()));
/// ```
pub struct CreateComputeds8<F>(std::marker::PhantomData<F>);

impl<F: Framework> Batched for CreateComputeds8<F> {
    type Input = Owned<F, Vec<F::Signal<i64>>>;
    /// The computeds (disposed first), then the sources.
    type Output = (Owned<F, Vec<F::Computed<i64>>>, Self::Input);

    fn setup() -> Self::Input {
        Owned::new(|| (0..SOURCES_8SRC as i64).map(F::signal).collect())
    }

    fn routine(sources: Self::Input) -> Self::Output {
        let signals = sources.value.clone();
        let computeds = Owned::new(move || {
            (0..COMPUTEDS_8SRC)
                .map(|i| {
                    let reads = sources_of(i).map(|k| signals[k]);
                    let c = F::computed(move || reads.iter().map(F::get).sum::<i64>());
                    black_box(F::read(&c));
                    c
                })
                .collect()
        });
        (computeds, sources)
    }

    fn check((computeds, _): &Self::Output) {
        let sum: i64 = computeds.value.iter().map(F::read).sum();
        assert_eq!(
            sum,
            FAN_IN as i64 * triangular(SOURCES_8SRC),
            "computed values"
        );
    }
}

/// Baseline of `create_computeds_8src`: a `Vec` of the 1,000 sums of 8 sources.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Batched, workloads::creation::*};
///
/// Computeds8Baseline::check(&Computeds8Baseline::routine(Computeds8Baseline::setup()));
/// ```
#[derive(Debug)]
pub struct Computeds8Baseline;

impl Batched for Computeds8Baseline {
    type Input = Vec<i64>;
    type Output = (Vec<i64>, Vec<i64>);

    fn setup() -> Vec<i64> {
        (0..SOURCES_8SRC as i64).collect()
    }

    fn routine(sources: Vec<i64>) -> Self::Output {
        let computeds = (0..COMPUTEDS_8SRC)
            .map(|i| black_box(sources_of(i).iter().map(|&k| sources[k]).sum::<i64>()))
            .collect();
        (computeds, sources)
    }

    fn check((computeds, _): &Self::Output) {
        let expected = FAN_IN as i64 * triangular(SOURCES_8SRC);
        assert_eq!(computeds.iter().sum::<i64>(), expected, "computed values");
    }
}

/// `create_dispose`: build a root of signals, computeds and effects, then dispose it (timed).
/// The output is the number of effect runs seen, which must be one per effect.
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Batched, workloads::creation::*};
///
/// type Case = CreateDispose<Stateloom>;
/// Case::check(&Case::routine(Case::setup()));
/// ```
pub struct CreateDispose<F>(std::marker::PhantomData<F>);

impl<F: Framework> Batched for CreateDispose<F> {
    type Input = ();
    type Output = usize;

    fn setup() {}

    fn routine((): ()) -> usize {
        let (runs, root) = F::root(|| {
            let runs = Rc::new(Cell::new(0_usize));
            for i in 0..DISPOSE_SIZE as i64 {
                let s = F::signal(i);
                let c = F::computed(move || F::get(&s) + 1);
                let counter = Rc::clone(&runs);
                F::effect(move || {
                    black_box(F::read(&c));
                    counter.set(counter.get() + 1);
                });
            }
            runs
        });
        F::dispose(root);
        runs.get()
    }

    fn check(runs: &usize) {
        assert_eq!(*runs, DISPOSE_SIZE, "effect runs");
    }
}

/// Baseline of `create_dispose`: three `Vec`s (values, `value + 1`, and one "effect" read of
/// each), then dropped.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Batched, workloads::creation::*};
///
/// CreateDisposeBaseline::check(&CreateDisposeBaseline::routine(()));
/// ```
#[derive(Debug)]
pub struct CreateDisposeBaseline;

impl Batched for CreateDisposeBaseline {
    type Input = ();
    type Output = usize;

    fn setup() {}

    fn routine((): ()) -> usize {
        let signals: Vec<i64> = (0..black_box(DISPOSE_SIZE) as i64).collect();
        let computeds: Vec<i64> = signals.iter().map(|s| s + 1).collect();
        let mut runs = 0;
        for c in &computeds {
            black_box(*c);
            runs += 1;
        }
        drop(black_box(computeds));
        drop(black_box(signals));
        runs
    }

    fn check(runs: &usize) {
        assert_eq!(*runs, DISPOSE_SIZE, "effect runs");
    }
}
