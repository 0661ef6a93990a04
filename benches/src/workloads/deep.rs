//! `kairo_deep` (upstream `kairo/deep.ts`): a chain of 50 computeds under one signal, with an
//! effect at the end.
//!
//! Graph: `head → c_1 = head + 1 → … → c_50 = c_49 + 1 → effect(c_50)`. One `iter` writes
//! `head` 51 times, each in its own batch, reads `c_50` after each of the last 50 writes and
//! expects exactly 50 effect runs.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use crate::framework::Framework;
use crate::harness::Steady;
use crate::workloads::{RootGuard, expect, expect_runs};

const LEN: usize = 50;
const WRITES: i64 = 50;

/// The reactive version, for any [`Framework`].
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Steady, workloads::deep::Deep};
///
/// Deep::<Stateloom>::build().iter(true);
/// ```
pub struct Deep<F: Framework> {
    head: F::Signal<i64>,
    tail: F::Computed<i64>,
    runs: Rc<Cell<usize>>,
    _root: RootGuard<F>,
}

impl<F: Framework> Steady for Deep<F> {
    fn build() -> Self {
        let runs = Rc::new(Cell::new(0));
        let counter = Rc::clone(&runs);
        let ((head, tail), root) = F::root(move || {
            let head = F::signal(0_i64);
            let mut tail = F::computed(move || F::get(&head) + 1);
            for _ in 1..LEN {
                let prev = tail;
                tail = F::computed(move || F::read(&prev) + 1);
            }
            F::effect(move || {
                F::read(&tail);
                counter.set(counter.get() + 1);
            });
            (head, tail)
        });
        Deep {
            head,
            tail,
            runs,
            _root: RootGuard::new(root),
        }
    }

    fn iter(&mut self, check: bool) {
        let head = self.head;
        F::batch(|| F::set(&head, 1));
        self.runs.set(0);
        for i in 0..WRITES {
            F::batch(|| F::set(&head, i));
            expect(check, F::read(&self.tail), LEN as i64 + i, "tail");
        }
        expect_runs(check, self.runs.get(), WRITES as usize);
    }
}

/// The baseline: on each write, recomputes and stores all 50 chain values, then runs the
/// effect once.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Steady, workloads::deep::DeepBaseline};
///
/// DeepBaseline::build().iter(true);
/// ```
#[derive(Debug)]
pub struct DeepBaseline {
    head: i64,
    chain: [i64; LEN],
    runs: usize,
}

impl DeepBaseline {
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
        black_box(self.chain[LEN - 1]); // the effect reads the tail
        self.runs += 1;
    }
}

impl Steady for DeepBaseline {
    fn build() -> Self {
        DeepBaseline {
            head: 0,
            chain: std::array::from_fn(|i| i as i64 + 1),
            runs: 1,
        }
    }

    fn iter(&mut self, check: bool) {
        self.write(black_box(1));
        self.runs = 0;
        for i in 0..WRITES {
            self.write(black_box(i));
            expect(check, self.chain[LEN - 1], LEN as i64 + i, "tail");
        }
        expect_runs(check, self.runs, WRITES as usize);
    }
}
