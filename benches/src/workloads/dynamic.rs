//! The dynamic-graph configurations of js-reactivity-benchmark (upstream
//! `benches/reactively/dependencyGraph.ts`, `dynamicBench.ts` and the `perfTests` of
//! `config.ts`): `dyn_simple_component`, `dyn_dynamic_component`, `dyn_large_web_app`,
//! `dyn_wide_dense` and `dyn_very_dynamic`.
//!
//! Graph: a row of `width` signals holding `0..width`, then `layers - 1` rows of `width`
//! computeds. Node `j` of a row reads nodes `j, j + 1, .., j + sources - 1` (wrapping) of the
//! row above. A node is static (it sums all of them) with probability `static_fraction`, else
//! dynamic: it reads the first, and skips one of the others (the one at `first % (sources -
//! 1)`) when the first is odd. The choices come from upstream's seeded generator (sfc32 seeded
//! by xmur3a of `"seed"`), so the graph is upstream's. `round((1 - read_fraction) * width)`
//! leaves, chosen by a second generator of the same seed, are left out; one effect reads the
//! others.
//!
//! One `iter` is one upstream `runGraph`: `iterations` times, write source `i % width` with `i +
//! i % width` in a batch, then read every read leaf; then sum the read leaves (as a JavaScript
//! number, in upstream's order). `build` runs it twice before the first `iter`, as upstream
//! warms up, so every checked `iter` starts from the same state. The checks are upstream's: the
//! sum, and how many times computeds ran during the `iter` (for an eager library, such as
//! sycamore, only where every leaf is read, as upstream's `testPullCounts`).

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use crate::framework::Framework;
use crate::harness::Steady;
use crate::workloads::RootGuard;

/// One upstream test configuration, with its expected results.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Upstream's name.
    pub name: &'static str,
    /// Nodes per row.
    pub width: usize,
    /// Rows, the signal row included.
    pub layers: usize,
    /// The probability that a computed is static.
    pub static_fraction: f64,
    /// How many nodes of the row above each computed reads.
    pub sources: usize,
    /// The fraction of the last row that is read.
    pub read_fraction: f64,
    /// Writes per `iter`.
    pub iterations: usize,
    /// Upstream's expected sum of the read leaves after an `iter`.
    pub sum: f64,
    /// Upstream's expected number of computed runs in an `iter`.
    pub count: u64,
}

/// The configurations, indexed by the workload types' `C` parameter.
pub const CONFIGS: [Config; 5] = [
    Config {
        name: "simple component",
        width: 10,
        layers: 5,
        static_fraction: 1.0,
        sources: 2,
        read_fraction: 0.2,
        iterations: 600_000,
        sum: 19_199_968.0,
        count: 3_480_000,
    },
    Config {
        name: "dynamic component",
        width: 10,
        layers: 10,
        static_fraction: 3.0 / 4.0,
        sources: 6,
        read_fraction: 0.2,
        iterations: 15_000,
        sum: 302_310_782_860.0,
        count: 1_155_000,
    },
    Config {
        name: "large web app",
        width: 1000,
        layers: 12,
        static_fraction: 0.95,
        sources: 4,
        read_fraction: 1.0,
        iterations: 7000,
        sum: 29_355_933_696_000.0,
        count: 1_463_000,
    },
    Config {
        name: "wide dense",
        width: 1000,
        layers: 5,
        static_fraction: 1.0,
        sources: 25,
        read_fraction: 1.0,
        iterations: 3000,
        sum: 1_171_484_375_000.0,
        count: 732_000,
    },
    Config {
        name: "very dynamic",
        width: 100,
        layers: 15,
        static_fraction: 0.5,
        sources: 6,
        read_fraction: 1.0,
        iterations: 2000,
        sum: 15_664_996_402_790_400.0,
        count: 1_078_000,
    },
];

/// Upstream's generator: sfc32, seeded with four outputs of the xmur3a hash of a string.
///
/// # Examples
/// ```
/// use stateloom_benches::workloads::dynamic::Sfc32;
///
/// let mut a = Sfc32::seeded("seed");
/// let mut b = Sfc32::seeded("seed");
/// let x = a.next_f64();
/// assert!((0.0..1.0).contains(&x));
/// assert_eq!(x, b.next_f64());
/// ```
#[derive(Clone, Debug)]
pub struct Sfc32 {
    state: [u32; 4],
}

impl Sfc32 {
    /// The generator upstream's `pseudoRandom(seed)` makes.
    pub fn seeded(seed: &str) -> Self {
        // xmur3a over the UTF-16 code units (ASCII seeds: the bytes).
        let mut h: u32 = 2_166_136_261;
        for unit in seed.encode_utf16() {
            let mut k = u32::from(unit).wrapping_mul(3_432_918_353);
            k = k.rotate_left(15);
            h ^= k.wrapping_mul(461_845_907);
            h = h.rotate_left(13);
            h = h.wrapping_mul(5).wrapping_add(3_864_292_196);
        }
        h ^= seed.encode_utf16().count() as u32;
        let mut next = || {
            h ^= h >> 16;
            h = h.wrapping_mul(2_246_822_507);
            h ^= h >> 13;
            h = h.wrapping_mul(3_266_489_909);
            h ^= h >> 16;
            h
        };
        Self {
            state: [next(), next(), next(), next()],
        }
    }

