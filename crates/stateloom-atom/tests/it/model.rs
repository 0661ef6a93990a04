//! A proptest model: a random graph of base and derived atoms (with conditional
//! dependencies) in two explicit scopes and the default one (used through the handles'
//! methods), driven by random writes, resets and scope replacements, compared with a naive
//! evaluator that recomputes everything; subscribers must fire exactly when a value changed.

mod family;

use std::cell::RefCell;
use std::rc::Rc;

use proptest::prelude::*;
use stateloom_atom::{Atom, AtomScope, Derived, atom, default_scope, derived, write_only_atom};
use stateloom_core::Subscription;

/// How a derived node combines two earlier nodes.
#[derive(Clone, Copy, Debug)]
enum Op {
    Add(usize, usize),
    Mul(usize, usize),
    /// `if value(c) is even { value(a) } else { value(b) }`: dependencies that change.
    Pick(usize, usize, usize),
}

#[derive(Clone, Debug)]
enum Step {
    Set {
        scope: usize,
        base: usize,
        value: i64,
    },
    /// Several writes in one write function.
    SetMany {
        scope: usize,
        writes: Vec<(usize, i64)>,
    },
    Read {
        scope: usize,
        node: usize,
    },
    /// Resets a scope: every atom starts again, subscriptions end.
    Reset {
        scope: usize,
    },
    /// Disposes an explicit scope and puts a new one in its place (for the default scope,
    /// resets it), then subscribes to every node there again.
    Replace {
        scope: usize,
    },
}

/// Scopes 0 and 1 are explicit; scope 2 is the default scope, through handle methods.
const SCOPES: usize = 3;

const BASES: usize = 4;

fn ops() -> impl Strategy<Value = Vec<Op>> {
    (1..12_usize).prop_flat_map(|n| {
        let per_node: Vec<_> = (0..n)
            .map(|i| {
                let earlier = BASES + i;
                prop_oneof![
                    (0..earlier, 0..earlier).prop_map(|(a, b)| Op::Add(a, b)),
                    (0..earlier, 0..earlier).prop_map(|(a, b)| Op::Mul(a, b)),
                    (0..earlier, 0..earlier, 0..earlier).prop_map(|(a, b, c)| Op::Pick(a, b, c)),
                ]
            })
            .collect();
        per_node
    })
}

fn steps(nodes: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        8 => (0..SCOPES, 0..BASES, -3..4_i64).prop_map(|(scope, base, value)| Step::Set {
            scope,
            base,
            value
        }),
        4 => (
            0..SCOPES,
            prop::collection::vec((0..BASES, -3..4_i64), 1..4)
        )
            .prop_map(|(scope, writes)| Step::SetMany { scope, writes }),
        8 => (0..SCOPES, 0..nodes).prop_map(|(scope, node)| Step::Read { scope, node }),
        1 => (0..SCOPES).prop_map(|scope| Step::Reset { scope }),
        1 => (0..SCOPES).prop_map(|scope| Step::Replace { scope }),
    ];
    prop::collection::vec(step, 1..40)
}

/// Evaluates every node from the base values, the slow obvious way.
fn naive(ops: &[Op], bases: &[i64]) -> Vec<i64> {
    let mut values = bases.to_vec();
    for op in ops {
        let v = match *op {
            Op::Add(a, b) => values[a].wrapping_add(values[b]),
            Op::Mul(a, b) => values[a].wrapping_mul(values[b]) % 1_000_003,
            Op::Pick(a, b, c) => {
                if values[c] % 2 == 0 {
                    values[a]
                } else {
                    values[b]
                }
            }
        };
        values.push(v);
    }
    values
}

enum Node {
    Base(Atom<i64>),
    Derived(Derived<i64>),
}

/// Notifications as `(scope, node, value)`.
type Fired = Rc<RefCell<Vec<(usize, usize, i64)>>>;

/// Earlier nodes as derived read functions see them: a base atom or a derived one.
type Table = Rc<RefCell<Vec<Result<Atom<i64>, Derived<i64>>>>>;

/// Reads a node in scope `s`: through the scope, or for the default scope (`scopes[2]`)
/// through the handle.
fn read(scopes: &[AtomScope], s: usize, node: &Node) -> i64 {
    match (node, s) {
        (Node::Base(a), 2) => a.get(),
        (Node::Derived(d), 2) => d.get(),
        (Node::Base(a), _) => scopes[s].get(*a),
        (Node::Derived(d), _) => scopes[s].get(*d),
    }
}

