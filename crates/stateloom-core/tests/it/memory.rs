//! Memory: disposal returns every byte, and the per-node costs stay bounded.

use stateloom_core::{Root, computed, create_root, effect, runtime_stats, signal};

use crate::alloc::live_bytes;
use crate::on_small_stack;

/// Builds a root with `n` signals, `n` computeds (one source each) and `n` effects.
fn build(n: usize) -> Root {
    let ((), root) = create_root(|| {
        for i in 0..n {
            let s = signal(i as i64);
            let c = computed(move || s.get() * 2);
            effect(move || {
                c.get();
            });
        }
    });
    root
}

#[test]
fn disposing_a_root_of_100k_nodes_returns_counts_and_bytes_to_baseline() {
    let (counts_equal, bytes) = on_small_stack(|| {
        // Warm up once so the arenas and queues reach their steady capacity.
        build(34_000).dispose();
        let stats = runtime_stats();
        let bytes = live_bytes();
        let root = build(34_000); // 102,000 nodes and 68,000 links
        assert!(runtime_stats().nodes >= stats.nodes + 100_000);
        root.dispose();
        (runtime_stats() == stats, live_bytes() - bytes)
    });
    assert!(
        counts_equal,
        "node and link counts are back to the baseline"
    );
    assert_eq!(bytes, 0, "every byte allocated for the nodes was freed");
}

/// Heap bytes per item for creating `N` items with `make`, on a fresh runtime. `N` is a power
/// of two so the arenas' capacity matches their length exactly.
fn bytes_per(make: impl Fn(usize) + Send + 'static) -> f64 {
    const N: usize = 1 << 16;
    on_small_stack(move || {
        signal(0_i64).dispose(); // creates the runtime; the freed slot is reused below
        let base = live_bytes();
        make(N);
        (live_bytes() - base) as f64 / N as f64
    })
}

#[test]
fn bytes_per_signal_computed_effect_and_link() {
    let per_signal = bytes_per(|n| {
        for i in 0..n {
            let _ = signal(i as i64);
        }
    });
    let per_computed = bytes_per(|n| {
        let s = signal(1_i64);
        let t = signal(2_i64);
        for _ in 0..n {
            // Captures `t` without reading it, so only the link differs from the next case.
            computed(move || {
                let _captured = &t;
                s.get()
            })
            .get();
        }
    });
    let per_computed_two_sources = bytes_per(|n| {
        let s = signal(1_i64);
        let t = signal(2_i64);
        for _ in 0..n {
            computed(move || s.get() + t.get()).get();
        }
    });
    let per_effect = bytes_per(|n| {
        let s = signal(1_i64);
        for _ in 0..n {
            effect(move || {
                s.get();
            });
        }
    });
    let per_link = per_computed_two_sources - per_computed;
    eprintln!(
        "bytes per i64 signal {per_signal:.1}, computed with one source (link included) \
         {per_computed:.1}, effect with one source (link included) {per_effect:.1}, \
         dependency link {per_link:.1}"
    );
    // Bounds a little above today's figures: a layout regression fails here.
    assert!(per_signal <= 160.0, "signal: {per_signal}");
    assert!(per_computed <= 272.0, "computed: {per_computed}");
    assert!(per_effect <= 240.0, "effect: {per_effect}");
    assert!(per_link <= 32.0, "link: {per_link}");
}
