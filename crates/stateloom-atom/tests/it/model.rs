//! A proptest model: a random graph of base and derived atoms (with conditional
//! dependencies) in two scopes, driven by random writes, compared with a naive evaluator
//! that recomputes everything; subscribers must fire exactly when a value changed.

mod family;

use std::cell::RefCell;
use std::rc::Rc;

use proptest::prelude::*;
use stateloom_atom::{Atom, AtomScope, Derived, atom, derived, write_only_atom};

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
}

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
        (0..2_usize, 0..BASES, -3..4_i64).prop_map(|(scope, base, value)| Step::Set {
            scope,
            base,
            value
        }),
        (
            0..2_usize,
            prop::collection::vec((0..BASES, -3..4_i64), 1..4)
        )
            .prop_map(|(scope, writes)| Step::SetMany { scope, writes }),
        (0..2_usize, 0..nodes).prop_map(|(scope, node)| Step::Read { scope, node }),
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

/// Earlier nodes as derived read functions see them: a base atom or a derived one.
type Table = Rc<RefCell<Vec<Result<Atom<i64>, Derived<i64>>>>>;

fn read(scope: &AtomScope, node: &Node) -> i64 {
    match node {
        Node::Base(a) => scope.get(*a),
        Node::Derived(d) => scope.get(*d),
    }
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
    let scopes = [AtomScope::new(), AtomScope::new()];
    let mut model: [Vec<i64>; 2] = [(0..BASES as i64).collect(), (0..BASES as i64).collect()];
    // Subscribe to every node in both scopes; record (node, value) per notification.
    let fired: Rc<RefCell<Vec<(usize, usize, i64)>>> = Rc::default();
    let mut subs = Vec::new();
    for (s, scope) in scopes.iter().enumerate() {
        for (i, node) in nodes.iter().enumerate() {
            let f = fired.clone();
            let cb = move |v: &i64| f.borrow_mut().push((s, i, *v));
            subs.push(match node {
                Node::Base(a) => scope.sub(*a, cb),
                Node::Derived(d) => scope.sub(*d, cb),
            });
        }
    }
    for step in steps {
        let (s, writes) = match step {
            Step::Read { scope, node } => {
                let expected = naive(&ops, &model[scope])[node];
                prop_assert_eq!(read(&scopes[scope], &nodes[node]), expected);
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
        if writes.len() == 1 {
            scopes[s].set(bases[writes[0].0], writes[0].1);
        } else {
            let b = bases.clone();
            let many = write_only_atom(move |set, ws: Vec<(usize, i64)>| {
                for (base, value) in ws {
                    set.set(b[base], value);
                }
            });
            scopes[s].write(many, writes);
        }
        let mut got = std::mem::take(&mut *fired.borrow_mut());
        got.sort();
        let mut expected: Vec<(usize, usize, i64)> = (0..nodes.len())
            .filter(|&i| before[i] != after[i])
            .map(|i| (s, i, after[i]))
            .collect();
        expected.sort();
        prop_assert_eq!(
            got,
            expected,
            "each changed node fires once, with its final value"
        );
    }
    for (s, scope) in scopes.iter().enumerate() {
        let expected = naive(&ops, &model[s]);
        for (i, node) in nodes.iter().enumerate() {
            prop_assert_eq!(read(scope, node), expected[i]);
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
