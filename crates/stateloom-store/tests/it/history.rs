//! `history`: undo and redo against a timeline oracle, groups, limits and the signals.

use proptest::prelude::*;
use stateloom_core::effect;
use stateloom_store::{History, Store, middleware_fn};

use crate::Log;

/// The oracle: every state in a timeline and a cursor on the current one.
struct Timeline {
    states: Vec<i32>,
    cursor: usize,
    limit: usize,
}

impl Timeline {
    fn set(&mut self, value: i32) {
        self.states.truncate(self.cursor + 1);
        self.states.push(value);
        self.cursor += 1;
        if self.states.len() > self.limit + 1 {
            self.states.remove(0);
            self.cursor -= 1;
        }
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
        self.states = vec![self.states[self.cursor]];
        self.cursor = 0;
    }
}

#[derive(Clone, Debug)]
enum Op {
    Set(i32),
    Add(i32),
    Undo,
    Redo,
    Clear,
    Group(Vec<i32>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..5).prop_map(Op::Set),
        2 => (1..5).prop_map(Op::Add),
        3 => Just(Op::Undo),
        2 => Just(Op::Redo),
        1 => Just(Op::Clear),
        1 => proptest::collection::vec(0..5, 0..4).prop_map(Op::Group),
    ]
}

proptest! {
    #[test]
    fn history_matches_a_timeline(limit in 0_usize..6, ops in proptest::collection::vec(op(), 0..40)) {
        let history = History::new(limit);
        let store = Store::builder(0).middleware(history.clone()).build();
        let mut model = Timeline { states: vec![0], cursor: 0, limit };
        for op in ops {
            match op {
                Op::Set(v) => {
                    store.set_state(v);
                    // A write equal to the current state is skipped: not a step.
                    if v != model.states[model.cursor] { model.set(v); }
                }
                Op::Add(d) => {
                    store.update(move |n| *n += d);
                    let v = model.states[model.cursor] + d;
                    model.set(v);
                }
                Op::Undo => prop_assert_eq!(history.undo(), model.undo()),
                Op::Redo => prop_assert_eq!(history.redo(), model.redo()),
                Op::Clear => { history.clear(); model.clear(); }
                Op::Group(values) => {
                    history.group(|| for v in &values { store.set_state(*v) });
                    // The group is one step if any of its writes changed the state.
                    let before = model.states[model.cursor];
                    if let Some(&last) = values.last() && values.iter().any(|v| *v != before) {
                        model.set(last);
                    }
                }
            }
            prop_assert_eq!(store.get_state(), model.states[model.cursor]);
            prop_assert_eq!(history.undo_len(), model.cursor);
            prop_assert_eq!(history.redo_len(), model.states.len() - 1 - model.cursor);
            prop_assert_eq!(history.can_undo().get(), model.cursor > 0);
            prop_assert_eq!(history.can_redo().get(), model.cursor + 1 < model.states.len());
        }
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
