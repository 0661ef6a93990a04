//! The bench driver: runs each (workload, library) pair in a criterion group, after probing it
//! in a child process so that a library that is too slow or wrong is skipped, not timed.
//!
//! # Contract with `xtask`
//! - Group names are the workload names (`kairo_deep`, `cellx_1000`, ...), function ids the
//!   library names ([`Framework::NAME`](crate::Framework::NAME) or `baseline`).
//! - Before timing a pair in benchmark mode, the binary re-runs itself with
//!   [`PROBE_ENV`]`=<group>:<library>`; in that mode it builds and runs only that pair once,
//!   with its correctness checks, and exits 0. A child that takes longer than
//!   [`PROBE_TIMEOUT`] is killed. A pair whose probe times out or fails is not timed; it is
//!   appended as one JSON line to `<target>/criterion/stateloom-skipped.jsonl`:
//!   `{"group":"cellx_1000","library":"reactive_graph","reason":"did not finish in 10 s"}` or
//!   `"reason":"failed its correctness check: <first line of the child's stderr>"`. The file is
//!   only ever appended to (several bench binaries share it); `xtask` deletes it before a run.
//! - With `--list` nothing is probed or run. In test mode (`cargo bench -- --test`, or
//!   `cargo test --benches`) criterion runs each pair once; the pair is still probed first,
//!   because a peer that never finishes (`reactive_graph` on cellx) would otherwise hang the
//!   test run, but a failed probe is only reported on stderr, not recorded in the skip file.

use std::process::ExitCode;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion};

use self::args::{Args, Mode};
pub use self::probe::target_dir;
use self::probe::{probe, record_skip, run_probe};

mod args;
mod probe;

/// The environment variable that puts a bench binary in probe mode: `<group>:<library>`.
pub const PROBE_ENV: &str = "STATELOOM_BENCH_PROBE";

/// The environment variable that makes a bench binary run one pair `<n>` times and exit:
/// `<group>:<library>:<n>`, and print the mean wall-clock time of one run on stderr. The timed
/// part runs inside functions whose names start with `timed_`, so an instruction counter can
/// count only that part: `valgrind --tool=callgrind --toggle-collect='*::timed_*'` then
/// reports `n` times the instructions of one timed run, without the build, the check, the
/// per-run setup or the process start-up.
pub const REPEAT_ENV: &str = "STATELOOM_BENCH_REPEAT";

/// The environment variable that times each group's pairs in reverse order when set to `1`:
/// `cargo xtask bench --rounds` sets it in every other round, so that no library is always
/// timed first (or last) in its group.
pub const REVERSE_ENV: &str = "STATELOOM_BENCH_REVERSE";

/// How long a probe may take before its pair is skipped.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// A workload whose graph is built once and whose upstream `iter` is timed repeatedly (the
/// kairo cases): running it again leaves the graph in an equivalent state.
pub trait Steady: Sized {
    /// Builds the graph (untimed).
    fn build() -> Self;
    /// Runs one upstream `iter`. With `check`, asserts every upstream correctness condition
    /// (values and effect run counts); without, only keeps the values it reads alive.
    fn iter(&mut self, check: bool);
}

/// A workload that needs fresh input for every timed run (cellx, the creation cases).
pub trait Batched {
    /// What [`setup`](Self::setup) makes, untimed, for one run.
    type Input;
    /// What one run returns; dropped (and so disposed) outside the timed region.
    type Output;
    /// Makes the input of one run (untimed).
    fn setup() -> Self::Input;
    /// The timed part.
    fn routine(input: Self::Input) -> Self::Output;
    /// Asserts that a run computed the right answer.
    fn check(output: &Self::Output);
}

/// One library's entry in a group: how to probe it and how to time it.
#[derive(Clone, Copy, Debug)]
pub struct Pair {
    /// The benchmark function id: a library name or `baseline`.
    pub library: &'static str,
    /// Builds the pair, runs it once and checks the answers; panics if they are wrong.
    pub probe: fn(),
    /// Checks the pair once, then registers its timed benchmark in the group under `library`.
    pub bench: fn(&mut BenchmarkGroup<'_, WallTime>, &'static str),
    /// Builds the pair, checks one run, then runs the timed part `n` more times unchecked:
    /// what an instruction counter measures (see [`REPEAT_ENV`]).
    pub repeat: fn(usize),
    /// Upper bounds on the warm-up and measurement times of this pair, for a library that
    /// allocates fresh memory on every timed run and never frees it (see [`LEAKY_MAX_TIMES`]).
    pub max_times: Option<(Duration, Duration)>,
}

