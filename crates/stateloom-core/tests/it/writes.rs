//! Signal writes that meet disposal, panics and re-entrant user code: values are dropped
//! exactly once, a failed write leaves the signal usable, and conflicts panic clearly.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use stateloom_core::{Signal, batch, effect, signal, signal_with_equals};

use crate::panic_message;

/// A value that counts its drops, and can run a hook (reading or writing a signal) when
/// dropped.
struct Tracked {
    id: u32,
    drops: Rc<Cell<u32>>,
    on_drop: Option<Box<dyn FnOnce()>>,
}

impl Tracked {
    fn new(id: u32, drops: &Rc<Cell<u32>>) -> Self {
        Self {
            id,
            drops: drops.clone(),
            on_drop: None,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        if let Some(hook) = self.on_drop.take() {
            hook();
        }
    }
}

thread_local! {
    /// The signal an equality function below acts on.
    static TARGET: Cell<Option<Signal<Tracked>>> = const { Cell::new(None) };
}

fn target() -> Signal<Tracked> {
    TARGET.get().expect("target signal set")
}

/// Equal by id, after disposing the target signal.
fn dispose_then_compare(a: &Tracked, b: &Tracked) -> bool {
    target().dispose();
    a.id == b.id
}

#[test]
fn a_set_whose_equality_disposes_the_signal_drops_each_value_once() {
    let drops = Rc::new(Cell::new(0));
    let s = signal_with_equals(Tracked::new(1, &drops), dispose_then_compare);
    TARGET.set(Some(s));
    // Outside a batch the value is replaced at once; the equality disposed the node while
    // it held both values.
    s.set(Tracked::new(2, &drops));
    assert!(!s.is_alive());
    assert_eq!(drops.get(), 2, "the old value and the new one, each once");
}

#[test]
fn a_batched_set_whose_equality_disposes_the_signal_drops_each_value_once() {
    let drops = Rc::new(Cell::new(0));
    let s = signal_with_equals(Tracked::new(1, &drops), dispose_then_compare);
    TARGET.set(Some(s));
    batch(|| s.set(Tracked::new(2, &drops)));
    assert!(!s.is_alive());
    assert_eq!(
        drops.get(),
        2,
        "the value and the write left pending, each once"
    );
}

#[test]
fn disposing_a_signal_with_a_pending_write_drops_the_write() {
    let drops = Rc::new(Cell::new(0));
    let s = signal_with_equals(Tracked::new(1, &drops), |a, b| a.id == b.id);
    batch(|| {
        s.set(Tracked::new(2, &drops));
        s.set(Tracked::new(3, &drops));
        assert_eq!(drops.get(), 1, "the second write replaced the first");
        s.dispose();
    });
    assert_eq!(
        drops.get(),
        3,
        "the value and the pending write were dropped"
    );
}

#[test]
fn an_update_that_disposes_its_signal_finishes_on_the_live_value() {
    let drops = Rc::new(Cell::new(0));
    let seen = Rc::new(Cell::new(0));
    let s = signal_with_equals(Tracked::new(1, &drops), |a, b| a.id == b.id);
    let seen_in = seen.clone();
    s.update(|value| {
        s.dispose();
        // The node is gone; the value this closure holds is still there to change.
        value.id = 7;
        seen_in.set(value.id);
    });
    assert_eq!(seen.get(), 7);
    assert_eq!(drops.get(), 1, "dropped once, when the update ended");
    assert!(s.try_with(|_| ()).is_err());
}

#[test]
fn the_old_value_is_dropped_after_the_write_and_can_read_the_new_one() {
    let drops = Rc::new(Cell::new(0));
    let s = signal_with_equals(Tracked::new(1, &drops), |a, b| a.id == b.id);
    let seen = Rc::new(RefCell::new(Vec::new()));
    for (id, batched) in [(2, false), (3, true)] {
        let log = seen.clone();
        // The value about to be replaced reads the signal when dropped.
        s.update(|v| v.on_drop = Some(Box::new(move || log.borrow_mut().push(s.with(|v| v.id)))));
        if batched {
            batch(|| s.set(Tracked::new(id, &drops)));
        } else {
            s.set(Tracked::new(id, &drops));
        }
    }
    assert_eq!(*seen.borrow(), [2, 3]);
    assert_eq!(drops.get(), 2);
}

/// Equal by id, after writing the target signal.
fn write_then_compare(a: &Tracked, b: &Tracked) -> bool {
    target().set(Tracked::new(99, &Rc::new(Cell::new(0))));
    a.id == b.id
}

#[test]
fn a_write_from_inside_the_equality_panics_and_leaves_the_signal_usable() {
    let drops = Rc::new(Cell::new(0));
    let s = signal_with_equals(Tracked::new(1, &drops), write_then_compare);
    TARGET.set(Some(s));
    let err = catch_unwind(AssertUnwindSafe(|| s.set(Tracked::new(2, &drops))))
        .expect_err("a nested write of the same signal panics");
    assert!(
        panic_message(&*err).contains("from inside its own equality function"),
        "{}",
        panic_message(&*err)
    );
    assert_eq!(s.with(|v| v.id), 1, "the failed write changed nothing");
    // The signal is usable afterwards: `update` never calls the equality.
    s.update(|v| v.id = 5);
    assert_eq!(s.with(|v| v.id), 5);
}

#[test]
fn an_equality_that_panics_leaves_the_signal_usable_in_and_out_of_batches() {
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    let s = signal_with_equals(1_i32, |a, b| {
        assert!(*b >= 0, "negative values are refused");
        a == b
    });
    effect(move || {
        s.get();
        r.set(r.get() + 1);
    });
    assert!(catch_unwind(|| s.set(-1)).is_err());
    assert!(catch_unwind(|| batch(|| s.set(-2))).is_err());
    assert_eq!(s.get(), 1);
    s.set(2);
    batch(|| s.set(3));
    assert_eq!(s.get(), 3);
    assert_eq!(runs.get(), 3, "the first run and the two good writes");
}

#[test]
fn update_while_a_read_borrows_the_value_panics() {
    let s = signal(vec![1]);
    let err = catch_unwind(AssertUnwindSafe(|| s.with(|_| s.update(|v| v.push(2)))))
        .expect_err("update during with panics");
    assert!(panic_message(&*err).contains("borrowed by `with`"));
    s.update(|v| v.push(3));
    assert_eq!(s.get(), [1, 3]);
}

#[test]
fn nested_reads_of_one_signal_share_the_value() {
    let s = signal(String::from("ab"));
    let total = s.with(|a| s.with(|b| s.with(|c| a.len() + b.len() + c.len())));
    assert_eq!(total, 6);
    // All three reads ended: writes commit at once again.
    s.set("abc".into());
    assert_eq!(s.with(String::len), 3);
}

#[test]
fn replace_returns_the_previous_value_and_skips_equal_or_disposed_writes() {
    let log = crate::Log::default();
    let s = signal(1);
    let l = log.clone();
    effect(move || l.push(s.get()));
    assert_eq!(s.replace(2), Ok(1));
    assert_eq!(s.replace(2), Err(2), "equal: nothing written");
    // Inside a batch the write commits at once, so the previous value is known, and readers
    // in the batch see the new one; effects run once, at the end.
    let seen = batch(|| {
        s.set(3); // pending
        let pending = s.replace(4); // compared with, and replacing, the pending write
        let first = s.replace(5);
        (pending, first, s.get())
    });
    assert_eq!(seen, (Ok(3), Ok(4), 5));
    // A replace inside a batch counts as a change even if the batch restores the value.
    batch(|| {
        assert_eq!(s.replace(9), Ok(5));
        s.set(5);
    });
    insta::assert_snapshot!(log.take(), @r"
    1
    2
    5
    5
    ");
    s.dispose();
    assert_eq!(s.replace(6), Err(6));
}

#[test]
fn a_replace_whose_equality_disposes_the_signal_drops_each_value_once() {
    let drops = Rc::new(Cell::new(0));
    let s = signal_with_equals(Tracked::new(1, &drops), dispose_then_compare);
    TARGET.set(Some(s));
    let old = s.replace(Tracked::new(2, &drops)).map(|old| old.id).ok();
    assert_eq!(old, Some(1), "the write happened before the node went");
    assert!(!s.is_alive());
    assert_eq!(
        drops.get(),
        2,
        "the old value (returned, then dropped) and the new one"
    );
}

#[test]
fn a_write_from_inside_the_equality_of_a_replace_panics_and_changes_nothing() {
    let drops = Rc::new(Cell::new(0));
    let s = signal_with_equals(Tracked::new(1, &drops), write_then_compare);
    TARGET.set(Some(s));
    let err = catch_unwind(AssertUnwindSafe(|| {
        let _ = s.replace(Tracked::new(2, &drops));
    }))
    .expect_err("a nested write of the same signal panics");
    assert!(panic_message(&*err).contains("from inside its own equality function"));
    assert_eq!(s.with(|v| v.id), 1);
    assert_eq!(drops.get(), 1, "the refused value was dropped");
}

#[test]
fn replace_while_a_read_borrows_the_value_panics() {
    let s = signal(vec![1]);
    let err = catch_unwind(AssertUnwindSafe(|| s.with(|_| s.replace(vec![2]))))
        .expect_err("replace during with panics");
    assert!(panic_message(&*err).contains("borrowed by `with`"));
    assert_eq!(s.replace(vec![3]), Ok(vec![1]));
}
