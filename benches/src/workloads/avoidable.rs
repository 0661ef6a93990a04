//! `kairo_avoidable` (upstream `kairo/avoidable.ts`): a change that stops two levels down, so
//! the expensive computed and effect below it must not run again.
//!
//! Graph: `head → c1 = head → c2 = (c1, 0) → c3 = busy(); c2 + 1 → c4 = c3 + 2 → c5 = c4 + 3 →
//! effect(c5; busy())`. One `iter` writes `head` 1001 times (1, then 0..1000), each in its own
//! batch, and reads `c5` (always 6) after each write.

use std::hint::black_box;

use crate::framework::{Framework, busy};
use crate::harness::Steady;
use crate::workloads::{RootGuard, expect};

/// The reactive version, for any [`Framework`].
///
/// # Examples
/// ```
/// use stateloom_benches::{adapters::Stateloom, harness::Steady, workloads::avoidable::Avoidable};
///
/// Avoidable::<Stateloom>::build().iter(true);
/// ```
pub struct Avoidable<F: Framework> {
    head: F::Signal<i64>,
    c5: F::Computed<i64>,
    _root: RootGuard<F>,
}

impl<F: Framework> Steady for Avoidable<F> {
    fn build() -> Self {
        let ((head, c5), root) = F::root(|| {
            let head = F::signal(0_i64);
            let c1 = F::computed(move || F::get(&head));
            let c2 = F::computed(move || {
                F::read(&c1);
                0_i64
            });
            let c3 = F::computed(move || {
                busy(); // heavy computation
                F::read(&c2) + 1
            });
            let c4 = F::computed(move || F::read(&c3) + 2);
            let c5 = F::computed(move || F::read(&c4) + 3);
            F::effect(move || {
                F::read(&c5);
                busy(); // heavy side effect
            });
            (head, c5)
        });
        Avoidable {
            head,
            c5,
            _root: RootGuard::new(root),
        }
    }

    fn iter(&mut self, check: bool) {
        let head = self.head;
        F::batch(|| F::set(&head, 1));
        expect(check, F::read(&self.c5), 6, "c5 after writing 1");
        for i in 0..1000 {
            F::batch(|| F::set(&head, i));
            expect(check, F::read(&self.c5), 6, "c5");
        }
    }
}

/// The baseline: plain fields, recomputing `c1` and `c2` on each write and running `c3`'s and
/// the effect's `busy()` only when `c2` changes (never once built, as in a perfect system).
///
/// # Examples
/// ```
/// use stateloom_benches::{harness::Steady, workloads::avoidable::AvoidableBaseline};
///
/// AvoidableBaseline::build().iter(true);
/// ```
#[derive(Debug)]
pub struct AvoidableBaseline {
    head: i64,
    c1: i64,
    c2: i64,
    c5: i64,
}

impl AvoidableBaseline {
    #[inline(never)]
    fn write(&mut self, value: i64) {
        if value == self.head {
            return;
        }
        self.head = value;
        self.c1 = self.head;
        let c2 = {
            black_box(self.c1);
            0
        };
        if c2 != self.c2 {
            self.c2 = c2;
            self.recompute_tail();
        }
    }

    fn recompute_tail(&mut self) {
        busy();
        let c5 = self.c2 + 1 + 2 + 3;
        if c5 != self.c5 {
            self.c5 = c5;
            busy();
        }
    }
}

impl Steady for AvoidableBaseline {
    fn build() -> Self {
        let mut this = AvoidableBaseline {
            head: 0,
            c1: 0,
            c2: 0,
            c5: i64::MIN,
        };
        this.recompute_tail();
        this
    }

    fn iter(&mut self, check: bool) {
        self.write(black_box(1));
        expect(check, self.c5, 6, "c5 after writing 1");
        for i in 0..1000 {
            self.write(black_box(i));
            expect(check, self.c5, 6, "c5");
        }
    }
}
