//! `kairo_diamond` (upstream `kairo/diamond.ts`): one signal fanning out to five computeds
//! that join again in a sum, with an effect on the sum.
//!
//! Graph: `c_k = head + 1` for `k` in `0..5`, `sum = Σ c_k`, `effect(sum)`. One `iter` writes
//! `head` 501 times, each in its own batch, reads `sum` after each write and expects exactly
//! 500 effect runs for the last 500 writes.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use crate::framework::Framework;
use crate::harness::Steady;
use crate::workloads::{RootGuard, expect, expect_runs};

const WIDTH: usize = 5;
const WRITES: i64 = 500;

/// The reactive version, for any [`Framework`].
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Steady, workloads::diamond::Diamond};
///
/// Diamond::<Stateloom>::build().iter(true);
/// ```
pub struct Diamond<F: Framework> {
    head: F::Signal<i64>,
    sum: F::Computed<i64>,
    runs: Rc<Cell<usize>>,
    _root: RootGuard<F>,
}

impl<F: Framework> Steady for Diamond<F> {
    fn build() -> Self {
        let runs = Rc::new(Cell::new(0));
        let counter = Rc::clone(&runs);
        let ((head, sum), root) = F::root(move || {
            let head = F::signal(0_i64);
            let current: [F::Computed<i64>; WIDTH] =
                std::array::from_fn(|_| F::computed(move || F::get(&head) + 1));
            let sum = F::computed(move || current.iter().map(F::read).sum::<i64>());
            F::effect(move || {
                F::read(&sum);
                counter.set(counter.get() + 1);
            });
            (head, sum)
        });
        Diamond {
            head,
            sum,
            runs,
            _root: RootGuard::new(root),
        }
    }

    fn iter(&mut self, check: bool) {
        let head = self.head;
        F::batch(|| F::set(&head, 1));
        expect(
            check,
            F::read(&self.sum),
            2 * WIDTH as i64,
            "sum after writing 1",
        );
        self.runs.set(0);
        for i in 0..WRITES {
            F::batch(|| F::set(&head, i));
            expect(check, F::read(&self.sum), (i + 1) * WIDTH as i64, "sum");
        }
        expect_runs(check, self.runs.get(), WRITES as usize);
    }
}

/// The baseline: on each write, recomputes the five branches and the sum, then runs the
/// effect once.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Steady, workloads::diamond::DiamondBaseline};
///
/// DiamondBaseline::build().iter(true);
/// ```
#[derive(Debug)]
pub struct DiamondBaseline {
    head: i64,
    current: [i64; WIDTH],
    sum: i64,
    runs: usize,
}

impl DiamondBaseline {
    #[inline(never)]
    fn write(&mut self, value: i64) {
        if value == self.head {
            return;
        }
        self.head = value;
        for c in &mut self.current {
            *c = self.head + 1;
        }
        self.sum = self.current.iter().sum();
        black_box(self.sum); // the effect reads the sum
        self.runs += 1;
    }
}

impl Steady for DiamondBaseline {
    fn build() -> Self {
        DiamondBaseline {
            head: 0,
            current: [1; WIDTH],
            sum: WIDTH as i64,
            runs: 1,
        }
    }

    fn iter(&mut self, check: bool) {
        self.write(black_box(1));
        expect(check, self.sum, 2 * WIDTH as i64, "sum after writing 1");
        self.runs = 0;
        for i in 0..WRITES {
            self.write(black_box(i));
            expect(check, self.sum, (i + 1) * WIDTH as i64, "sum");
        }
        expect_runs(check, self.runs, WRITES as usize);
    }
}
