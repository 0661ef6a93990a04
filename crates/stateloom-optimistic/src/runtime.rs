//! Where futures run and what time it is: the [`Spawner`] and [`Clock`] of this thread.
//!
//! Queries and mutations hand their futures to the thread's spawner, and idle timers sleep on
//! the thread's clock. By default the spawner is a [`LocalPool`] of this thread, driven by
//! [`run_until_stalled`], and the clock is the [`SystemClock`]. Tests install a
//! [`ManualClock`] and move time by hand; a tokio application installs the spawner and clock
//! of the `tokio` feature.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures::executor::{LocalPool, LocalSpawner};
use futures::future::{AbortHandle, LocalBoxFuture};
use futures::task::{LocalSpawnExt, noop_waker_ref};

/// Runs the futures that queries, mutations and timers start.
///
/// Implemented for `futures`' [`LocalSpawner`]; the `tokio` feature adds
/// [`TokioSpawner`](crate::TokioSpawner). A spawner must poll what it is given at least once
/// after `spawn` returns, not inside it.
///
/// # Examples
/// ```
/// use futures::executor::LocalPool;
/// use stateloom_optimistic::set_spawner;
///
/// let mut pool = LocalPool::new();
/// set_spawner(pool.spawner());
/// let query = stateloom_optimistic::query(|_| async {
///     futures::pending!(); // not ready at once
///     Ok::<_, ()>(7)
/// });
/// assert!(query.get().is_waiting());
/// pool.run_until_stalled();
/// assert_eq!(query.get().value(), Some(&7));
/// ```
pub trait Spawner {
    /// Starts `future`; it runs to completion unless it is dropped.
    fn spawn(&self, future: LocalBoxFuture<'static, ()>);
}

impl Spawner for LocalSpawner {
    fn spawn(&self, future: LocalBoxFuture<'static, ()>) {
        // A pool that was dropped drops the future, which is what cancellation does anyway.
        let _ = self.spawn_local(future);
    }
}

/// The time source of idle timers: a monotonic "now" and a sleep.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stateloom_optimistic::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now(), Duration::from_secs(2));
/// ```
pub trait Clock {
    /// Time since the clock's start.
    fn now(&self) -> Duration;
    /// A future that completes once `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'static, ()>;
}

/// Wall-clock time, sleeping with `futures-timer` (a timer thread; no runtime needed).
///
/// # Examples
/// ```
/// use stateloom_optimistic::{Clock, SystemClock};
/// let clock = SystemClock::new();
/// assert!(clock.now() < std::time::Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A clock starting now.
    ///
    /// # Examples
    /// See [`SystemClock`].
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'static, ()> {
        Box::pin(futures_timer::Delay::new(duration))
    }
}

/// A clock that only moves when told to: [`advance`](Self::advance) wakes every sleep that
/// is due, in deadline order. Clones share the same time.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use futures::executor::LocalPool;
/// use futures::task::LocalSpawnExt;
/// use stateloom_optimistic::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let mut pool = LocalPool::new();
/// let done = std::rc::Rc::new(std::cell::Cell::new(false));
/// let (sleep, flag) = (clock.sleep(Duration::from_secs(5)), done.clone());
/// pool.spawner().spawn_local(async move { sleep.await; flag.set(true) }).unwrap();
/// clock.advance(Duration::from_secs(4));
/// pool.run_until_stalled();
/// assert!(!done.get());
/// clock.advance(Duration::from_secs(1));
/// pool.run_until_stalled();
/// assert!(done.get());
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    inner: Rc<ManualInner>,
}

#[derive(Default)]
struct ManualInner {
    now: Cell<Duration>,
    next_id: Cell<u64>,
    /// Pending sleeps by (deadline, creation order).
    sleepers: RefCell<BTreeMap<(Duration, u64), Rc<SleepState>>>,
}