    /// The next number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        let [a, b, c, d] = &mut self.state;
        let t0 = a.wrapping_add(*b);
        *a = *b ^ (*b >> 9);
        *b = c.wrapping_add(*c << 3);
        *c = c.rotate_left(21);
        *d = d.wrapping_add(1);
        let t = t0.wrapping_add(*d);
        *c = c.wrapping_add(t);
        f64::from(t) / 4_294_967_296.0
    }
}

/// Whether each computed is static, row by row, as upstream draws it.
fn static_nodes(config: &Config) -> Vec<Vec<bool>> {
    let mut random = Sfc32::seeded("seed");
    (1..config.layers)
        .map(|_| {
            (0..config.width)
                .map(|_| random.next_f64() < config.static_fraction)
                .collect()
        })
        .collect()
}

/// The positions in the last row that are read, in upstream's order.
fn read_positions(config: &Config) -> Vec<usize> {
    let mut random = Sfc32::seeded("seed");
    let mut positions: Vec<usize> = (0..config.width).collect();
    let skip = ((config.width as f64) * (1.0 - config.read_fraction)).round() as usize;
    for _ in 0..skip {
        let at = (random.next_f64() * positions.len() as f64).floor() as usize;
        positions.remove(at);
    }
    positions
}

/// The value of a dynamic node, given its first source's value and a reader of the others.
#[inline(always)]
fn dynamic_value(first: i64, tail: usize, mut read: impl FnMut(usize) -> i64) -> i64 {
    let drop_odd = first & 1 == 1;
    let skip = (first % tail as i64) as usize;
    let mut sum = first;
    for i in 0..tail {
        if drop_odd && i == skip {
            continue;
        }
        sum += read(i);
    }
    sum
}

/// A node of the row above: a signal (the first row) or a computed.
enum Source<F: Framework> {
    Signal(F::Signal<i64>),
    Computed(F::Computed<i64>),
}

impl<F: Framework> Clone for Source<F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F: Framework> Copy for Source<F> {}

impl<F: Framework> Source<F> {
    #[inline(always)]
    fn read(&self) -> i64 {
        match self {
            Source::Signal(s) => F::get(s),
            Source::Computed(c) => F::read(c),
        }
    }
}

/// A built dynamic graph, for any [`Framework`], with configuration `CONFIGS[C]`.
///
/// # Examples
/// A run takes a while unoptimised (600,000 writes for `CONFIGS[0]`); the bench binaries'
/// probes run every configuration with its checks.
/// ```no_run
/// use stateloom_benches::{adapters::Stateloom, harness::Steady, workloads::dynamic::Dynamic};
///
/// Dynamic::<Stateloom, 0>::build().iter(true);
/// ```
pub struct Dynamic<F: Framework, const C: usize> {
    sources: Vec<F::Signal<i64>>,
    leaves: Vec<F::Computed<i64>>,
    runs: Rc<Cell<u64>>,
    _root: RootGuard<F>,
}

impl<F: Framework, const C: usize> Dynamic<F, C> {
    /// Upstream's `runGraph`: the writes and reads, then the sum of the read leaves.
    #[inline(never)]
    fn run(&self) -> f64 {
        let config = &CONFIGS[C];
        let width = self.sources.len();
        for i in 0..config.iterations {
            let at = i % width;
            let source = self.sources[at];
            F::batch(|| F::set(&source, (i + at) as i64));
            for leaf in &self.leaves {
                black_box(F::read(leaf));
            }
        }
        // `leaf + total`, left to right, in floating point, as upstream's `reduce`.
        self.leaves
            .iter()
            .fold(0.0, |total, leaf| F::read(leaf) as f64 + total)
    }
}

impl<F: Framework, const C: usize> Steady for Dynamic<F, C> {
    fn build() -> Self {
        let config = CONFIGS[C];
        let statics = static_nodes(&config);
        let reads = read_positions(&config);
        let runs = Rc::new(Cell::new(0_u64));
        let counter = Rc::clone(&runs);
        let ((sources, leaves), root) = F::root(move || {
            let sources: Vec<F::Signal<i64>> =
                (0..config.width).map(|i| F::signal(i as i64)).collect();
            let mut row: Vec<Source<F>> = sources.iter().map(|&s| Source::Signal(s)).collect();
            for statics in &statics {
                let above = row;
                row = (0..config.width)
                    .map(|j| {
                        let mine: Vec<Source<F>> = (0..config.sources)
                            .map(|k| above[(j + k) % above.len()])
                            .collect();
                        let counter = Rc::clone(&counter);
                        let node = if statics[j] {
                            F::computed(move || {
                                counter.set(counter.get() + 1);
                                mine.iter().map(Source::read).sum::<i64>()
                            })
                        } else {
                            F::computed(move || {
                                counter.set(counter.get() + 1);
                                let first = mine[0].read();
                                dynamic_value(first, mine.len() - 1, |i| mine[i + 1].read())
                            })
                        };
                        Source::Computed(node)
                    })
                    .collect();
            }
            let leaves: Vec<F::Computed<i64>> = reads
                .iter()
                .map(|&j| match row[j] {
                    Source::Computed(c) => c,
                    Source::Signal(_) => unreachable!("the last row holds computeds"),
                })
                .collect();
            let read = leaves.clone();
            F::effect(move || {
                for leaf in &read {
                    F::read(leaf);
                }
            });
            (sources, leaves)
        });
        let graph = Dynamic {
            sources,
            leaves,
            runs,
            _root: RootGuard::new(root),
        };
        // Upstream warms up with two runs; the checked runs then start from the same state.
        graph.run();
        graph.run();
        graph
    }