/// The time caps for a pair that leaks on every run: `alien-signals` never frees a node, so
/// each cellx or creation run leaks 0.1 to 4 MB, and criterion's default 3 s + 5 s would run
/// it thousands of times (tens of GB). With these caps a pair leaks at most about 2 GB. The
/// cap only shortens sampling: the timed work is the same as for every other library.
pub const LEAKY_MAX_TIMES: (Duration, Duration) =
    (Duration::from_millis(200), Duration::from_millis(500));

impl Pair {
    /// The pair for a [`Steady`] workload: build once, check one `iter`, time `iter`.
    ///
    /// # Examples
    /// ```
    /// use stateloom_benches::{adapters::Stateloom, harness::Pair, workloads::deep::Deep};
    ///
    /// let pair = Pair::steady::<Deep<Stateloom>>("stateloom");
    /// (pair.probe)();
    /// ```
    pub fn steady<S: Steady>(library: &'static str) -> Self {
        Pair {
            library,
            probe: probe_steady::<S>,
            bench: bench_steady::<S>,
            repeat: repeat_steady::<S>,
            max_times: None,
        }
    }

    /// The pair for a [`Batched`] workload: check one run, then time `routine` on a fresh
    /// input per iteration.
    ///
    /// # Examples
    /// ```
    /// use stateloom_benches::{adapters::Stateloom, harness::Pair, workloads::cellx::Cellx};
    ///
    /// let pair = Pair::batched::<Cellx<Stateloom, 10>>("stateloom");
    /// # let _ = pair;
    /// ```
    pub fn batched<B: Batched>(library: &'static str) -> Self {
        Pair {
            library,
            probe: probe_batched::<B>,
            bench: bench_batched::<B>,
            repeat: repeat_batched::<B>,
            max_times: None,
        }
    }

    /// Caps this pair's warm-up and measurement times (see [`Pair::max_times`]).
    ///
    /// # Examples
    /// ```
    /// use stateloom_benches::harness::{LEAKY_MAX_TIMES, Pair};
    /// use stateloom_benches::{adapters::AlienSignals, workloads::cellx::Cellx};
    ///
    /// let pair = Pair::batched::<Cellx<AlienSignals, 1000>>("alien_signals")
    ///     .with_max_times(LEAKY_MAX_TIMES);
    /// assert!(pair.max_times.is_some());
    /// ```
    pub fn with_max_times(mut self, times: (Duration, Duration)) -> Self {
        self.max_times = Some(times);
        self
    }
}

fn probe_steady<S: Steady>() {
    let mut instance = S::build();
    instance.iter(true);
}

fn repeat_steady<S: Steady>(n: usize) {
    let mut instance = S::build();
    instance.iter(true);
    let started = std::time::Instant::now();
    timed_iters(&mut instance, n);
    report_repeat(started.elapsed(), n);
}

/// The timed part of `n` runs of a steady pair, out of line like [`timed_routine`].
#[inline(never)]
fn timed_iters<S: Steady>(instance: &mut S, n: usize) {
    for _ in 0..n {
        instance.iter(false);
    }
}

/// Says on stderr how long each of `n` repeated runs took on average.
fn report_repeat(elapsed: std::time::Duration, n: usize) {
    let per_run = elapsed.as_nanos() as f64 / n.max(1) as f64;
    eprintln!("{per_run:.0} ns per run");
}

fn bench_steady<S: Steady>(group: &mut BenchmarkGroup<'_, WallTime>, id: &'static str) {
    let mut instance = S::build();
    instance.iter(true);
    group.bench_function(id, |b| b.iter(|| instance.iter(false)));
}

fn probe_batched<B: Batched>() {
    B::check(&B::routine(B::setup()));
}

fn repeat_batched<B: Batched>(n: usize) {
    B::check(&B::routine(B::setup()));
    let mut timed = std::time::Duration::ZERO;
    for _ in 0..n {
        let input = B::setup();
        let started = std::time::Instant::now();
        let output = std::hint::black_box(timed_routine::<B>(input));
        timed += started.elapsed();
        drop(output);
    }
    report_repeat(timed, n);
}

