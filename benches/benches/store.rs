//! Store benches: `set_state` with one listener, many selector listeners on different fields,
//! and debounced persistence, with a raw core signal for comparison where it applies.

use std::cell::Cell;
use std::hint::black_box;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use criterion::Criterion;
use stateloom_core::signal;
use stateloom_store::{FnCodec, MemoryStorage, Persist, Store};

const SETS: u64 = 100_000;
const FIELDS: usize = 1_000;
const UPDATES: u64 = 1_000;

/// A small state, as a typical counter store holds.
#[derive(Clone, PartialEq)]
struct Counter {
    count: u64,
    step: u64,
}

/// 100k `set_state` calls with one listener (Zustand 5: 7.7 ms). Every write changes the
/// state: the store starts on a count no write uses (Zustand's starts on -1), and a run ends
/// on a count the next run does not begin with, so none is skipped as equal.
fn set_state_100k(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_set_state_100k");
    let store = Store::new(Counter {
        count: u64::MAX,
        step: 1,
    });
    let calls = Rc::new(Cell::new(0_u64));
    let seen = calls.clone();
    let _sub = store.subscribe(move |new, _old| seen.set(seen.get() + new.step));
    let run = |store: &Store<Counter>| {
        for n in 0..SETS {
            store.set_state(Counter {
                count: black_box(n),
                step: 1,
            });
        }
    };
    run(&store);
    assert_eq!(calls.get(), SETS, "the listener saw every write");
    group.bench_function("stateloom", |b| b.iter(|| run(&store)));

    let raw = signal(0_u64);
    let raw_calls = Rc::new(Cell::new(0_u64));
    let seen = raw_calls.clone();
    let _raw_sub = raw.subscribe(move |_| seen.set(seen.get() + 1));
    let run_raw = || {
        for n in 1..=SETS {
            raw.set(black_box(raw.get_untracked() + n));
        }
    };
    run_raw();
    assert_eq!(raw_calls.get(), SETS, "the subscriber saw every write");
    group.bench_function("core_signal", |b| b.iter(run_raw));
    group.finish();
}

/// 1,000 selector listeners, each on a different field, and 1,000 updates of one field
/// (Zustand 5 with `subscribeWithSelector`: 379 ms).
fn selectors_1000(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_selectors_1000");
    let store = Store::new(vec![0_u64; FIELDS]);
    let fired = Rc::new(Cell::new(0_u64));
    let subs: Vec<_> = (0..FIELDS)
        .map(|i| {
            let fired = fired.clone();
            store.subscribe_selector(move |s| s[i], move |_, _| fired.set(fired.get() + 1))
        })
        .collect();
    let run = |store: &Store<Vec<u64>>| {
        for _ in 0..UPDATES {
            store.update(|s| s[0] += 1);
        }
    };
    run(&store);
    assert_eq!(fired.get(), UPDATES, "only the listener of field 0 fires");
    group.bench_function("stateloom", |b| b.iter(|| run(&store)));
    group.finish();
    drop(subs);
}

/// Writes with a debounced `persist` in memory: most writes only mark the state dirty.
fn persist_debounced(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_persist_debounced");
    let codec = FnCodec::new(
        |s: &Counter| format!("{} {}", s.count, s.step).into_bytes(),
        |b: &[u8]| {
            let text = std::str::from_utf8(b).map_err(|e| e.to_string())?;
            let (count, step) = text.split_once(' ').ok_or("missing space")?;
            Ok(Counter {
                count: count.parse().map_err(|e| format!("{e}"))?,
                step: step.parse().map_err(|e| format!("{e}"))?,
            })
        },
    );
    let persist = Persist::builder("counter", MemoryStorage::new(), codec)
        .debounce(Duration::from_millis(5))
        .build();
    let store = Store::builder(Counter { count: 0, step: 1 })
        .middleware(persist.clone())
        .build();
    let run = |store: &Store<Counter>| {
        for _ in 0..UPDATES {
            store.update(|s| s.count += 1);
        }
        persist.flush().expect("memory storage does not fail");
    };
    run(&store);
    assert!(
        persist.save_count() >= 2,
        "the first write and the flush save"
    );
    assert_eq!(store.get_state().count, UPDATES);
    group.bench_function("stateloom", |b| b.iter(|| run(&store)));
    group.finish();
}

fn benches(c: &mut Criterion) {
    set_state_100k(c);
    selectors_1000(c);
    persist_debounced(c);
}

fn main() -> ExitCode {
    stateloom_benches::harness::main(&[], benches)
}