/// Subscribes to every node in scope `s`, recording `(scope, node, value)` in `fired`.
fn subscribe_all(
    scopes: &[AtomScope],
    s: usize,
    nodes: &[Node],
    fired: &Fired,
) -> Vec<Subscription> {
    let mut subs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let f = fired.clone();
        let cb = move |v: &i64| f.borrow_mut().push((s, i, *v));
        subs.push(match (node, s) {
            (Node::Base(a), 2) => a.subscribe(cb),
            (Node::Derived(d), 2) => d.subscribe(cb),
            (Node::Base(a), _) => scopes[s].sub(*a, cb),
            (Node::Derived(d), _) => scopes[s].sub(*d, cb),
        });
    }
    subs
}

fn run(ops: Vec<Op>, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let bases: Vec<Atom<i64>> = (0..BASES).map(|i| atom(i as i64)).collect();
    let mut nodes: Vec<Node> = bases.iter().map(|a| Node::Base(*a)).collect();
    // Each derived node reads earlier nodes through the getter.
    let lookup: Table = Rc::new(RefCell::new(bases.iter().map(|a| Ok(*a)).collect()));
    for op in &ops {
        let table = lookup.clone();
        let op = *op;
        let d = derived(move |get| {
            let value = |i: usize| match table.borrow()[i] {
                Ok(a) => get.get(a),
                Err(d) => get.get(d),
            };
            match op {
                Op::Add(a, b) => value(a).wrapping_add(value(b)),
                Op::Mul(a, b) => value(a).wrapping_mul(value(b)) % 1_000_003,
                Op::Pick(a, b, c) => {
                    if value(c) % 2 == 0 {
                        value(a)
                    } else {
                        value(b)
                    }
                }
            }
        });
        lookup.borrow_mut().push(Err(d));
        nodes.push(Node::Derived(d));
    }
    // The default scope outlives each case on this thread: start it afresh.
    default_scope().reset();
    let mut scopes = [AtomScope::new(), AtomScope::new(), default_scope()];
    let initial: Vec<i64> = (0..BASES as i64).collect();
    let mut model: [Vec<i64>; SCOPES] = [initial.clone(), initial.clone(), initial.clone()];
    // Subscribe to every node in every scope; record (scope, node, value) per notification.
    let fired: Fired = Rc::default();
    let mut subscribed = [true; SCOPES];
    let mut subs = Vec::new();
    for s in 0..SCOPES {
        subs.extend(subscribe_all(&scopes, s, &nodes, &fired));
    }
    for step in steps {
        let (s, writes) = match step {
            Step::Read { scope, node } => {
                let expected = naive(&ops, &model[scope])[node];
                prop_assert_eq!(read(&scopes, scope, &nodes[node]), expected);
                continue;
            }
            Step::Reset { scope } => {
                scopes[scope].reset();
                model[scope] = initial.clone();
                subscribed[scope] = false;
                prop_assert!(fired.borrow().is_empty(), "a reset notifies nobody");
                continue;
            }
            Step::Replace { scope } => {
                if scope == 2 {
                    default_scope().reset();
                } else {
                    scopes[scope].dispose();
                    scopes[scope] = AtomScope::new();
                }
                model[scope] = initial.clone();
                subs.extend(subscribe_all(&scopes, scope, &nodes, &fired));
                subscribed[scope] = true;
                prop_assert!(fired.borrow().is_empty(), "subscribing notifies nobody");
                continue;
            }
            Step::Set { scope, base, value } => (scope, vec![(base, value)]),
            Step::SetMany { scope, writes } => (scope, writes),
        };
        let before = naive(&ops, &model[s]);
        for (base, value) in &writes {
            model[s][*base] = *value;
        }
        let after = naive(&ops, &model[s]);
        let many = || {
            let b = bases.clone();
            write_only_atom(move |set, ws: Vec<(usize, i64)>| {
                for (base, value) in ws {
                    set.set(b[base], value);
                }
            })
        };
        match (writes.len(), s) {
            (1, 2) => bases[writes[0].0].set(writes[0].1),
            (1, _) => scopes[s].set(bases[writes[0].0], writes[0].1),
            (_, 2) => many().write(writes),
            (_, _) => scopes[s].write(many(), writes),
        }
        let mut got = std::mem::take(&mut *fired.borrow_mut());
        got.sort();
        let mut expected: Vec<(usize, usize, i64)> = (0..nodes.len())
            .filter(|&i| subscribed[s] && before[i] != after[i])
            .map(|i| (s, i, after[i]))
            .collect();
        expected.sort();
        prop_assert_eq!(
            got,
            expected,
            "each changed node fires once, with its final value"
        );
    }
    for (s, values) in model.iter().enumerate() {
        let expected = naive(&ops, values);
        for (i, node) in nodes.iter().enumerate() {
            prop_assert_eq!(read(&scopes, s, node), expected[i]);
        }
    }
    drop(subs);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_random_atom_graph_matches_naive_evaluation(
        (ops, steps) in ops().prop_flat_map(|ops| {
            let n = BASES + ops.len();
            (Just(ops), steps(n))
        })
    ) {
        run(ops, steps)?;
    }
}
