//! Depth: million-node chains on a 2 MiB stack, with no recursion per graph level.

use std::cell::Cell;
use std::rc::Rc;

use stateloom_core::{Computed, computed, create_root, effect, runtime_stats, signal};

use crate::on_small_stack;

#[test]
fn a_million_deep_chain_propagates_a_head_write_to_an_effect_on_the_tail() {
    const DEPTH: i64 = 1_000_000;
    let (seen, nodes, links) = on_small_stack(|| {
        let before = runtime_stats();
        let (seen, root) = create_root(|| {
            let head = signal(0_i64);
            let mut tail: Computed<i64> = computed(move || head.get() + 1);
            tail.get();
            for _ in 1..DEPTH {
                let prev = tail;
                tail = computed(move || prev.get() + 1);
                tail.get(); // read as built: each level's first read is shallow
            }
            let seen = Rc::new(Cell::new(0));
            let out = seen.clone();
            effect(move || out.set(tail.get()));
            assert_eq!(seen.get(), DEPTH);
            head.set(1);
            assert_eq!(seen.get(), DEPTH + 1);
            head.set(2);
            seen.get()
        });
        root.dispose();
        let after = runtime_stats();
        (seen, after.nodes - before.nodes, after.links - before.links)
    });
    assert_eq!(seen, DEPTH + 2);
    assert_eq!((nodes, links), (0, 0), "disposing the chain freed it");
}

#[test]
fn the_cold_first_read_of_a_100k_deep_chain_works_on_a_small_stack() {
    const DEPTH: i64 = 100_000;
    let value = on_small_stack(|| {
        let head = signal(1_i64);
        let mut tail: Computed<i64> = computed(move || head.get() + 1);
        for _ in 1..DEPTH {
            let prev = tail;
            tail = computed(move || prev.get() + 1);
        }
        let first = tail.get(); // nothing computed yet: 100k nested first reads
        head.set(2);
        assert_eq!(tail.get(), first + 1);
        first
    });
    assert_eq!(value, DEPTH + 1);
}

#[test]
fn dropping_a_deep_chain_with_its_thread_does_not_overflow() {
    on_small_stack(|| {
        let head = signal(0_i64);
        let mut tail: Computed<i64> = computed(move || head.get() + 1);
        for _ in 1..200_000 {
            let prev = tail;
            tail = computed(move || prev.get() + 1);
            tail.get();
        }
        // The thread ends with the chain alive: the runtime is dropped with it.
    });
}

#[test]
fn a_long_diamond_ladder_is_checked_without_recursion() {
    // Each level has two computeds that both read both computeds of the level below.
    const LEVELS: usize = 50_000;
    let result = on_small_stack(|| {
        let head = signal(1_i64);
        let mut left: Computed<i64> = computed(move || head.get());
        let mut right: Computed<i64> = computed(move || head.get());
        for _ in 0..LEVELS {
            let (l, r) = (left, right);
            left = computed(move || (l.get() + r.get()) % 1_000_003);
            right = computed(move || (l.get() * 3 + r.get()) % 1_000_003);
            left.get();
            right.get();
        }
        let (top_l, top_r) = (left, right);
        let out = Rc::new(Cell::new(0));
        let o = out.clone();
        effect(move || o.set(top_l.get() + top_r.get()));
        head.set(2);
        let after = out.get();
        // Naive recomputation of the same ladder.
        let (mut l, mut r) = (2_i64, 2_i64);
        for _ in 0..LEVELS {
            (l, r) = ((l + r) % 1_000_003, (l * 3 + r) % 1_000_003);
        }
        (after, l + r)
    });
    assert_eq!(result.0, result.1);
}

#[test]
fn a_wide_fan_out_propagates_and_disposes() {
    let sum = on_small_stack(|| {
        let (total, root) = create_root(|| {
            let head = signal(1_i64);
            let total = Rc::new(Cell::new(0_i64));
            for i in 0..100_000_i64 {
                let t = total.clone();
                effect(move || t.set(t.get() + head.get() * i % 7));
            }
            total.set(0);
            head.set(2);
            total.get()
        });
        root.dispose();
        total
    });
    let expected: i64 = (0..100_000_i64).map(|i| 2 * i % 7).sum();
    assert_eq!(sum, expected);
}
