//! `reactive_graph`: Leptos' reactive core (`reactive_graph` 0.2, feature `effects`), with its
//! effects run by a local executor that the adapter drains synchronously.
//!
//! # How effects are run
//! A Leptos [`Effect`] does not run when a signal changes: `Effect::new` spawns one
//! long-lived task per effect with `any_spawner::Executor::spawn_local`, and a write only
//! wakes that task. Something has to poll it. Here:
//!
//! 1. Once per process the adapter installs `BenchExecutor` as the global `any_spawner`
//!    executor (`Executor::init_custom_executor`). It forwards `spawn_local` (and `spawn`) to a
//!    per-thread [`futures::executor::LocalPool`], an ordinary single-threaded executor that
//!    polls only woken tasks.
//! 2. [`Framework::batch`] runs the writes, then calls `LocalPool::run_until_stalled`, which
//!    polls every woken effect task until none is ready: each effect whose sources changed
//!    checks them (`update_if_necessary`) and re-runs before `batch` returns, inside the timed
//!    region, exactly once per batch, which is what the upstream effect counts expect.
//! 3. [`Framework::root`] drains the pool after building, so each effect's first run (which
//!    Leptos also defers to the executor) is done, and counted, before `root` returns.
//! 4. [`Framework::dispose`] cleans up the owner and drains again: dropping an effect wakes its
//!    task one last time so that it ends and frees what it captured; without the drain the
//!    pool would keep every disposed effect's task alive.
//!
//! No other work is deferred or skipped: memos are pulled on read as usual. The pool's
//! bookkeeping (a `FuturesUnordered` and thread-safe wakers) is the cost any executor adds to
//! a Leptos effect. `RenderEffect` was not used because it too re-runs through
//! `spawn_local`; `ImmediateEffect` runs synchronously but is documented as a special-purpose
//! effect, and `Effect` is what Leptos code uses.
//!
//! # Closures
//! `Memo::new` requires a `Send + Sync` closure, which generic workload code cannot promise
//! (other libraries' handles are `!Send`). The adapter wraps each computed's closure in
//! [`send_wrapper::SendWrapper`], the same wrapper `reactive_graph` itself uses for
//! `LocalStorage`; it costs one thread-id comparison per recompute.

use std::cell::RefCell;
use std::sync::Once;

use ::reactive_graph::computed::Memo;
use ::reactive_graph::effect::Effect;
use ::reactive_graph::owner::Owner;
use ::reactive_graph::prelude::*;
use ::reactive_graph::signal::RwSignal;
use any_spawner::{CustomExecutor, Executor, PinnedFuture, PinnedLocalFuture};
use futures::executor::{LocalPool, LocalSpawner};
use futures::task::LocalSpawn;
use send_wrapper::SendWrapper;

use crate::framework::{Framework, Value};

/// The `reactive_graph` library (Leptos' `reactive_graph` 0.2).
///
/// Signals are [`RwSignal`], computeds [`Memo`] (closure wrapped in a `SendWrapper`, since
/// `Memo::new` wants `Send + Sync`), effects [`Effect`] and a root is an [`Owner`].
///
/// Leptos effects only re-run when an async executor polls their task. This adapter installs
/// a per-thread `futures` `LocalPool` as the `any_spawner` executor and drains it
/// (`run_until_stalled`) at the end of every [`batch`](Framework::batch) (so effects re-run
/// inside the timed region, once per batch), at the end of [`root`](Framework::root) (their
/// first run), and after [`dispose`](Framework::dispose) (so disposed effects' tasks end).
///
/// # Examples
/// ```
/// use stateloom_benches::{Framework, adapters::ReactiveGraph};
///
/// let (s, root) = ReactiveGraph::root(|| ReactiveGraph::signal(1_i64));
/// assert_eq!(ReactiveGraph::get(&s), 1);
/// ReactiveGraph::dispose(root);
/// ```
#[derive(Debug)]
pub enum ReactiveGraph {}

/// The `any_spawner` executor installed by this adapter: a per-thread [`LocalPool`].
#[derive(Debug)]
struct BenchExecutor;

thread_local! {
    static POOL: RefCell<LocalPool> = RefCell::new(LocalPool::new());
    static SPAWNER: LocalSpawner = POOL.with_borrow(LocalPool::spawner);
}

impl CustomExecutor for BenchExecutor {
    fn spawn(&self, fut: PinnedFuture<()>) {
        self.spawn_local(fut);
    }

    fn spawn_local(&self, fut: PinnedLocalFuture<()>) {
        SPAWNER
            .with(|spawner| spawner.spawn_local_obj(fut.into()))
            .expect("the local pool accepts tasks while the thread lives");
    }

    fn poll_local(&self) {
        flush();
    }
}

/// Installs [`BenchExecutor`] as `any_spawner`'s executor, once per process.
fn install_executor() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        Executor::init_custom_executor(BenchExecutor)
            .expect("no other executor was installed in the bench process");
    });
}

/// Polls every ready effect task on this thread until none is ready.
fn flush() {
    POOL.with(|pool| {
        // A flush requested from inside a running effect is left to the outer flush.
        if let Ok(mut pool) = pool.try_borrow_mut() {
            pool.run_until_stalled();
        }
    });
}

impl Framework for ReactiveGraph {
    const NAME: &'static str = "reactive_graph";
    type Signal<T: Value> = RwSignal<T>;
    type Computed<T: Value> = Memo<T>;
    type Root = Owner;

    #[inline]
    fn signal<T: Value>(value: T) -> Self::Signal<T> {
        RwSignal::new(value)
    }

    #[inline]
    fn get<T: Value>(signal: &Self::Signal<T>) -> T {
        signal.get()
    }

    #[inline]
    fn set<T: Value>(signal: &Self::Signal<T>, value: T) {
        signal.set(value);
    }

    #[inline]
    fn computed<T: Value>(f: impl Fn() -> T + 'static) -> Self::Computed<T> {
        let f = SendWrapper::new(f);
        Memo::new(move |_previous| f())
    }

    #[inline]
    fn read<T: Value>(computed: &Self::Computed<T>) -> T {
        computed.get()
    }

    #[inline]
    fn with<T: Value, R>(computed: &Self::Computed<T>, f: impl FnOnce(&T) -> R) -> R {
        computed.with(f)
    }

    #[inline]
    fn effect(f: impl Fn() + 'static) {
        // The current owner's arena keeps the effect alive until the owner is cleaned up.
        let _ = Effect::new(f);
    }

    #[inline]
    fn batch(f: impl FnOnce()) {
        f();
        flush();
    }

    fn root<R: 'static>(f: impl FnOnce() -> R + 'static) -> (R, Self::Root) {
        install_executor();
        let owner = Owner::new();
        let value = owner.with(f);
        flush();
        (value, owner)
    }

    fn dispose(root: Self::Root) {
        root.cleanup();
        drop(root);
        flush();
    }
}
