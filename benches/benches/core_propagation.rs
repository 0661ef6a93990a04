//! Propagation benches: the kairo and cellx workloads for every library (see
//! `stateloom_benches::workloads`), and StateLoom's own signal micro-benches.

use std::cell::Cell;
use std::hint::black_box;
use std::process::ExitCode;
use std::rc::Rc;

use criterion::Criterion;
use stateloom_core::{effect, signal};

fn signal_get_set(c: &mut Criterion) {
    let mut group = c.benchmark_group("signal");
    let s = signal(0_i64);
    group.bench_function("get", |b| b.iter(|| black_box(s.get())));
    let mut n = 0;
    group.bench_function("set", |b| {
        b.iter(|| {
            n += 1;
            s.set(black_box(n));
        })
    });
    assert_eq!(s.get(), n, "the last write is visible");

    let head = signal(0_i64);
    let tail = stateloom_benches::chain(head, 10);
    let seen = Rc::new(Cell::new(0));
    let out = seen.clone();
    let _effect = effect(move || out.set(tail.get()));
    let mut v = 0;
    group.bench_function("set_chain10_effect", |b| {
        b.iter(|| {
            v += 1;
            head.set(black_box(v));
        })
    });
    assert_eq!(seen.get(), v + 10, "the effect saw the last write");
    group.finish();
}

fn main() -> ExitCode {
    let groups = stateloom_benches::workloads::propagation_groups();
    stateloom_benches::harness::main(&groups, signal_get_set)
}
