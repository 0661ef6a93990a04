//! Depth: `get`, `sub` and `set` on the tail of a 100,000-deep derived chain on a 2 MiB
//! stack.

use std::cell::Cell;
use std::rc::Rc;

use stateloom_atom::{AtomScope, Derived, atom, derived};
use stateloom_core::runtime_stats;

use crate::on_small_stack;

#[test]
fn a_100k_deep_derived_chain_works_on_a_2_mib_stack() {
    const DEPTH: i64 = 100_000;
    let (first, seen, mounted, leaked) = on_small_stack(|| {
        let head = atom(0_i64);
        let mut tail: Derived<i64> = derived(move |get| get.get(head) + 1);
        for _ in 1..DEPTH {
            let prev = tail;
            tail = derived(move |get| get.get(prev) + 1);
        }
        let before = runtime_stats();
        let scope = AtomScope::new();
        // Cold: nothing resolved or computed yet, so this creates and computes every level.
        let first = scope.get(tail);
        let seen = Rc::new(Cell::new(0));
        let out = seen.clone();
        let sub = scope.sub(tail, move |v| out.set(*v));
        let mounted = scope.is_mounted(head);
        scope.set(head, 1);
        scope.set(head, 2);
        sub.unsubscribe();
        assert!(!scope.is_mounted(head));
        scope.dispose();
        let leaked = runtime_stats().nodes - before.nodes;
        (first, seen.get(), mounted, leaked)
    });
    assert_eq!(first, DEPTH);
    assert_eq!(seen, DEPTH + 2);
    assert!(mounted, "subscribing to the tail mounts the whole chain");
    assert_eq!(leaked, 0);
}
