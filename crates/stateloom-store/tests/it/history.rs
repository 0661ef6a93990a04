//! `history`: undo and redo against a timeline oracle, groups, limits and the signals.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use proptest::prelude::*;
use stateloom_core::{create_root, effect};
use stateloom_store::{Api, History, Next, Store, Write, middleware_fn};

use crate::Log;

/// The oracle: every state in a timeline and a cursor on the current one.
struct Timeline {
    states: Vec<i32>,
    cursor: usize,
    limit: usize,
}

/// What an effect reading the state, `can_undo` and `can_redo` sees.
type Seen = (i32, bool, bool);

impl Timeline {
    fn current(&self) -> i32 {
        self.states[self.cursor]
    }

    fn seen(&self) -> Seen {
        (
            self.current(),
            self.cursor > 0,
            self.cursor + 1 < self.states.len(),
        )
    }

    /// A committed write: a new step.
    fn step(&mut self, value: i32) {
        self.states.truncate(self.cursor + 1);
        self.states.push(value);
        self.cursor += 1;
        if self.states.len() > self.limit + 1 {
            self.states.remove(0);
            self.cursor -= 1;
        }
    }

    /// A write of `value`: a step unless it equals the current state. Returns whether it
    /// committed.
    fn write(&mut self, value: i32) -> bool {
        let changed = value != self.current();
        if changed {
            self.step(value);
        }
        changed
    }

    fn undo(&mut self) -> bool {
        let moved = self.cursor > 0;
        self.cursor -= usize::from(moved);
        moved
    }

    fn redo(&mut self) -> bool {
        let moved = self.cursor + 1 < self.states.len();
        self.cursor += usize::from(moved);
        moved
    }

    fn clear(&mut self) {
        self.states = vec![self.current()];
        self.cursor = 0;
    }
}

#[derive(Clone, Debug)]
enum Op {
    Set(i32),
    Add(i32),
    /// A write that a middleware outside the history rewrites to the current state.
    Rewrite(i32),
    /// Set the first value; a listener then writes the second, queued behind it.
    Echo(i32, i32),
    /// Set the value; a listener then undoes, queued behind it.
    SetThenUndo(i32),
    Undo,
    Redo,
    Clear,
    Group(Vec<i32>),
}

/// Values from a small range, so that many writes equal the current state.
fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4).prop_map(Op::Set),
        2 => (0..3).prop_map(Op::Add),
        1 => (0..4).prop_map(Op::Rewrite),
        1 => (0..4, 0..4).prop_map(|(a, b)| Op::Echo(a, b)),
        1 => (0..4).prop_map(Op::SetThenUndo),
        3 => Just(Op::Undo),
        2 => Just(Op::Redo),
        1 => Just(Op::Clear),
        1 => proptest::collection::vec(0..4, 0..4).prop_map(Op::Group),
    ]
}

