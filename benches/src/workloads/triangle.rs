//! `kairo_triangle` (upstream `kairo/triangle.ts`): a chain of computeds whose every level is
//! also read by one sum, with an effect on the sum.
//!
//! Graph: `c_0 = head`, `c_k = c_{k-1} + 1` for `k` in `1..=10` (`c_10` is created but, as
//! upstream, never read), `sum = Σ_{k<10} c_k`, `effect(sum)`. One `iter` writes `head` 101
//! times, each in its own batch, reads `sum` after each write and expects exactly 100 effect
//! runs for the last 100 writes.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use crate::framework::Framework;
use crate::harness::Steady;
use crate::workloads::{RootGuard, expect, expect_runs};

const WIDTH: usize = 10;
const WRITES: i64 = 100;
/// `1 + 2 + … + WIDTH`: the sum once `head` is 1.
const CONSTANT: i64 = (WIDTH * (WIDTH + 1) / 2) as i64;

/// The reactive version, for any [`Framework`].
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Steady, workloads::triangle::Triangle};
///
/// Triangle::<Stateloom>::build().iter(true);
/// ```
pub struct Triangle<F: Framework> {
    head: F::Signal<i64>,
    sum: F::Computed<i64>,
    runs: Rc<Cell<usize>>,
    _root: RootGuard<F>,
}

impl<F: Framework> Steady for Triangle<F> {
    fn build() -> Self {
        let runs = Rc::new(Cell::new(0));
        let counter = Rc::clone(&runs);
        let ((head, sum), root) = F::root(move || {
            let head = F::signal(0_i64);
            // `list` holds c_1..c_9; c_0 is `head` itself.
            let mut list: Vec<F::Computed<i64>> = Vec::with_capacity(WIDTH - 1);
            let mut current = F::computed(move || F::get(&head) + 1);
            for _ in 1..WIDTH {
                list.push(current);
                let prev = current;
                current = F::computed(move || F::read(&prev) + 1);
            }
            let sum = F::computed(move || F::get(&head) + list.iter().map(F::read).sum::<i64>());
            F::effect(move || {
                F::read(&sum);
                counter.set(counter.get() + 1);
            });
            (head, sum)
        });
        Triangle {
            head,
            sum,
            runs,
            _root: RootGuard::new(root),
        }
    }

    fn iter(&mut self, check: bool) {
        let head = self.head;
        F::batch(|| F::set(&head, 1));
        expect(check, F::read(&self.sum), CONSTANT, "sum after writing 1");
        self.runs.set(0);
        for i in 0..WRITES {
            F::batch(|| F::set(&head, i));
            let expected = CONSTANT - WIDTH as i64 + i * WIDTH as i64;
            expect(check, F::read(&self.sum), expected, "sum");
        }
        expect_runs(check, self.runs.get(), WRITES as usize);
    }
}

/// The baseline: on each write, recomputes the nine read chain levels and the sum, then runs
/// the effect once (the unread tenth level is not computed, as in a lazy system).
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Steady, workloads::triangle::TriangleBaseline};
///
/// TriangleBaseline::build().iter(true);
/// ```
#[derive(Debug)]
pub struct TriangleBaseline {
    head: i64,
    chain: [i64; WIDTH - 1],
    sum: i64,
    runs: usize,
}

impl TriangleBaseline {
    #[inline(never)]
    fn write(&mut self, value: i64) {
        if value == self.head {
            return;
        }
        self.head = value;
        let mut prev = self.head;
        for slot in &mut self.chain {
            *slot = prev + 1;
            prev = *slot;
        }
        self.sum = self.head + self.chain.iter().sum::<i64>();
        black_box(self.sum); // the effect reads the sum
        self.runs += 1;
    }
}

impl Steady for TriangleBaseline {
    fn build() -> Self {
        TriangleBaseline {
            head: 0,
            chain: std::array::from_fn(|k| k as i64 + 1),
            sum: CONSTANT - WIDTH as i64,
            runs: 1,
        }
    }

    fn iter(&mut self, check: bool) {
        self.write(black_box(1));
        expect(check, self.sum, CONSTANT, "sum after writing 1");
        self.runs = 0;
        for i in 0..WRITES {
            self.write(black_box(i));
            let expected = CONSTANT - WIDTH as i64 + i * WIDTH as i64;
            expect(check, self.sum, expected, "sum");
        }
        expect_runs(check, self.runs, WRITES as usize);
    }
}
