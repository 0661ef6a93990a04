//! Memory per node for every library: heap bytes per signal, computed, effect and dependency
//! link, and what stays allocated after disposal, measured with a counting global allocator.
//!
//! Run with `cargo bench -p stateloom-benches --bench core_memory`. Writes
//! `<target>/criterion/stateloom-memory.json` (the contract with `xtask`):
//! `[{"library":"stateloom","signal":..,"computed":..,"effect":..,"link":..,
//! "leaked_per_item":..}, ...]`, bytes as `f64`, `null` where a figure cannot be measured the
//! same way (all of `baseline`'s: plain values have no nodes), and prints a table.
//!
//! # Method
//! Each figure is measured in its own child process (this binary re-run with
//! [`CASE_ENV`]`=<library>:<quantity>`), on a fresh thread, so no library sees state left by
//! an earlier measurement (`alien-signals` and `reactive_graph` keep process-global arenas).
//! The thread first builds and disposes a tiny graph, so one-time setup (thread-local
//! runtimes, the executor, Sycamore's per-thread root) is not counted. Then it counts the net
//! live heap bytes this thread allocates while creating `M` = 65,535 items and divides by `M`.
//! With the roots, each measurement brings the number of live nodes to a power of two (`N` =
//! 65,536 or a multiple), so arenas whose slot arrays double end up exactly full: each item
//! pays for one slot, the amortised cost of that growth, and not for a half-empty array.
//!
//! - `signal`: `M` `i64` signals under a root.
//! - `computed`: `M` computeds `s_i` (one captured signal, read once so it links), minus
//!   `link`: the node alone.
//! - `effect`: `M` effects each reading one signal, including that one link.
//! - `link`: computeds capturing the same two signals `(a_i, b_i)` and reading both, minus the
//!   same computeds reading only `a_i`, per computed: the cost of one more dependency edge.
//! - `leaked_per_item`: a root with `N` signals, `N` computeds and `N` effects is built and
//!   disposed; what is still allocated afterwards, divided by the `3 N` nodes. Arenas that
//!   keep their slot arrays for reuse count here too; `alien-signals` never frees anything.
#![allow(unsafe_code)] // The counting allocator below is the only unsafe code in the benches.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::process::{Command, ExitCode, Stdio};

use stateloom_benches::Framework;
use stateloom_benches::adapters::{AlienSignals, ReactiveGraph, Stateloom, Sycamore};

/// The environment variable that makes this binary measure one figure and print it.
const CASE_ENV: &str = "STATELOOM_MEMORY_CASE";

/// Live nodes per measurement: a power of two, so containers that double end up exactly full.
const N: usize = 65_536;

/// Items per measurement: one root (or two roots and twice as many nodes) brings the live
/// nodes to `N` (or `2 N`).
const M: usize = N - 1;

/// The quantities a child can measure; `computed`, `effect` and `link` are derived from them.
const QUANTITIES: [&str; 6] = [
    "signal",
    "computed_one",
    "computed_wide",
    "computed_two",
    "effect",
    "leak",
];

/// The libraries measured, in table order; `baseline` has no nodes to measure.
const LIBRARIES: [&str; 5] = [
    Stateloom::NAME,
    AlienSignals::NAME,
    Sycamore::NAME,
    ReactiveGraph::NAME,
    "baseline",
];