proptest! {
    #[test]
    fn history_matches_a_timeline(limit in 0_usize..5, ops in proptest::collection::vec(op(), 0..40)) {
        let history = History::new(limit);
        let rewrite = middleware_fn(|api: &Api<i32>, next: Next<i32>, write: Write<i32>| {
            if write.action() == Some("rewrite") {
                next.run(Write::replace(api.get_state()));
            } else {
                next.run(write);
            }
        });
        let store = Store::builder(0).middleware(rewrite).middleware(history.clone()).build();
        // What listeners do after the next commit: write a value, or undo.
        let echo: Rc<Cell<Option<i32>>> = Rc::default();
        let undo_next = Rc::new(Cell::new(false));
        let (s, h, e, u) = (store.clone(), history.clone(), echo.clone(), undo_next.clone());
        let _sub = store.subscribe(move |_, _| {
            if let Some(value) = e.take() {
                s.set_state(value);
            }
            if u.take() {
                h.undo();
            }
        });
        let seen: Rc<RefCell<Vec<Seen>>> = Rc::default();
        let (s, sn) = (store.clone(), seen.clone());
        let (can_undo, can_redo) = (history.can_undo(), history.can_redo());
        let ((), root) = create_root(|| {
            effect(move || sn.borrow_mut().push((s.get_state(), can_undo.get(), can_redo.get())));
        });
        let mut model = Timeline { states: vec![0], cursor: 0, limit };
        for op in ops {
            let start = model.seen();
            let runs = seen.borrow().len();
            // Every state the model passes through during the op; `None` if not tracked.
            let mut states = Some(Vec::new());
            match op {
                Op::Set(v) => {
                    store.set_state(v);
                    if model.write(v) { states = Some(vec![model.seen()]); }
                }
                Op::Add(d) => {
                    store.update(move |n| *n += d);
                    let v = model.current() + d;
                    if model.write(v) { states = Some(vec![model.seen()]); }
                }
                Op::Rewrite(v) => store.named("rewrite").set_state(v),
                Op::Echo(a, b) => {
                    echo.set(Some(b));
                    store.set_state(a);
                    echo.set(None);
                    let mut passed = Vec::new();
                    if model.write(a) {
                        passed.push(model.seen());
                        if model.write(b) { passed.push(model.seen()); }
                    }
                    states = Some(passed);
                }
                Op::SetThenUndo(v) => {
                    undo_next.set(true);
                    store.set_state(v);
                    undo_next.set(false);
                    let mut passed = Vec::new();
                    if model.write(v) {
                        passed.push(model.seen());
                        model.undo();
                        passed.push(model.seen());
                    }
                    states = Some(passed);
                }
                Op::Undo => {
                    prop_assert_eq!(history.undo(), model.undo());
                    states = Some(vec![model.seen()]);
                }
                Op::Redo => {
                    prop_assert_eq!(history.redo(), model.redo());
                    states = Some(vec![model.seen()]);
                }
                Op::Clear => {
                    history.clear();
                    model.clear();
                    states = Some(vec![model.seen()]);
                }
                Op::Group(values) => {
                    history.group(|| for v in &values { store.set_state(*v) });
                    // The group is one step if any of its writes changed the state.
                    let before = model.current();
                    if let Some(&last) = values.last() && values.iter().any(|v| *v != before) {
                        model.step(last);
                    }
                    states = None;
                }
            }
            prop_assert_eq!(store.get_state(), model.current());
            prop_assert_eq!(history.undo_len(), model.cursor);
            prop_assert_eq!(history.redo_len(), model.states.len() - 1 - model.cursor);
            prop_assert_eq!(history.can_undo().get(), model.cursor > 0);
            prop_assert_eq!(history.can_redo().get(), model.cursor + 1 < model.states.len());
            // The effect saw only states that existed, at most one run each, ending on the
            // current one.
            let runs: Vec<Seen> = seen.borrow()[runs..].to_vec();
            prop_assert_eq!(runs.last().copied().unwrap_or(start), model.seen());
            if let Some(states) = states {
                prop_assert!(runs.len() <= states.len(), "{:?} for {:?}", runs, states);
                for run in &runs {
                    prop_assert!(states.contains(run), "{:?} is not one of {:?}", run, states);
                }
            }
        }
        root.dispose();
        store.destroy();
    }
}