/// The timed part of a batched pair, kept out of line so an instruction counter can count
/// only inside it (`valgrind --tool=callgrind --toggle-collect='*timed_routine*'`).
#[inline(never)]
fn timed_routine<B: Batched>(input: B::Input) -> B::Output {
    B::routine(input)
}

fn bench_batched<B: Batched>(group: &mut BenchmarkGroup<'_, WallTime>, id: &'static str) {
    B::check(&B::routine(B::setup()));
    group.bench_function(id, |b| {
        b.iter_batched(B::setup, B::routine, BatchSize::PerIteration);
    });
}

/// The pair of `library` in group `group_name`, or `None` after saying on stderr that this
/// binary has no such pair.
fn find_pair<'a>(groups: &'a [Group], group_name: &str, library: &str) -> Option<&'a Pair> {
    let pair = groups
        .iter()
        .filter(|group| group.name == group_name)
        .flat_map(|group| &group.pairs)
        .find(|pair| pair.library == library);
    if pair.is_none() {
        eprintln!("no pair {group_name}/{library} in this binary");
    }
    pair
}

/// Repeat mode: run the pair named by `spec` (`<group>:<library>:<n>`) `n` times.
fn run_repeat(groups: &[Group], spec: &str) -> ExitCode {
    let mut parts = spec.splitn(3, ':');
    let (Some(group_name), Some(library), Some(Ok(n))) = (
        parts.next(),
        parts.next(),
        parts.next().map(str::parse::<usize>),
    ) else {
        eprintln!("{REPEAT_ENV} must be <group>:<library>:<n>, got {spec:?}");
        return ExitCode::from(2);
    };
    let Some(pair) = find_pair(groups, group_name, library) else {
        return ExitCode::from(2);
    };
    (pair.repeat)(n);
    ExitCode::SUCCESS
}

/// A criterion group: a workload and its pairs, one per library.
#[derive(Clone, Debug)]
pub struct Group {
    /// The group name (no `/`).
    pub name: &'static str,
    /// The libraries, in the order they are timed.
    pub pairs: Vec<Pair>,
}

/// Runs a bench binary: probe mode if [`PROBE_ENV`] is set, otherwise criterion over `groups`
/// and then `extra` (benches that are not per-library groups).
pub fn main(groups: &[Group], extra: impl FnOnce(&mut Criterion)) -> ExitCode {
    if let Ok(spec) = std::env::var(PROBE_ENV) {
        return run_probe(groups, &spec);
    }
    if let Ok(spec) = std::env::var(REPEAT_ENV) {
        return run_repeat(groups, &spec);
    }
    let args = Args::parse(std::env::args().skip(1));
    let mut criterion = Criterion::default().configure_from_args();
    for group in groups {
        let mut selected: Vec<&Pair> = group
            .pairs
            .iter()
            .filter(|pair| args.selects(&format!("{}/{}", group.name, pair.library)))
            .collect();
        if std::env::var(REVERSE_ENV).is_ok_and(|v| v == "1") {
            selected.reverse();
        }
        if selected.is_empty() {
            continue;
        }
        let mut bench_group = criterion.benchmark_group(group.name);
        for pair in selected {
            // Group settings are read when a function is added, so a cap applies to one pair;
            // the others get the requested times back.
            let (warm_up, measurement) = args.times();
            let (warm_up, measurement) = match pair.max_times {
                Some((max_warm_up, max_measurement)) => {
                    (warm_up.min(max_warm_up), measurement.min(max_measurement))
                }
                None => (warm_up, measurement),
            };
            bench_group
                .warm_up_time(warm_up)
                .measurement_time(measurement);
            match args.mode {
                Mode::List => {
                    bench_group.bench_function(pair.library, |b| b.iter(|| ()));
                }
                Mode::Test | Mode::Bench => match probe(group.name, pair.library) {
                    Ok(()) => (pair.bench)(&mut bench_group, pair.library),
                    Err(reason) if args.mode == Mode::Test => {
                        eprintln!("skipping {}/{}: {reason}", group.name, pair.library);
                    }
                    Err(reason) => record_skip(group.name, pair.library, &reason),
                },
            }
        }
        bench_group.finish();
    }
    extra(&mut criterion);
    criterion.final_summary();
    ExitCode::SUCCESS
}