thread_local! {
    /// Net bytes this thread has allocated and not freed. `const` and without `Drop`, so it
    /// can be touched from inside the allocator at any point of the thread's life.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

/// The system allocator, counting live bytes per thread.
struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so it
// upholds `GlobalAlloc`'s contract exactly as `System` does; the counting only touches a
// thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's `layout` contract is passed on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` and `layout` come from this allocator, `new_size` from the caller,
        // all under `GlobalAlloc::realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Builds and disposes a tiny graph so that per-thread setup is not measured.
fn warm_up<F: Framework>() {
    let ((), root) = F::root(|| {
        let s = F::signal(0_i64);
        let c = F::computed(move || F::get(&s));
        F::read(&c);
        F::effect(move || {
            F::read(&c);
        });
        F::batch(|| F::set(&s, 1));
    });
    F::dispose(root);
}

/// `N` (or `2 N`) source signals under their own root, created before counting starts.
fn sources<F: Framework>(n: usize) -> (Vec<F::Signal<i64>>, F::Root) {
    F::root(move || (0..n as i64).map(F::signal).collect())
}

/// Net bytes per item allocated by `build`, which returns the roots to dispose afterwards.
fn per_item<R>(items: usize, build: impl FnOnce() -> R, dispose: impl FnOnce(R)) -> f64 {
    let before = live();
    let roots = build();
    let after = live();
    dispose(roots);
    (after - before) as f64 / items as f64
}

/// Measures one quantity for library `F` on the current thread.
fn measure<F: Framework>(quantity: &str) -> f64 {
    warm_up::<F>();
    // Source handles are returned from the measured root and dropped only after counting.
    let dispose = |(signals, a, b): (Vec<F::Signal<i64>>, F::Root, F::Root)| {
        F::dispose(b);
        F::dispose(a);
        drop(signals);
    };
    match quantity {
        "signal" => per_item(
            M,
            || {
                F::root(|| {
                    for i in 0..M as i64 {
                        black_box(F::signal(i));
                    }
                })
                .1
            },
            F::dispose,
        ),
        "computed_one" | "effect" => {
            let effect = quantity == "effect";
            let (signals, a) = sources::<F>(M);
            let build = move || {
                let (signals, b) = F::root(move || {
                    for &s in &signals {
                        if effect {
                            F::effect(move || {
                                black_box(F::get(&s));
                            });
                        } else {
                            let c = F::computed(move || F::get(&s));
                            black_box(F::read(&c));
                        }
                    }
                    signals
                });
                (signals, a, b)
            };
            per_item(M, build, dispose)
        }
        "computed_wide" | "computed_two" => {
            let both = quantity == "computed_two";
            let (signals, a) = sources::<F>(2 * M);
            let build = move || {
                let (signals, b) = F::root(move || {
                    for pair in signals.chunks_exact(2) {
                        let (x, y) = (pair[0], pair[1]);
                        // Both closures capture `x` and `y`; only one reads `y`.
                        let c = F::computed(move || {
                            if both {
                                F::get(&x) + F::get(&y)
                            } else {
                                black_box(&y);
                                F::get(&x)
                            }
                        });
                        black_box(F::read(&c));
                    }
                    signals
                });
                (signals, a, b)
            };
            per_item(M, build, dispose)
        }
        "leak" => {
            let before = live();
            let ((), root) = F::root(|| {
                for i in 0..N as i64 {
                    let s = F::signal(i);
                    let c = F::computed(move || F::get(&s) + 1);
                    F::effect(move || {
                        black_box(F::read(&c));
                    });
                }
            });
            F::dispose(root);
            (live() - before) as f64 / (3 * N) as f64
        }
        other => panic!("unknown quantity {other:?}"),
    }
}

/// Child mode: measures `<library>:<quantity>` on a fresh thread and prints the figure.
fn run_case(spec: &str) -> ExitCode {
    let Some((library, quantity)) = spec.split_once(':') else {
        eprintln!("{CASE_ENV} must be <library>:<quantity>");
        return ExitCode::from(2);
    };
    let (library, quantity) = (library.to_owned(), quantity.to_owned());
    let figure = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || match library.as_str() {
            "stateloom" => Some(measure::<Stateloom>(&quantity)),
            "alien_signals" => Some(measure::<AlienSignals>(&quantity)),
            "sycamore" => Some(measure::<Sycamore>(&quantity)),
            "reactive_graph" => Some(measure::<ReactiveGraph>(&quantity)),
            _ => None,
        })
        .expect("spawn the measuring thread")
        .join();
    match figure {
        Ok(Some(bytes)) => {
            print_line(&format!("{bytes}"));
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::from(3),
        Err(_) => ExitCode::FAILURE,
    }
}

/// Runs one child and parses its figure; `None` if it cannot be measured.
fn child(library: &str, quantity: &str) -> Option<f64> {
    if library == "baseline" {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let output = Command::new(exe)
        .env(CASE_ENV, format!("{library}:{quantity}"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!("{library}:{quantity} failed: {}", output.status);
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

#[allow(clippy::print_stdout)] // A bench binary reports on stdout, like criterion.
fn print_line(line: &str) {
    println!("{line}");
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn cell(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |x| format!("{x:.1}"))
}

fn main() -> ExitCode {
    if let Ok(spec) = std::env::var(CASE_ENV) {
        return run_case(&spec);
    }
    if std::env::args().any(|a| a == "--list") {
        return ExitCode::SUCCESS;
    }
    let mut rows = Vec::new();
    print_line(&format!(
        "heap bytes per item ({M} items, {N} live nodes):\n{:<16}{:>10}{:>10}{:>18}{:>10}{:>18}",
        "library", "signal", "computed", "effect (1 link)", "link", "leaked_per_item"
    ));
    for library in LIBRARIES {
        let [signal, one, wide, two, effect, leak] = QUANTITIES.map(|q| child(library, q));
        let link = two.zip(wide).map(|(two, wide)| two - wide);
        let computed = one.zip(link).map(|(one, link)| one - link);
        let figures = [signal, computed, effect, link, leak].map(|x| x.map(round));
        print_line(&format!(
            "{library:<16}{:>10}{:>10}{:>18}{:>10}{:>18}",
            cell(figures[0]),
            cell(figures[1]),
            cell(figures[2]),
            cell(figures[3]),
            cell(figures[4]),
        ));
        // Written by hand to keep the documented key order.
        let fields = ["signal", "computed", "effect", "link", "leaked_per_item"]
            .iter()
            .zip(figures)
            .map(|(key, x)| format!("\"{key}\":{}", serde_json::json!(x)));
        let fields: Vec<String> = fields.collect();
        rows.push(format!(
            "  {{\"library\":{},{}}}",
            serde_json::json!(library),
            fields.join(",")
        ));
    }
    let dir = stateloom_benches::harness::target_dir().join("criterion");
    let path = dir.join("stateloom-memory.json");
    let json = format!("[\n{}\n]\n", rows.join(",\n"));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
        eprintln!("could not write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    print_line(&format!("wrote {}", path.display()));
    ExitCode::SUCCESS
}
