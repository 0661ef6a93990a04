//! `kairo_mux` (upstream `kairo/mux.ts`): 100 signals gathered into one computed record, which
//! is split again into 100 computeds, each with a `+ 1` computed and an effect.
//!
//! Graph: `mux = [h_0, …, h_99]` (an `Arc<[i64]>`, rebuilt on each change like the upstream
//! object), `x_k = mux[k]`, `y_k = x_k + 1`, `effect(y_k)`. One `iter` makes 20 batched
//! writes to `h_0..h_10` (first `i`, then `2 i`) and reads the matching `y` after each.

use std::hint::black_box;
use std::sync::Arc;

use crate::framework::Framework;
use crate::harness::Steady;
use crate::workloads::{RootGuard, expect};

const WIDTH: usize = 100;
const WRITES: usize = 10;

/// The reactive version, for any [`Framework`].
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Steady, workloads::mux::Mux};
///
/// Mux::<Stateloom>::build().iter(true);
/// ```
pub struct Mux<F: Framework> {
    heads: Vec<F::Signal<i64>>,
    split: Vec<F::Computed<i64>>,
    _root: RootGuard<F>,
}

impl<F: Framework> Steady for Mux<F> {
    fn build() -> Self {
        let ((heads, split), root) = F::root(|| {
            let heads: Vec<F::Signal<i64>> = (0..WIDTH).map(|_| F::signal(0_i64)).collect();
            let sources = heads.clone();
            let mux = F::computed(move || sources.iter().map(F::get).collect::<Arc<[i64]>>());
            let split: Vec<F::Computed<i64>> = (0..WIDTH)
                .map(|index| F::computed(move || F::with(&mux, |record| record[index])))
                .map(|x| F::computed(move || F::read(&x) + 1))
                .collect();
            for &y in &split {
                F::effect(move || {
                    F::read(&y);
                });
            }
            (heads, split)
        });
        Mux {
            heads,
            split,
            _root: RootGuard::new(root),
        }
    }

    fn iter(&mut self, check: bool) {
        for i in 0..WRITES {
            let head = self.heads[i];
            F::batch(|| F::set(&head, i as i64));
            expect(
                check,
                F::read(&self.split[i]),
                i as i64 + 1,
                "split after i",
            );
        }
        for i in 0..WRITES {
            let head = self.heads[i];
            F::batch(|| F::set(&head, 2 * i as i64));
            expect(
                check,
                F::read(&self.split[i]),
                2 * i as i64 + 1,
                "split after 2 i",
            );
        }
    }
}

/// The baseline: on each write that changes a head, copies the 100 heads into the record,
/// re-splits all 100 entries, and recomputes `y` and runs its effect only where `x` changed.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Steady, workloads::mux::MuxBaseline};
///
/// MuxBaseline::build().iter(true);
/// ```
#[derive(Debug)]
pub struct MuxBaseline {
    heads: [i64; WIDTH],
    record: Vec<i64>,
    x: [i64; WIDTH],
    y: [i64; WIDTH],
}

impl MuxBaseline {
    #[inline(never)]
    fn write(&mut self, index: usize, value: i64) {
        if self.heads[index] == value {
            return;
        }
        self.heads[index] = value;
        self.record.copy_from_slice(&self.heads);
        for k in 0..WIDTH {
            let x = self.record[k];
            if x != self.x[k] {
                self.x[k] = x;
                self.y[k] = x + 1;
                black_box(self.y[k]); // the effect reads y
            }
        }
    }
}

impl Steady for MuxBaseline {
    fn build() -> Self {
        MuxBaseline {
            heads: [0; WIDTH],
            record: vec![0; WIDTH],
            x: [0; WIDTH],
            y: [1; WIDTH],
        }
    }

    fn iter(&mut self, check: bool) {
        for i in 0..WRITES {
            self.write(i, black_box(i as i64));
            expect(check, self.y[i], i as i64 + 1, "split after i");
        }
        for i in 0..WRITES {
            self.write(i, black_box(2 * i as i64));
            expect(check, self.y[i], 2 * i as i64 + 1, "split after 2 i");
        }
    }
}
