//! Subscriptions (`Signal::subscribe`, `Computed::subscribe`) against their definition: "the
//! callback runs as an effect, at the end of the batch that made the change, untracked".
//!
//! The kernel calls a subscription directly when a committed write's only subscriber is that
//! subscription, and runs subscriptions without re-tracking in a flush. The proptest below
//! runs one random program twice, once with real subscriptions and once with subscriptions
//! written as plain effects (the reference), and requires the same events in the same order.
//! Callbacks write, write in batches, unsubscribe themselves and others, dispose signals, read
//! a computed and panic, from inside the notification.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use proptest::prelude::*;
use stateloom_core::{
    Computed, Effect, Signal, Subscription, batch, computed, effect, runtime_stats, signal, untrack,
};

use crate::Log;

/// How many signals a program has; the computed reads the first two.
const SIGNALS: usize = 3;

/// What a subscription is attached to.
#[derive(Clone, Copy, Debug)]
enum Source {
    Signal(usize),
    /// The computed `s0 + s1`.
    Sum,
}

/// What a callback does when it is called, besides logging the value.
#[derive(Clone, Debug)]
enum Reaction {
    Nothing,
    Write(usize, i64),
    /// Writes its own source's signal (or `s0` for the computed): runs it again next round.
    WriteOwn(i64),
    Batch(Vec<(usize, i64)>),
    Unsubscribe(usize),
    UnsubscribeSelf,
    Dispose(usize),
    ReadSum,
    Panic,
}

/// One top-level step.
#[derive(Clone, Debug)]
enum Op {
    Write(usize, i64),
    Batch(Vec<(usize, i64)>),
    /// A new subscription, reacting with each reaction once, in order, then doing nothing.
    Subscribe(Source, Vec<Reaction>),
    Unsubscribe(usize),
    Dispose(usize),
    ReadSum,
}

/// A subscription of either kind.
enum Handle {
    Real(Subscription),
    Reference(Effect),
}

impl Handle {
    fn unsubscribe(self) {
        match self {
            Self::Real(s) => s.unsubscribe(),
            Self::Reference(e) => e.dispose(),
        }
    }
}

/// One run of a program.
struct World {
    reference: bool,
    signals: Vec<Signal<i64>>,
    sum: Computed<i64>,
    subs: Rc<RefCell<Vec<Option<Handle>>>>,
    log: Log,
}

impl World {
    fn new(reference: bool) -> Self {
        let signals: Vec<Signal<i64>> = (0..SIGNALS).map(|i| signal(i as i64)).collect();
        let (a, b) = (signals[0], signals[1]);
        let sum = computed(move || a.try_get().unwrap_or(-1) + b.try_get().unwrap_or(-1));
        Self {
            reference,
            signals,
            sum,
            subs: Rc::default(),
            log: Log::default(),
        }
    }

    fn subscribe(&self, source: Source, reactions: Vec<Reaction>) {
        let id = self.subs.borrow().len();
        // The handle's slot exists before the subscription can be called.
        self.subs.borrow_mut().push(None);
        let reactions = RefCell::new(reactions.into_iter());
        let (signals, sum, subs, log) = (
            self.signals.clone(),
            self.sum,
            self.subs.clone(),
            self.log.clone(),
        );
        let own = match source {
            Source::Signal(i) => i,
            Source::Sum => 0,
        };
        let callback = move |value: &i64| {
            log.push(format!("sub {id}: {value}"));
            let reaction = reactions.borrow_mut().next();
            match reaction.unwrap_or(Reaction::Nothing) {
                Reaction::Nothing => {}
                Reaction::Write(i, v) => signals[i].set(v),
                Reaction::WriteOwn(v) => signals[own].set(v),
                Reaction::Batch(writes) => batch(|| {
                    for (i, v) in writes {
                        signals[i].set(v);
                    }
                }),
                Reaction::Unsubscribe(k) => unsubscribe(&subs, k),
                Reaction::UnsubscribeSelf => unsubscribe(&subs, id),
                Reaction::Dispose(i) => signals[i].dispose(),
                Reaction::ReadSum => log.push(format!("sub {id} read sum {}", sum.get())),
                Reaction::Panic => panic!("sub {id} panics"),
            }
        };
        let alive = match source {
            Source::Signal(i) => self.signals[i].is_alive(),
            Source::Sum => true,
        };
        if !alive {
            self.log.push(format!("sub {id}: source disposed"));
            return;
        }
        let handle = if self.reference {
            Handle::Reference(reference_subscription(
                source,
                &self.signals,
                self.sum,
                callback,
            ))
        } else {
            Handle::Real(match source {
                Source::Signal(i) => self.signals[i].subscribe(callback),
                Source::Sum => self.sum.subscribe(callback),
            })
        };
        self.subs.borrow_mut()[id] = Some(handle);
    }

