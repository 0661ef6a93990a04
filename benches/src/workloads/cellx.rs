//! `cellx_1000` and `cellx_2500` (upstream `cellxBench.ts`, after Riim/cellx's perf page):
//! layers of four computeds, each reading two nodes of the layer above, with an effect on every
//! computed.
//!
//! Graph: start signals `(1, 2, 3, 4)`; each layer is `(b, a - c, b + d, c)` of the layer
//! above `(a, b, c, d)`, and every node of every layer has an effect. The timed part reads the
//! four end values, batch-writes `(4, 3, 2, 1)` to the start signals (running every affected
//! effect), and reads the end values again. The write is not idempotent, so each timed run
//! gets a freshly built graph (untimed), and the graph is disposed after timing.

use std::hint::black_box;

use crate::framework::Framework;
use crate::harness::Batched;
use crate::workloads::RootGuard;

const START: [i64; 4] = [1, 2, 3, 4];
const WRITE: [i64; 4] = [4, 3, 2, 1];

/// Upstream's expected end values before and after the write, for 1000 and 2500 layers.
const UPSTREAM: ([i64; 4], [i64; 4]) = ([-3, -6, -2, 2], [-2, -4, 2, 3]);

/// One layer from the one above.
#[inline(always)]
fn next_layer([a, b, c, d]: [i64; 4]) -> [i64; 4] {
    [b, a - c, b + d, c]
}

/// The end values of a `layers`-deep graph started at `start`, computed directly.
fn end_values(start: [i64; 4], layers: usize) -> [i64; 4] {
    (0..layers).fold(start, |layer, _| next_layer(layer))
}

/// Checks the end values read before and after the write against the direct computation and,
/// for the upstream sizes, against upstream's constants.
fn check_ends(layers: usize, before: [i64; 4], after: [i64; 4]) {
    assert_eq!(
        before,
        end_values(START, layers),
        "end values before the write"
    );
    assert_eq!(
        after,
        end_values(WRITE, layers),
        "end values after the write"
    );
    if layers == 1000 || layers == 2500 {
        assert_eq!((before, after), UPSTREAM, "upstream's expected end values");
    }
}

/// A built reactive cellx graph, for any [`Framework`], with `LAYERS` layers.
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Batched, workloads::cellx::Cellx};
///
/// type Small = Cellx<Stateloom, 1000>;
/// Small::check(&Small::routine(Small::setup()));
/// ```
pub struct Cellx<F: Framework, const LAYERS: usize> {
    start: [F::Signal<i64>; 4],
    end: [F::Computed<i64>; 4],
    _root: RootGuard<F>,
}

/// Builds one layer of four computeds, and their effects, over `above`.
fn layer<F: Framework, S: Copy + 'static>(
    above: [S; 4],
    read: impl Fn(&S) -> i64 + Copy + 'static,
) -> [F::Computed<i64>; 4] {
    let [a, b, c, d] = above;
    let layer = [
        F::computed(move || read(&b)),
        F::computed(move || read(&a) - read(&c)),
        F::computed(move || read(&b) + read(&d)),
        F::computed(move || read(&c)),
    ];
    for node in layer {
        F::effect(move || {
            F::read(&node);
        });
    }
    layer
}

impl<F: Framework, const LAYERS: usize> Batched for Cellx<F, LAYERS> {
    type Input = Self;
    type Output = (Self, [i64; 4], [i64; 4]);

    fn setup() -> Self {
        let ((start, end), root) = F::root(|| {
            let start = START.map(F::signal);
            let mut end = layer::<F, _>(start, |s| F::get(s));
            for _ in 1..LAYERS {
                end = layer::<F, _>(end, |c| F::read(c));
            }
            (start, end)
        });
        Cellx {
            start,
            end,
            _root: RootGuard::new(root),
        }
    }

    fn routine(graph: Self) -> Self::Output {
        let before = graph.end.map(|c| F::read(&c));
        let start = graph.start;
        F::batch(|| {
            for (signal, value) in start.iter().zip(WRITE) {
                F::set(signal, value);
            }
        });
        let after = graph.end.map(|c| F::read(&c));
        (graph, before, after)
    }

    fn check((_, before, after): &Self::Output) {
        check_ends(LAYERS, *before, *after);
    }
}

/// The baseline: the layers as plain `[i64; 4]` values. The write recomputes layer by layer,
/// runs an effect (a `black_box` read) for each value that changed, and stops at the first
/// layer that did not change at all, as a perfect push-pull system would.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Batched, workloads::cellx::CellxBaseline};
///
/// type Small = CellxBaseline<1000>;
/// Small::check(&Small::routine(Small::setup()));
/// ```
#[derive(Debug)]
pub struct CellxBaseline<const LAYERS: usize> {
    start: [i64; 4],
    layers: Vec<[i64; 4]>,
}

impl<const LAYERS: usize> CellxBaseline<LAYERS> {
    fn end(&self) -> [i64; 4] {
        self.layers[LAYERS - 1]
    }
}

impl<const LAYERS: usize> Batched for CellxBaseline<LAYERS> {
    type Input = Self;
    type Output = (Self, [i64; 4], [i64; 4]);

    fn setup() -> Self {
        let mut layers = Vec::with_capacity(LAYERS);
        let mut above = START;
        for _ in 0..LAYERS {
            above = next_layer(above);
            layers.push(above);
        }
        CellxBaseline {
            start: START,
            layers,
        }
    }

    fn routine(mut graph: Self) -> Self::Output {
        let before = graph.end();
        graph.start = black_box(WRITE);
        let mut above = graph.start;
        for layer in &mut graph.layers {
            let new = next_layer(above);
            if new == *layer {
                break;
            }
            for (old, value) in layer.iter_mut().zip(new) {
                if *old != value {
                    *old = value;
                    black_box(value); // this node's effect reads it
                }
            }
            above = new;
        }
        let after = graph.end();
        (graph, before, after)
    }

    fn check((_, before, after): &Self::Output) {
        check_ends(LAYERS, *before, *after);
    }
}
