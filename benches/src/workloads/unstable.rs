//! `kairo_unstable` (upstream `kairo/unstable.ts`): a computed whose dependencies flip between
//! two branches on every write, with an effect.
//!
//! Graph: `double = 2 head`, `inverse = -head`, `current = Σ_{20} (head odd ? double :
//! inverse)`, `effect(current)`. One `iter` writes `head` 101 times, each in its own batch,
//! and expects exactly 100 effect runs for the last 100 writes. Upstream's per-write value
//! assert is commented out (its operator precedence is wrong); this port checks the final
//! value instead (`head` = 99 is odd: 20 × 198).

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use crate::framework::Framework;
use crate::harness::Steady;
use crate::workloads::{RootGuard, expect, expect_runs};

const READS: i64 = 20;
const WRITES: i64 = 100;

/// What `current` is for a given `head`.
const fn expected(head: i64) -> i64 {
    if head % 2 != 0 {
        READS * 2 * head
    } else {
        -READS * head
    }
}

/// The reactive version, for any [`Framework`].
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Steady, workloads::unstable::Unstable};
///
/// Unstable::<Stateloom>::build().iter(true);
/// ```
pub struct Unstable<F: Framework> {
    head: F::Signal<i64>,
    current: F::Computed<i64>,
    runs: Rc<Cell<usize>>,
    _root: RootGuard<F>,
}

impl<F: Framework> Steady for Unstable<F> {
    fn build() -> Self {
        let runs = Rc::new(Cell::new(0));
        let counter = Rc::clone(&runs);
        let ((head, current), root) = F::root(move || {
            let head = F::signal(0_i64);
            let double = F::computed(move || F::get(&head) * 2);
            let inverse = F::computed(move || -F::get(&head));
            let current = F::computed(move || {
                let mut result = 0;
                for _ in 0..READS {
                    result += if F::get(&head) % 2 != 0 {
                        F::read(&double)
                    } else {
                        F::read(&inverse)
                    };
                }
                result
            });
            F::effect(move || {
                F::read(&current);
                counter.set(counter.get() + 1);
            });
            (head, current)
        });
        Unstable {
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
            expected(1),
            "current after writing 1",
        );
        self.runs.set(0);
        for i in 0..WRITES {
            F::batch(|| F::set(&head, i));
        }
        expect_runs(check, self.runs.get(), WRITES as usize);
        expect(
            check,
            F::read(&self.current),
            expected(WRITES - 1),
            "current",
        );
    }
}

/// The baseline: on each write, computes the branch `current` reads (`double` or `inverse`,
/// once) and sums 20 reads of it, each through `black_box`, then runs the effect once.
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Steady, workloads::unstable::UnstableBaseline};
///
/// UnstableBaseline::build().iter(true);
/// ```
#[derive(Debug)]
pub struct UnstableBaseline {
    head: i64,
    current: i64,
    runs: usize,
}

impl UnstableBaseline {
    #[inline(never)]
    fn write(&mut self, value: i64) {
        if value == self.head {
            return;
        }
        self.head = value;
        let branch = if self.head % 2 != 0 {
            self.head * 2
        } else {
            -self.head
        };
        let mut result = 0;
        for _ in 0..READS {
            result += black_box(branch);
        }
        if result != self.current {
            self.current = result;
            black_box(self.current); // the effect reads current
            self.runs += 1;
        }
    }
}

impl Steady for UnstableBaseline {
    fn build() -> Self {
        UnstableBaseline {
            head: 0,
            current: 0,
            runs: 1,
        }
    }

    fn iter(&mut self, check: bool) {
        self.write(black_box(1));
        expect(check, self.current, expected(1), "current after writing 1");
        self.runs = 0;
        for i in 0..WRITES {
            self.write(black_box(i));
        }
        expect_runs(check, self.runs, WRITES as usize);
        expect(check, self.current, expected(WRITES - 1), "current");
    }
}