#[derive(Default)]
struct SleepState {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl ManualClock {
    /// A clock at zero.
    ///
    /// # Examples
    /// See [`ManualClock`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `by` and wakes the sleeps that are due.
    ///
    /// # Examples
    /// See [`ManualClock`].
    pub fn advance(&self, by: Duration) {
        let now = self.inner.now.get() + by;
        self.inner.now.set(now);
        let due: Vec<Rc<SleepState>> = {
            let mut sleepers = self.inner.sleepers.borrow_mut();
            let later = sleepers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut *sleepers, later)
                .into_values()
                .collect()
        };
        for sleep in due {
            sleep.fired.set(true);
            let waker = sleep.waker.borrow_mut().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// How many sleeps have not fired yet.
    ///
    /// # Examples
    /// ```
    /// use stateloom_optimistic::{Clock, ManualClock};
    /// let clock = ManualClock::new();
    /// let _sleep = clock.sleep(std::time::Duration::from_secs(1));
    /// assert_eq!(clock.pending_sleeps(), 1);
    /// ```
    pub fn pending_sleeps(&self) -> usize {
        self.inner.sleepers.borrow().len()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        self.inner.now.get()
    }

    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'static, ()> {
        let state = Rc::new(SleepState::default());
        let mut key = None;
        if duration.is_zero() {
            state.fired.set(true);
        } else {
            let id = self.inner.next_id.get();
            self.inner.next_id.set(id + 1);
            let deadline = self.inner.now.get() + duration;
            self.inner
                .sleepers
                .borrow_mut()
                .insert((deadline, id), state.clone());
            key = Some((deadline, id));
        }
        Box::pin(Sleep {
            state,
            clock: Rc::downgrade(&self.inner),
            key,
        })
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .field("pending_sleeps", &self.pending_sleeps())
            .finish()
    }
}

struct Sleep {
    state: Rc<SleepState>,
    clock: std::rc::Weak<ManualInner>,
    key: Option<(Duration, u64)>,
}

impl Drop for Sleep {
    fn drop(&mut self) {
        // A cancelled sleep leaves the clock's list.
        if let (Some(clock), Some(key)) = (self.clock.upgrade(), self.key)
            && let Ok(mut sleepers) = clock.sleepers.try_borrow_mut()
        {
            sleepers.remove(&key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.state.fired.get() {
            return Poll::Ready(());
        }
        *self.state.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

struct Env {
    spawner: RefCell<Option<Rc<dyn Spawner>>>,
    clock: RefCell<Rc<dyn Clock>>,
    pool: RefCell<LocalPool>,
    pool_spawner: LocalSpawner,
}

thread_local! {
    static ENV: Env = {
        let pool = LocalPool::new();
        let pool_spawner = pool.spawner();
        Env {
            spawner: RefCell::new(None),
            clock: RefCell::new(Rc::new(SystemClock::new())),
            pool: RefCell::new(pool),
            pool_spawner,
        }
    };
}

/// Makes `spawner` run this thread's query, mutation and timer futures from now on.
///
/// Futures already started stay where they are.
///
/// # Examples
/// See [`Spawner`].
pub fn set_spawner(spawner: impl Spawner + 'static) {
    ENV.with(|env| *env.spawner.borrow_mut() = Some(Rc::new(spawner)));
}

/// Makes `clock` this thread's clock for idle timers started from now on.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stateloom_optimistic::{ManualClock, QueryBuilder, run_until_stalled, set_clock};
///
/// let clock = ManualClock::new();
/// set_clock(clock.clone());
/// let query = QueryBuilder::new(|_| async {
///     futures::pending!(); // not ready at once
///     Ok::<_, ()>(1)
/// })
/// .time_to_live(Duration::from_secs(30))
/// .build();
/// assert_eq!(query.get().value(), None); // read: a request started
/// run_until_stalled();
/// assert_eq!(query.get().value(), Some(&1));
/// clock.advance(Duration::from_secs(30)); // unused for its time to live
/// run_until_stalled();
/// assert_eq!(query.get().value(), None); // its value was dropped; this read fetches again
/// ```
pub fn set_clock(clock: impl Clock + 'static) {
    ENV.with(|env| *env.clock.borrow_mut() = Rc::new(clock));
}

/// Runs the futures on this thread's built-in pool until none can make progress, and
/// returns whether it ran (it does nothing when called from one of those futures).
///
/// Only the built-in pool: with [`set_spawner`], drive that spawner's executor instead.
///
/// # Examples
/// ```
/// use stateloom_optimistic::{query, run_until_stalled};
///
/// let answer = query(|_| async {
///     futures::pending!(); // not ready at once
///     Ok::<_, ()>(42)
/// });
/// assert!(answer.get().is_waiting());
/// assert!(run_until_stalled());
/// assert_eq!(answer.get().value(), Some(&42));
/// ```
pub fn run_until_stalled() -> bool {
    ENV.with(|env| match env.pool.try_borrow_mut() {
        Ok(mut pool) => {
            pool.run_until_stalled();
            true
        }
        Err(_) => false,
    })
}

/// Destroyed with the thread's other thread-locals: once it is gone, the thread is exiting
/// and clean-up must not call into the kernel.
struct Sentinel;

impl Drop for Sentinel {
    fn drop(&mut self) {}
}

thread_local! {
    static SENTINEL: Sentinel = const { Sentinel };
}

/// Whether this thread is exiting (its thread-locals are being destroyed).
pub(crate) fn tearing_down() -> bool {
    SENTINEL.try_with(|_| ()).is_err()
}

/// Runs clean-up work from a `Drop`: skipped while the thread exits, and a panic in it (user
/// code settling a cancelled call) is contained instead of unwinding out of `drop`.
pub(crate) fn in_drop(work: impl FnOnce()) {
    if tearing_down() || std::thread::panicking() {
        return;
    }
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
}

/// This thread's clock.
pub(crate) fn clock() -> Rc<dyn Clock> {
    ENV.with(|env| env.clock.borrow().clone())
}

/// Spawns `future` on this thread's spawner; dropping the returned task cancels it.
pub(crate) fn spawn(future: impl Future<Output = ()> + 'static) -> Task {
    // Registered after the kernel's thread-locals, so destroyed before them.
    SENTINEL.with(|_| ());
    let (future, handle) = futures::future::abortable(future);
    let future: LocalBoxFuture<'static, ()> = Box::pin(async move {
        // An aborted future just stops; its drop guards do the clean-up.
        let _ = future.await;
    });
    let installed = ENV.with(|env| env.spawner.borrow().clone());
    match installed {
        Some(spawner) => spawner.spawn(future),
        None => ENV.with(|env| {
            let _ = env.pool_spawner.spawn_local(future);
        }),
    }
    Task(handle)
}

/// A spawned future: dropping it cancels the future (it is dropped at its next poll).
pub(crate) struct Task(AbortHandle);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Polls `future` once, here, so work that finishes at once (a cached response, a
/// synchronous mutation) finishes inside the call that started it.
///
/// A pending future is spawned afterwards; spawners poll a new future at least once, so a
/// wake-up sent to the no-op waker in between is not lost.
pub(crate) fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(noop_waker_ref()))
}