#[test]
fn undo_and_redo_notify_listeners_and_outer_middleware_but_are_not_steps() {
    let log = Log::default();
    let l = log.clone();
    let history = History::new(10);
    let store = Store::builder(0)
        .middleware(middleware_fn(
            move |_api, next, write: stateloom_store::Write<i32>| {
                l.push(format!("write {}", write.action().unwrap_or("-")));
                next.run(write);
            },
        ))
        .middleware(history.clone())
        .build();
    let l = log.clone();
    let _sub = store.subscribe(move |new, old| l.push(format!("{old} -> {new}")));
    store.set_state(1);
    history.undo();
    history.redo();
    assert_eq!((history.undo_len(), history.redo_len()), (1, 0));
    insta::assert_snapshot!(log.take(), @r"
    write -
    0 -> 1
    write undo
    1 -> 0
    write redo
    0 -> 1
    ");
}

#[test]
fn can_undo_and_can_redo_are_signals_effects_can_read() {
    let history = History::new(10);
    let store = Store::builder(0).middleware(history.clone()).build();
    let log = Log::default();
    let l = log.clone();
    let (can_undo, can_redo) = (history.can_undo(), history.can_redo());
    let ((), root) = stateloom_core::create_root(|| {
        effect(move || l.push(format!("undo {} redo {}", can_undo.get(), can_redo.get())));
    });
    store.set_state(1);
    store.set_state(2); // no change to either flag
    history.undo();
    history.undo();
    history.clear();
    root.dispose();
    insta::assert_snapshot!(log.take(), @r"
    undo false redo false
    undo true redo false
    undo true redo true
    undo false redo true
    undo false redo false
    ");
}

#[test]
fn issue_the_flags_and_the_state_change_together_in_every_operation() {
    let history = History::new(2);
    let store = Store::builder(0).middleware(history.clone()).build();
    let log = Log::default();
    let (l, s) = (log.clone(), store.clone());
    let (can_undo, can_redo) = (history.can_undo(), history.can_redo());
    let ((), root) = create_root(|| {
        effect(move || {
            l.push(format!(
                "state {} undo {} redo {}",
                s.get_state(),
                can_undo.get(),
                can_redo.get()
            ));
        });
    });
    log.push("write 1");
    store.set_state(1);
    log.push("undo");
    history.undo();
    log.push("redo");
    history.redo();
    log.push("undo");
    history.undo();
    log.push("a new write after undo");
    store.set_state(2);
    log.push("writes 3 and 4: the limit evicts the oldest step");
    store.set_state(3);
    store.set_state(4);
    log.push("undo twice, back to the oldest kept state");
    history.undo();
    history.undo();
    log.push("redo");
    history.redo();
    log.push("clear with steps on both sides");
    history.clear();
    root.dispose();
    insta::assert_snapshot!(log.take(), @r"
    state 0 undo false redo false
    write 1
    state 1 undo true redo false
    undo
    state 0 undo false redo true
    redo
    state 1 undo true redo false
    undo
    state 0 undo false redo true
    a new write after undo
    state 2 undo true redo false
    writes 3 and 4: the limit evicts the oldest step
    state 3 undo true redo false
    state 4 undo true redo false
    undo twice, back to the oldest kept state
    state 3 undo true redo true
    state 2 undo false redo true
    redo
    state 3 undo true redo true
    clear with steps on both sides
    state 3 undo false redo false
    ");
}

#[test]
fn nested_groups_make_one_step_and_empty_groups_none() {
    let history = History::new(10);
    let store = Store::builder(String::new())
        .middleware(history.clone())
        .build();
    history.group(|| {
        store.update(|s| s.push('a'));
        history.group(|| store.update(|s| s.push('b')));
        store.update(|s| s.push('c'));
    });
    history.group(|| {});
    assert_eq!(history.undo_len(), 1);
    history.undo();
    assert_eq!(store.get_state(), "");
}

#[test]
fn vetoed_writes_are_not_steps() {
    let history = History::new(10);
    let store = Store::builder(0)
        .middleware(history.clone())
        .middleware(middleware_fn(
            |_api, next, write: stateloom_store::Write<i32>| {
                if write.action() != Some("veto") {
                    next.run(write);
                }
            },
        ))
        .build();
    store.named("veto").set_state(1);
    assert_eq!(history.undo_len(), 0);
    store.set_state(2);
    assert_eq!(history.undo_len(), 1);
}

#[test]
fn a_store_with_history_returns_every_node_when_destroyed_or_unused() {
    let before = stateloom_core::runtime_stats();
    for _ in 0..20 {
        let history = History::new(3);
        let store = Store::builder(0).middleware(history.clone()).build();
        store.set_state(1);
        assert!(history.can_undo().get());
        store.destroy();
        // A history never attached to a store frees its signals when dropped.
        drop(History::<i32>::new(1));
    }
    assert_eq!(stateloom_core::runtime_stats(), before);
}
