//! Atom benches: the overhead of atoms over raw core signals and computeds, propagation
//! through base → derived → subscriber, a 1,000-wide fan-out, and family lookup and creation
//! (with the default aHash hasher and with Fx, in the same group).
//! Reference (Jotai 3 vanilla store in Node): 100k sets through base → derived → subscriber
//! 469 ms; one write to 1,000 subscribed derived atoms 3.6 ms; family lookup of 10k ids
//! 0.41 ms; family create of 10k ids 3.1 ms.

use std::cell::Cell;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use stateloom_atom::{
    Atom, AtomFamily, AtomScope, FxBuildHasher, atom, atom_family, atom_family_with_hasher, derived,
};
use stateloom_core::{computed, signal};

const SETS: i64 = 100_000;
const FANOUT: usize = 1_000;
const IDS: u64 = 10_000;

/// `get`, `set` and `subscribe` + one notifying `set` on an atom in the default scope, next
/// to the same operations on a core signal and computed.
fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("atom_overhead");

    let s = signal(1_i64);
    group.bench_function("core_signal_get", |b| b.iter(|| black_box(s.get())));
    let a = atom(1_i64);
    assert_eq!(a.get(), 1);
    group.bench_function("atom_get", |b| b.iter(|| black_box(a.get())));

    let cs = signal(1_i64);
    let cc = computed(move || cs.get() * 2);
    assert_eq!(cc.get(), 2);
    group.bench_function("core_computed_get", |b| b.iter(|| black_box(cc.get())));
    let da = atom(1_i64);
    let d = derived(move |get| get.get(da) * 2);
    assert_eq!(d.get(), 2);
    group.bench_function("derived_get", |b| b.iter(|| black_box(d.get())));

    // Counters start at the current values, so the checks hold when a filter skips a bench.
    let mut n = s.get();
    group.bench_function("core_signal_set", |b| {
        b.iter(|| {
            n += 1;
            s.set(black_box(n));
        })
    });
    assert_eq!(s.get(), n);
    let mut m = a.get();
    group.bench_function("atom_set", |b| {
        b.iter(|| {
            m += 1;
            a.set(black_box(m));
        })
    });
    assert_eq!(a.get(), m);

    // Subscribe, one write that notifies, unsubscribe.
    let seen = Rc::new(Cell::new(s.get()));
    let out = seen.clone();
    group.bench_function("core_signal_subscribe", |b| {
        b.iter(|| {
            let out = out.clone();
            let sub = s.subscribe(move |v| out.set(*v));
            s.set(s.get_untracked() + 1);
            sub.unsubscribe();
        })
    });
    assert_eq!(seen.get(), s.get());
    seen.set(a.get());
    let out = seen.clone();
    group.bench_function("atom_subscribe", |b| {
        b.iter(|| {
            let out = out.clone();
            let sub = a.subscribe(move |v| out.set(*v));
            a.set(a.get() + 1);
            sub.unsubscribe();
        })
    });
    assert_eq!(seen.get(), a.get());
    group.finish();
}

/// 100k sets of a base atom read by a derived atom with one subscriber (Jotai: 469 ms).
fn base_derived_sub(c: &mut Criterion) {
    let mut group = c.benchmark_group("atom_base_derived_sub_100k");
    let scope = AtomScope::new();
    let base = atom(0_i64);
    let plus_one = derived(move |get| get.get(base) + 1);
    let seen = Rc::new(Cell::new(0_i64));
    let out = seen.clone();
    let _sub = scope.sub(plus_one, move |v| out.set(out.get() + v));
    let mut next = 0_i64;
    let mut run = || {
        for _ in 0..SETS {
            next += 1;
            scope.set(base, black_box(next));
        }
    };
    run();
    assert_eq!(
        seen.get(),
        (2..=SETS + 1).sum::<i64>(),
        "every set reached the subscriber"
    );
    group.bench_function("stateloom", |b| b.iter(&mut run));
    group.finish();
}

/// One write to a base atom read by 1,000 derived atoms, each with a subscriber (Jotai: 3.6 ms).
fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("atom_fanout_1000");
    let scope = AtomScope::new();
    let base = atom(0_i64);
    let calls = Rc::new(Cell::new(0_u64));
    let subs: Vec<_> = (0..FANOUT as i64)
        .map(|i| {
            let d = derived(move |get| get.get(base) + i);
            let calls = calls.clone();
            scope.sub(d, move |_| calls.set(calls.get() + 1))
        })
        .collect();
    let mut next = 0_i64;
    let mut run = || {
        next += 1;
        scope.set(base, black_box(next));
    };
    run();
    assert_eq!(calls.get(), FANOUT as u64, "every subscriber ran once");
    group.bench_function("stateloom", |b| b.iter(&mut run));
    drop(subs);
    group.finish();
}

/// Looking up 10k existing family members with the default hasher (`stateloom`, aHash with
/// random keys) and with Fx (`stateloom_fx`) (Jotai: 0.41 ms).
fn family_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("atom_family_lookup_10k");
    lookup_with(&mut group, "stateloom", atom_family(|id: &u64| atom(*id)));
    let fx = atom_family_with_hasher(FxBuildHasher, |id: &u64| atom(*id));
    lookup_with(&mut group, "stateloom_fx", fx);
    group.finish();
}

fn lookup_with<S: BuildHasher>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    family: AtomFamily<u64, Atom<u64>, S>,
) {
    let members: Vec<_> = (0..IDS).map(|id| family.get(&id)).collect();
    let run = || {
        let mut last = None;
        for id in 0..IDS {
            last = Some(family.get(black_box(&id)));
        }
        last
    };
    assert_eq!(
        run(),
        members.last().copied(),
        "lookups return the memoized atoms"
    );
    group.bench_function(name, |b| b.iter(run));
    family.clear();
}

/// Creating 10k family members with each hasher, as [`family_lookup`]; the family is cleared
/// outside the timed region (Jotai: 3.1 ms).
fn family_create(c: &mut Criterion) {
    let mut group = c.benchmark_group("atom_family_create_10k");
    create_with(&mut group, "stateloom", atom_family(|id: &u64| atom(*id)));
    let fx = atom_family_with_hasher(FxBuildHasher, |id: &u64| atom(*id));
    create_with(&mut group, "stateloom_fx", fx);
    group.finish();
}

fn create_with<S: BuildHasher>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    family: AtomFamily<u64, Atom<u64>, S>,
) {
    let create = || {
        for id in 0..IDS {
            black_box(family.get(black_box(&id)));
        }
    };
    create();
    assert_eq!(family.len(), IDS as usize);
    assert_eq!(family.get(&7).get(), 7);
    family.clear();
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                create();
                total += start.elapsed();
                family.clear();
            }
            total
        })
    });
}

fn benches(c: &mut Criterion) {
    overhead(c);
    base_derived_sub(c);
    fanout(c);
    family_lookup(c);
    family_create(c);
}

fn main() -> ExitCode {
    stateloom_benches::harness::main(&[], benches)
}