    fn iter(&mut self, check: bool) {
        self.runs.set(0);
        let sum = self.run();
        if check {
            let config = &CONFIGS[C];
            assert_eq!(sum, config.sum, "sum of the read leaves ({})", config.name);
            // Upstream checks the count only where it does not depend on whether unread
            // computeds run (`testPullCounts`): with every leaf read, or for a lazy library.
            if config.read_fraction == 1.0 || F::LAZY {
                assert_eq!(
                    self.runs.get(),
                    config.count,
                    "computed runs ({})",
                    config.name
                );
            }
        }
    }
}

/// The baseline: plain values in rows, and after each write a walk down the rows that
/// recomputes each node reading a node that changed (found from the changed nodes, each node
/// once per row), static nodes over all their sources and dynamic ones as upstream's closure,
/// cutting off at equal values.
///
/// # Examples
/// ```no_run
/// use stateloom_benches::{harness::Steady, workloads::dynamic::DynamicBaseline};
///
/// DynamicBaseline::<0>::build().iter(true);
/// ```
#[derive(Debug)]
pub struct DynamicBaseline<const C: usize> {
    /// Row 0 holds the signals' values.
    rows: Vec<Vec<i64>>,
    statics: Vec<Vec<bool>>,
    reads: Vec<usize>,
    /// The positions that changed in the row above, and those changing in this one.
    changed: Vec<usize>,
    next: Vec<usize>,
    /// The step at which each position of the current row was last visited.
    visited: Vec<u64>,
    step: u64,
}

impl<const C: usize> DynamicBaseline<C> {
    /// Recomputes node `j` of row `r` from row `r - 1`.
    #[inline(always)]
    fn node(&self, r: usize, j: usize) -> i64 {
        let config = &CONFIGS[C];
        let above = &self.rows[r - 1];
        let at = |k: usize| above[(j + k) % config.width];
        if self.statics[r - 1][j] {
            (0..config.sources).map(at).sum()
        } else {
            dynamic_value(at(0), config.sources - 1, |i| at(i + 1))
        }
    }

    #[inline(never)]
    fn write(&mut self, at: usize, value: i64) {
        let config = &CONFIGS[C];
        let width = config.width;
        if self.rows[0][at] == value {
            return;
        }
        self.rows[0][at] = value;
        self.changed.clear();
        self.changed.push(at);
        for r in 1..config.layers {
            self.step += 1;
            self.next.clear();
            for c in 0..self.changed.len() {
                let m = self.changed[c];
                // The nodes of this row that read position `m` of the row above.
                for k in 0..config.sources.min(width) {
                    let j = (m + width - k) % width;
                    if self.visited[j] == self.step {
                        continue;
                    }
                    self.visited[j] = self.step;
                    let value = black_box(self.node(r, j));
                    if value != self.rows[r][j] {
                        self.rows[r][j] = value;
                        self.next.push(j);
                    }
                }
            }
            std::mem::swap(&mut self.changed, &mut self.next);
            if self.changed.is_empty() {
                break;
            }
        }
    }

    fn run(&mut self) -> f64 {
        let config = &CONFIGS[C];
        for i in 0..config.iterations {
            let at = i % config.width;
            self.write(at, (i + at) as i64);
            for &j in &self.reads {
                black_box(self.rows[config.layers - 1][j]);
            }
        }
        let last = &self.rows[config.layers - 1];
        self.reads
            .iter()
            .fold(0.0, |total, &j| last[j] as f64 + total)
    }
}

impl<const C: usize> Steady for DynamicBaseline<C> {
    fn build() -> Self {
        let config = CONFIGS[C];
        let mut graph = DynamicBaseline {
            rows: vec![vec![0; config.width]; config.layers],
            statics: static_nodes(&config),
            reads: read_positions(&config),
            changed: Vec::with_capacity(config.width),
            next: Vec::with_capacity(config.width),
            visited: vec![0; config.width],
            step: 0,
        };
        graph.rows[0] = (0..config.width as i64).collect();
        for r in 1..config.layers {
            for j in 0..config.width {
                graph.rows[r][j] = graph.node(r, j);
            }
        }
        graph.run();
        graph.run();
        graph
    }

    fn iter(&mut self, check: bool) {
        let sum = self.run();
        if check {
            let config = &CONFIGS[C];
            assert_eq!(sum, config.sum, "sum of the read leaves ({})", config.name);
        }
    }
}