    fn apply(&self, step: usize, op: &Op) {
        let result = catch_unwind(AssertUnwindSafe(|| match op {
            Op::Write(i, v) => self.signals[*i].set(*v),
            Op::Batch(writes) => batch(|| {
                for &(i, v) in writes {
                    self.signals[i].set(v);
                }
            }),
            Op::Subscribe(source, reactions) => self.subscribe(*source, reactions.clone()),
            Op::Unsubscribe(k) => unsubscribe(&self.subs, *k),
            Op::Dispose(i) => self.signals[*i].dispose(),
            Op::ReadSum => self.log.push(format!("read sum {}", self.sum.get())),
        }));
        if result.is_err() {
            self.log.push(format!("step {step} panicked"));
        }
    }

    /// Ends the program and returns its log; everything it created is gone.
    fn finish(self) -> String {
        let subs: Vec<Handle> = self.subs.borrow_mut().drain(..).flatten().collect();
        for handle in subs {
            handle.unsubscribe();
        }
        self.sum.dispose();
        for s in &self.signals {
            s.dispose();
        }
        self.log.take()
    }
}

fn unsubscribe(subs: &RefCell<Vec<Option<Handle>>>, k: usize) {
    let handle = subs.borrow_mut().get_mut(k).and_then(Option::take);
    if let Some(handle) = handle {
        handle.unsubscribe();
    }
}

/// A subscription as the documentation defines it: an effect that reads the source, tracked,
/// and calls back untracked on every run but the first.
fn reference_subscription(
    source: Source,
    signals: &[Signal<i64>],
    sum: Computed<i64>,
    mut callback: impl FnMut(&i64) + 'static,
) -> Effect {
    let read: Box<dyn Fn() -> i64> = match source {
        Source::Signal(i) => {
            let s = signals[i];
            Box::new(move || s.get())
        }
        Source::Sum => Box::new(move || sum.get()),
    };
    let first = Cell::new(true);
    effect(move || {
        let value = read();
        if !first.replace(false) {
            untrack(|| callback(&value));
        }
    })
}

fn run(ops: &[Op], reference: bool) -> String {
    let before = runtime_stats();
    let world = World::new(reference);
    for (step, op) in ops.iter().enumerate() {
        world.apply(step, op);
    }
    let log = world.finish();
    assert_eq!(runtime_stats(), before, "everything created was freed");
    log
}

fn signal_index() -> impl Strategy<Value = usize> {
    0..SIGNALS
}

fn value() -> impl Strategy<Value = i64> {
    0..4_i64
}

fn reaction() -> impl Strategy<Value = Reaction> {
    prop_oneof![
        4 => Just(Reaction::Nothing),
        3 => (signal_index(), value()).prop_map(|(i, v)| Reaction::Write(i, v)),
        2 => value().prop_map(Reaction::WriteOwn),
        1 => prop::collection::vec((signal_index(), value()), 1..3).prop_map(Reaction::Batch),
        1 => (0..6_usize).prop_map(Reaction::Unsubscribe),
        1 => Just(Reaction::UnsubscribeSelf),
        1 => signal_index().prop_map(Reaction::Dispose),
        1 => Just(Reaction::ReadSum),
        1 => Just(Reaction::Panic),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let source = prop_oneof![
        3 => signal_index().prop_map(Source::Signal),
        1 => Just(Source::Sum),
    ];
    prop_oneof![
        6 => (signal_index(), value()).prop_map(|(i, v)| Op::Write(i, v)),
        2 => prop::collection::vec((signal_index(), value()), 1..4).prop_map(Op::Batch),
        3 => (source, prop::collection::vec(reaction(), 0..4))
            .prop_map(|(s, r)| Op::Subscribe(s, r)),
        1 => (0..6_usize).prop_map(Op::Unsubscribe),
        1 => signal_index().prop_map(Op::Dispose),
        1 => Just(Op::ReadSum),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: crate::cases(512),
        ..ProptestConfig::default()
    })]

    /// Real subscriptions and effect-based ones log the same calls, values, reads and panics.
    #[test]
    fn subscriptions_behave_as_the_effects_they_are_defined_as(
        ops in prop::collection::vec(op(), 1..40)
    ) {
        let real = run(&ops, false);
        let reference = run(&ops, true);
        prop_assert_eq!(real, reference);
    }
}

