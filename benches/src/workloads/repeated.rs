//! `kairo_repeated` (upstream `kairo/repeated.ts`): one computed reading the same signal 30
//! times, with an effect.
//!
//! Graph: `current = Σ_{30} head`, `effect(current)`. One `iter` writes `head` 101 times, each
//! in its own batch, reads `current` after each write and expects exactly 100 effect runs for
//! the last 100 writes.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use crate::framework::Framework;
use crate::harness::Steady;
use crate::workloads::{RootGuard, expect, expect_runs};

const SIZE: i64 = 30;
const WRITES: i64 = 100;

/// The reactive version, for any [`Framework`].
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Steady, workloads::repeated::Repeated};
///
/// Repeated::<Stateloom>::build().iter(true);
/// ```
pub struct Repeated<F: Framework> {
    head: F::Signal<i64>,
    current: F::Computed<i64>,
    runs: Rc<Cell<usize>>,
    _root: RootGuard<F>,
}

impl<F: Framework> Steady for Repeated<F> {
    fn build() -> Self {
        let runs = Rc::new(Cell::new(0));
        let counter = Rc::clone(&runs);
        let ((head, current), root) = F::root(move || {
            let head = F::signal(0_i64);
            let current = F::computed(move || {
                let mut result = 0;
                for _ in 0..SIZE {
                    result += F::get(&head);
                }
                result
            });
            F::effect(move || {
                F::read(&current);
                counter.set(counter.get() + 1);
            });
            (head, current)
        });
        Repeated {
            head,
            current,
            runs,
            _root: RootGuard::new(root),
        }
    }

    fn iter(&mut self, check: bool) {
        let head = self.head;
        F::batch(|| F::set(&head, 1));
        expect(
            check,
            F::read(&self.current),
            SIZE,
            "current after writing 1",
        );
        self.runs.set(0);
        for i in 0..WRITES {
            F::batch(|| F::set(&head, i));
            expect(check, F::read(&self.current), i * SIZE, "current");
        }
        expect_runs(check, self.runs.get(), WRITES as usize);
    }
}

/// The baseline: on each write, sums 30 reads of `head` (each through `black_box`, so it stays
/// 30 loads and adds rather than one multiplication), then runs the effect once.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Steady, workloads::repeated::RepeatedBaseline};
///
/// RepeatedBaseline::build().iter(true);
/// ```
#[derive(Debug)]
pub struct RepeatedBaseline {
    head: i64,
    current: i64,
    runs: usize,
}

impl RepeatedBaseline {
    #[inline(never)]
    fn write(&mut self, value: i64) {
        if value == self.head {
            return;
        }
        self.head = value;
        let mut result = 0;
        for _ in 0..SIZE {
            result += black_box(self.head);
        }
        if result != self.current {
            self.current = result;
            black_box(self.current); // the effect reads current
            self.runs += 1;
        }
    }
}

impl Steady for RepeatedBaseline {
    fn build() -> Self {
        RepeatedBaseline {
            head: 0,
            current: 0,
            runs: 1,
        }
    }

    fn iter(&mut self, check: bool) {
        self.write(black_box(1));
        expect(check, self.current, SIZE, "current after writing 1");
        self.runs = 0;
        for i in 0..WRITES {
            self.write(black_box(i));
            expect(check, self.current, i * SIZE, "current");
        }
        expect_runs(check, self.runs, WRITES as usize);
    }
}
