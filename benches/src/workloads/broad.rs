//! `kairo_broad` (upstream `kairo/broad.ts`): one signal feeding 50 independent two-computed
//! chains, each with an effect.
//!
//! Graph: for `i` in `0..50`: `a_i = head + i`, `b_i = a_i + 1`, `effect(b_i)`. One `iter`
//! writes `head` 51 times, each in its own batch, reads the last `b` after each of the last 50
//! writes, and expects exactly 50 × 50 effect runs.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use crate::framework::Framework;
use crate::harness::Steady;
use crate::workloads::{RootGuard, expect, expect_runs};

const WIDTH: i64 = 50;

/// The reactive version, for any [`Framework`].
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Steady, workloads::broad::Broad};
///
/// Broad::<Stateloom>::build().iter(true);
/// ```
pub struct Broad<F: Framework> {
    head: F::Signal<i64>,
    last: F::Computed<i64>,
    runs: Rc<Cell<usize>>,
    _root: RootGuard<F>,
}

impl<F: Framework> Steady for Broad<F> {
    fn build() -> Self {
        let runs = Rc::new(Cell::new(0));
        let counter = Rc::clone(&runs);
        let ((head, last), root) = F::root(move || {
            let head = F::signal(0_i64);
            let mut last = None;
            for i in 0..WIDTH {
                let current = F::computed(move || F::get(&head) + i);
                let current2 = F::computed(move || F::read(&current) + 1);
                let counter = Rc::clone(&counter);
                F::effect(move || {
                    F::read(&current2);
                    counter.set(counter.get() + 1);
                });
                last = Some(current2);
            }
            (head, last.expect("WIDTH > 0"))
        });
        Broad {
            head,
            last,
            runs,
            _root: RootGuard::new(root),
        }
    }

    fn iter(&mut self, check: bool) {
        let head = self.head;
        F::batch(|| F::set(&head, 1));
        self.runs.set(0);
        for i in 0..WIDTH {
            F::batch(|| F::set(&head, i));
            expect(check, F::read(&self.last), i + 50, "last");
        }
        expect_runs(check, self.runs.get(), (WIDTH * WIDTH) as usize);
    }
}

/// The baseline: on each write, recomputes all 50 `(a, b)` pairs and runs the 50 effects.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Steady, workloads::broad::BroadBaseline};
///
/// BroadBaseline::build().iter(true);
/// ```
#[derive(Debug)]
pub struct BroadBaseline {
    head: i64,
    pairs: Vec<(i64, i64)>,
    runs: usize,
}

impl BroadBaseline {
    #[inline(never)]
    fn write(&mut self, value: i64) {
        if value == self.head {
            return;
        }
        self.head = value;
        for (i, (a, b)) in (0..WIDTH).zip(&mut self.pairs) {
            *a = self.head + i;
            *b = *a + 1;
            black_box(*b); // the effect reads b
            self.runs += 1;
        }
    }
}

impl Steady for BroadBaseline {
    fn build() -> Self {
        BroadBaseline {
            head: 0,
            pairs: (0..WIDTH).map(|i| (i, i + 1)).collect(),
            runs: WIDTH as usize,
        }
    }

    fn iter(&mut self, check: bool) {
        self.write(black_box(1));
        self.runs = 0;
        for i in 0..WIDTH {
            self.write(black_box(i));
            let last = self.pairs[WIDTH as usize - 1].1;
            expect(check, last, i + 50, "last");
        }
        expect_runs(check, self.runs, (WIDTH * WIDTH) as usize);
    }
}
