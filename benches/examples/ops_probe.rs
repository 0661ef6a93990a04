//! Instruction-count probes for single operations: each `probe_*` function runs 100,000 of
//! one operation (a core signal `get`/`set`, an atom `get`/`set` in the default scope and in
//! an explicit scope, a core write with one subscriber, a `Store::set_state` with one
//! listener). Count one with callgrind, dividing by 100,000:
//!
//! ```sh
//! cargo build --release -p stateloom-benches --example ops_probe
//! valgrind --tool=callgrind --toggle-collect='ops_probe::probe_atom_get' \
//!     target/release/examples/ops_probe atom_get
//! ```
//!
//! Without an argument it runs every probe once and prints the wall-clock time of 100,000
//! core writes with one subscriber and of 100,000 `set_state` calls, three times. With
//! `disposal` it prints the arenas' capacity while a root of 120,000 nodes is live and after it
//! is disposed. `family_ahash` and `family_fx` run `probe_family`: 100,000 lookups of existing
//! members of a family with the default seeded aHash and with Fx.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;

use stateloom_atom::{
    AtomFamily, AtomScope, FxBuildHasher, atom, atom_family, atom_family_with_hasher,
};
use stateloom_core::signal;
use stateloom_store::Store;

/// Operations per probe.
const N: u64 = 100_000;

/// A small store state, as in `benches/benches/store.rs`.
#[derive(Clone, PartialEq)]
struct Counter {
    count: u64,
    step: u64,
}

#[inline(never)]
fn probe_core_get(s: stateloom_core::Signal<i64>) -> i64 {
    let mut t = 0;
    for _ in 0..N {
        t += black_box(s.get());
    }
    t
}
#[inline(never)]
fn probe_atom_get(a: stateloom_atom::Atom<i64>) -> i64 {
    let mut t = 0;
    for _ in 0..N {
        t += black_box(a.get());
    }
    t
}
#[inline(never)]
fn probe_scope_get(sc: &AtomScope, a: stateloom_atom::Atom<i64>) -> i64 {
    let mut t = 0;
    for _ in 0..N {
        t += black_box(sc.get(a));
    }
    t
}
#[inline(never)]
fn probe_core_set(s: stateloom_core::Signal<i64>) {
    for n in 0..N as i64 {
        s.set(black_box(n));
    }
}
#[inline(never)]
fn probe_atom_set(a: stateloom_atom::Atom<i64>) {
    for n in 0..N as i64 {
        a.set(black_box(n));
    }
}
#[inline(never)]
fn probe_scope_set(sc: &AtomScope, a: stateloom_atom::Atom<i64>) {
    for n in 0..N as i64 {
        sc.set(a, black_box(n));
    }
}
#[inline(never)]
fn probe_core_set_sub(s: stateloom_core::Signal<u64>) {
    for n in 1..=N {
        s.set(black_box(n));
    }
}
#[inline(never)]
fn probe_store_set(store: &Store<Counter>) {
    for n in 0..N {
        store.set_state(Counter {
            count: black_box(n),
            step: 1,
        });
    }
}

/// Looks up 10,000 existing members of `family`, 10 times (100,000 lookups).
#[inline(never)]
fn probe_family<S: std::hash::BuildHasher>(family: &AtomFamily<u64, stateloom_atom::Atom<u64>, S>) {
    for _ in 0..10 {
        for id in 0..10_000_u64 {
            black_box(family.get(black_box(&id)));
        }
    }
}

/// Builds a root of `n` signals, `n` computeds and `n` effects, and prints the arenas'
/// capacity before, during and after it.
fn disposal(n: usize) {
    use stateloom_core::{computed, create_root, effect, runtime_capacity, runtime_stats};
    let before = runtime_capacity();
    let ((), root) = create_root(|| {
        for i in 0..n {
            let s = signal(i as i64);
            let c = computed(move || s.get() * 2);
            effect(move || {
                c.get();
            });
        }
    });
    let during = runtime_capacity();
    let live = runtime_stats();
    root.dispose();
    let after = runtime_capacity();
    eprintln!(
        "capacity before {before:?}; with {} nodes and {} links live {during:?}; after disposal {after:?}",
        live.nodes, live.links
    );
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    if which == "disposal" {
        disposal(40_000);
        return;
    }
    let all = which.is_empty();
    if which == "family_ahash" || which == "family_fx" {
        if which == "family_ahash" {
            let family = atom_family(|id: &u64| atom(*id));
            for id in 0..10_000_u64 {
                let _ = family.get(&id);
            }
            probe_family(&family);
        } else {
            let family = atom_family_with_hasher(FxBuildHasher, |id: &u64| atom(*id));
            for id in 0..10_000_u64 {
                let _ = family.get(&id);
            }
            probe_family(&family);
        }
        return;
    }
    if all || which == "core_get" {
        let s = signal(1_i64);
        assert_eq!(probe_core_get(s), N as i64);
    }
    if all || which == "atom_get" {
        let a = atom(1_i64);
        assert_eq!(probe_atom_get(a), N as i64);
    }
    if all || which == "scope_get" {
        let sc = AtomScope::new();
        let a = atom(1_i64);
        assert_eq!(probe_scope_get(&sc, a), N as i64);
    }
    if all || which == "core_set" {
        let s = signal(-1_i64);
        probe_core_set(s);
        assert_eq!(s.get(), N as i64 - 1);
    }
    if all || which == "atom_set" {
        let a = atom(-1_i64);
        probe_atom_set(a);
        assert_eq!(a.get(), N as i64 - 1);
    }
    if all || which == "scope_set" {
        let sc = AtomScope::new();
        let a = atom(-1_i64);
        probe_scope_set(&sc, a);
        assert_eq!(sc.get(a), N as i64 - 1);
    }
    if all || which == "core_set_sub" {
        let s = signal(0_u64);
        let c = Rc::new(Cell::new(0_u64));
        let c2 = c.clone();
        let _sub = s.subscribe(move |_| c2.set(c2.get() + 1));
        probe_core_set_sub(s);
        assert_eq!(c.get(), N);
    }
    if all || which == "store_set" {
        let store = Store::new(Counter {
            count: u64::MAX,
            step: 1,
        });
        let c = Rc::new(Cell::new(0_u64));
        let c2 = c.clone();
        let _sub = store.subscribe(move |new, _| c2.set(c2.get() + new.step));
        probe_store_set(&store);
        assert_eq!(c.get(), N);
    }
    if all {
        // Wall clock for the write-and-notify path.
        for _ in 0..3 {
            let s = signal(0_u64);
            let c = Rc::new(Cell::new(0_u64));
            let c2 = c.clone();
            let _sub = s.subscribe(move |_| c2.set(c2.get() + 1));
            let t = std::time::Instant::now();
            probe_core_set_sub(s);
            let e = t.elapsed();
            let store = Store::new(Counter {
                count: u64::MAX,
                step: 1,
            });
            let d = Rc::new(Cell::new(0_u64));
            let d2 = d.clone();
            let _sub2 = store.subscribe(move |new, _| d2.set(d2.get() + new.step));
            let t2 = std::time::Instant::now();
            probe_store_set(&store);
            let e2 = t2.elapsed();
            eprintln!(
                "core set+sub 100k: {e:?} ({:.1} ns/op); store set_state 100k: {e2:?} ({:.1} ns/op)",
                e.as_nanos() as f64 / N as f64,
                e2.as_nanos() as f64 / N as f64
            );
        }
    }
}
