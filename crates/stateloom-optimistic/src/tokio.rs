//! The tokio integration (feature `tokio`): run futures on a `LocalSet` and sleep on tokio's
//! timer, whose paused time tests can move.

use std::time::Duration;

use futures::future::LocalBoxFuture;

use crate::runtime::{Clock, Spawner};

/// Spawns onto the current tokio [`LocalSet`](::tokio::task::LocalSet) with
/// [`spawn_local`](::tokio::task::spawn_local).
///
/// # Examples
/// ```
/// use stateloom_optimistic::{TokioClock, TokioSpawner, query, set_clock, set_spawner};
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// let local = tokio::task::LocalSet::new();
/// local.block_on(&runtime, async {
///     set_spawner(TokioSpawner);
///     set_clock(TokioClock::new());
///     let answer = query(|_| async {
///         tokio::task::yield_now().await;
///         Ok::<_, ()>(42)
///     });
///     assert!(answer.get().is_waiting());
///     tokio::task::yield_now().await;
///     tokio::task::yield_now().await;
///     assert_eq!(answer.get().value(), Some(&42));
/// });
/// ```
///
/// # Panics
/// `spawn` panics outside a `LocalSet`, as `spawn_local` does.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSpawner;

impl Spawner for TokioSpawner {
    fn spawn(&self, future: LocalBoxFuture<'static, ()>) {
        drop(::tokio::task::spawn_local(future));
    }
}

/// tokio's clock: `now` from [`tokio::time::Instant`], sleeps from [`tokio::time::sleep`]
/// (so `tokio::time::pause` and `advance` move it in tests).
///
/// # Examples
/// See [`TokioSpawner`].
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: ::tokio::time::Instant,
}

impl TokioClock {
    /// A clock starting now.
    ///
    /// # Examples
    /// See [`TokioSpawner`].
    ///
    /// # Panics
    /// Outside a tokio runtime with time enabled.
    pub fn new() -> Self {
        Self {
            start: ::tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'static, ()> {
        Box::pin(::tokio::time::sleep(duration))
    }
}