/// The direct call when the write's only subscriber is a subscription: a write made by the
/// callback to the same signal is delivered after the callback returns, in the next round,
/// and a panic is re-raised by the write after the other rounds ran.
#[test]
fn a_sole_subscription_sees_its_own_writes_next_round_and_its_panic_after_them() {
    let before = runtime_stats();
    let s = signal(0_i64);
    let other = signal(0_i64);
    let log = Log::default();
    let l = log.clone();
    let sub = s.subscribe(move |v| {
        l.push(format!("s = {v}"));
        if *v == 1 {
            s.set(2);
        }
        if *v == 2 {
            other.set(5);
            panic!("after a write");
        }
    });
    let l = log.clone();
    let watch_other = other.subscribe(move |v| l.push(format!("other = {v}")));
    let result = catch_unwind(AssertUnwindSafe(|| s.set(1)));
    assert!(result.is_err(), "the callback's panic reaches the writer");
    assert_eq!(
        log.take(),
        "s = 1\ns = 2\nother = 5",
        "the write inside the callback is delivered in the next round"
    );
    // The kernel is usable after the panic, and the subscription still works.
    s.set(3);
    assert_eq!(log.take(), "s = 3");
    sub.unsubscribe();
    watch_other.unsubscribe();
    s.dispose();
    other.dispose();
    assert_eq!(runtime_stats(), before);
}

/// A subscription that unsubscribes itself, or creates another one, from its callback.
#[test]
fn a_sole_subscription_can_unsubscribe_itself_and_subscribe_another() {
    let before = runtime_stats();
    let s = signal(0_i64);
    let log = Log::default();
    let held: Rc<RefCell<Option<Subscription>>> = Rc::default();
    let added: Rc<RefCell<Vec<Subscription>>> = Rc::default();
    let (l, h, a) = (log.clone(), held.clone(), added.clone());
    *held.borrow_mut() = Some(s.subscribe(move |v| {
        l.push(format!("first {v}"));
        let l = l.clone();
        a.borrow_mut()
            .push(s.subscribe(move |v| l.push(format!("second {v}"))));
        if let Some(me) = h.borrow_mut().take() {
            me.unsubscribe();
        }
    }));
    s.set(1);
    assert_eq!(
        log.take(),
        "first 1",
        "a new subscription is not called for the change that made it"
    );
    s.set(2);
    assert_eq!(log.take(), "second 2");
    for sub in added.borrow_mut().drain(..) {
        sub.unsubscribe();
    }
    s.dispose();
    assert_eq!(runtime_stats(), before);
}

/// With a batch hook installed, the direct call is not taken: the hook still sees every flush.
#[test]
fn a_batch_hook_still_sees_the_flush_of_a_sole_subscription() {
    let flushes = Rc::new(Cell::new(0));
    let f = flushes.clone();
    stateloom_core::set_batch_hook(move |flush| {
        f.set(f.get() + 1);
        flush();
    });
    let s = signal(0_i64);
    let seen = Rc::new(Cell::new(0));
    let n = seen.clone();
    let sub = s.subscribe(move |v| n.set(*v));
    s.set(7);
    stateloom_core::clear_batch_hook();
    assert_eq!((seen.get(), flushes.get()), (7, 1));
    sub.unsubscribe();
    s.dispose();
}
