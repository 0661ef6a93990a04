//! Time as the client sees it, so tests can move it by hand.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock: the time since some fixed start. Clients measure call timeouts and
/// catch-up waits with it.
///
/// # Examples
/// ```
/// use stateloom_worker::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// clock.advance(std::time::Duration::from_millis(5));
/// assert_eq!(clock.now(), std::time::Duration::from_millis(5));
/// ```
pub trait Clock: Send + Sync {
    /// The time since the clock's start.
    fn now(&self) -> Duration;
}

/// The real clock ([`Instant`]).
///
/// # Examples
/// ```
/// use stateloom_worker::{Clock, SystemClock};
///
/// let clock = SystemClock::new();
/// assert!(clock.now() <= clock.now());
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
}

/// A clock that moves only when told to; clones share the time. For tests of timeouts.
///
/// # Examples
/// See [`Clock`].
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at zero.
    ///
    /// # Examples
    /// See [`Clock`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    ///
    /// # Examples
    /// See [`Clock`].
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}
