//! [`AsyncResult`]: the state of an asynchronous value, and [`Stamp`], the logical clock that
//! orders results.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A point on the logical clock that orders results: each call to [`Stamp::next`] returns a
/// later stamp than every call before it, on any thread.
///
/// A query stamps a result with the moment its request *started*, so a result is "newer"
/// than a mutation only when it was fetched after the mutation finished. Tests never depend
/// on wall-clock races.
///
/// # Examples
/// ```
/// use stateloom_optimistic::Stamp;
///
/// let a = Stamp::next();
/// let b = Stamp::next();
/// assert!(a < b);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Stamp(u64);

static CLOCK: AtomicU64 = AtomicU64::new(1);

impl Stamp {
    /// The earliest stamp, older than every stamp [`next`](Self::next) returns.
    pub const ZERO: Stamp = Stamp(0);

    /// Returns a stamp later than every stamp returned before.
    ///
    /// # Examples
    /// See [`Stamp`].
    pub fn next() -> Stamp {
        Stamp(CLOCK.fetch_add(1, Ordering::Relaxed))
    }

    /// The stamp's position on the clock.
    ///
    /// # Examples
    /// ```
    /// use stateloom_optimistic::Stamp;
    /// assert_eq!(Stamp::ZERO.get(), 0);
    /// ```
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}", self.0)
    }
}

/// The state of an asynchronous value: not there yet, there, or failed, each possibly
/// `waiting` for a newer result.
///
/// - `Initial`: nothing has arrived yet.
/// - `Success`: a value, with the [`Stamp`] that says how recent it is.
/// - `Failure`: an error, keeping the last success (`previous`) so a screen can keep showing
///   it next to the error.
///
/// `waiting` is part of equality: `Success(1)` and `Success(1)` while refreshing are
/// different states, so readers are told when a refresh starts and ends. The stamp is not:
/// a refetch that returns the same value is not a change.
///
/// # Examples
/// ```
/// use stateloom_optimistic::AsyncResult;
///
/// let loading: AsyncResult<i32, String> = AsyncResult::initial(true);
/// assert!(loading.is_waiting() && loading.value().is_none());
///
/// let done = AsyncResult::<i32, String>::success(3);
/// let failed = done.clone().into_failure("offline".to_string());
/// assert_eq!(failed.value(), Some(&3)); // the previous success is kept
/// assert_eq!(failed.error(), Some(&"offline".to_string()));
///
/// let label = match &failed {
///     AsyncResult::Initial { .. } => "loading".to_string(),
///     AsyncResult::Success { value, .. } => value.to_string(),
///     AsyncResult::Failure { error, .. } => format!("error: {error}"),
/// };
/// assert_eq!(label, "error: offline");
/// ```
#[derive(Clone)]
pub enum AsyncResult<T, E> {
    /// No result yet.
    Initial {
        /// Whether a request is running.
        waiting: bool,
    },
    /// A value.
    Success {
        /// The value.
        value: T,
        /// How recent the value is: for a query, when its request started.
        stamp: Stamp,
        /// Whether a newer request is running.
        waiting: bool,
    },
    /// A failure, keeping the last success.
    Failure {
        /// The error.
        error: E,
        /// The last success before the failure, with its stamp.
        previous: Option<(T, Stamp)>,
        /// When the failed request started.
        stamp: Stamp,
        /// Whether a newer request is running.
        waiting: bool,
    },
}

impl<T, E> AsyncResult<T, E> {
    /// `Initial`, waiting or not.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// assert!(!AsyncResult::<(), ()>::initial(false).is_waiting());
    /// ```
    pub fn initial(waiting: bool) -> Self {
        AsyncResult::Initial { waiting }
    }

    /// A success stamped now, not waiting.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// assert_eq!(AsyncResult::<_, ()>::success(1).value(), Some(&1));
    /// ```
    pub fn success(value: T) -> Self {
        Self::success_at(value, Stamp::next())
    }

    /// A success with a given stamp, not waiting.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::{AsyncResult, Stamp};
    /// let stamp = Stamp::next();
    /// assert_eq!(AsyncResult::<_, ()>::success_at(1, stamp).stamp(), Some(stamp));
    /// ```
    pub fn success_at(value: T, stamp: Stamp) -> Self {
        AsyncResult::Success {
            value,
            stamp,
            waiting: false,
        }
    }

    /// A failure stamped now, with no previous success.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// let r = AsyncResult::<i32, _>::failure("boom");
    /// assert_eq!((r.error(), r.value()), (Some(&"boom"), None));
    /// ```
    pub fn failure(error: E) -> Self {
        AsyncResult::Failure {
            error,
            previous: None,
            stamp: Stamp::next(),
            waiting: false,
        }
    }

    /// Turns this result into a failure stamped now that keeps the last success: this one if
    /// it is a success, or the one a failure kept.
    ///
    /// # Examples
    /// See [`AsyncResult`].
    pub fn into_failure(self, error: E) -> Self {
        self.into_failure_at(error, Stamp::next())
    }

    /// As [`into_failure`](Self::into_failure), with a given stamp.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::{AsyncResult, Stamp};
    /// let at = Stamp::next();
    /// let r = AsyncResult::<i32, &str>::success(1).into_failure_at("x", at);
    /// assert_eq!(r.stamp(), Some(at));
    /// ```
    pub fn into_failure_at(self, error: E, stamp: Stamp) -> Self {
        let previous = match self {
            AsyncResult::Initial { .. } => None,
            AsyncResult::Success { value, stamp, .. } => Some((value, stamp)),
            AsyncResult::Failure { previous, .. } => previous,
        };
        AsyncResult::Failure {
            error,
            previous,
            stamp,
            waiting: false,
        }
    }

    /// Turns this result into the outcome of a request that started at `stamp`: a success, or
    /// a failure keeping the last success.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::{AsyncResult, Stamp};
    /// let prev = AsyncResult::<i32, &str>::success(1);
    /// let next = prev.settle(Err("down"), Stamp::next());
    /// assert_eq!(next.value(), Some(&1));
    /// ```
    pub fn settle(self, outcome: Result<T, E>, stamp: Stamp) -> Self {
        match outcome {
            Ok(value) => Self::success_at(value, stamp),
            Err(error) => self.into_failure_at(error, stamp),
        }
    }

    /// Whether a request is running.
    ///
    /// # Examples
    /// See [`AsyncResult`].
    pub fn is_waiting(&self) -> bool {
        match self {
            AsyncResult::Initial { waiting }
            | AsyncResult::Success { waiting, .. }
            | AsyncResult::Failure { waiting, .. } => *waiting,
        }
    }

    /// This result with `waiting` set as given.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// let r = AsyncResult::<_, ()>::success(1).with_waiting(true);
    /// assert!(r.is_waiting());
    /// ```
    #[must_use]
    pub fn with_waiting(mut self, now: bool) -> Self {
        match &mut self {
            AsyncResult::Initial { waiting }
            | AsyncResult::Success { waiting, .. }
            | AsyncResult::Failure { waiting, .. } => *waiting = now,
        }
        self
    }

    /// Whether this is `Initial`.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// assert!(AsyncResult::<(), ()>::initial(true).is_initial());
    /// ```
    pub fn is_initial(&self) -> bool {
        matches!(self, AsyncResult::Initial { .. })
    }

    /// Whether this is a `Success`.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// assert!(AsyncResult::<_, ()>::success(1).is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        matches!(self, AsyncResult::Success { .. })
    }

    /// Whether this is a `Failure`.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// assert!(AsyncResult::<(), _>::failure(1).is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        matches!(self, AsyncResult::Failure { .. })
    }

    /// The value to show: a success's value, or the success a failure kept.
    ///
    /// # Examples
    /// See [`AsyncResult`].
    pub fn value(&self) -> Option<&T> {
        match self {
            AsyncResult::Initial { .. } => None,
            AsyncResult::Success { value, .. } => Some(value),
            AsyncResult::Failure { previous, .. } => previous.as_ref().map(|(v, _)| v),
        }
    }

    /// The error of a failure.
    ///
    /// # Examples
    /// See [`AsyncResult`].
    pub fn error(&self) -> Option<&E> {
        match self {
            AsyncResult::Failure { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The stamp of a success or a failure.
    ///
    /// # Examples
    /// See [`AsyncResult::success_at`].
    pub fn stamp(&self) -> Option<Stamp> {
        match self {
            AsyncResult::Initial { .. } => None,
            AsyncResult::Success { stamp, .. } | AsyncResult::Failure { stamp, .. } => Some(*stamp),
        }
    }

    /// A result whose request is running: `Initial` when there is nothing to show yet,
    /// otherwise this result kept visible with `waiting` set (stale-while-revalidate).
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// let r = AsyncResult::<_, ()>::success(1).waiting_from();
    /// assert_eq!((r.value(), r.is_waiting()), (Some(&1), true));
    /// ```
    #[must_use]
    pub fn waiting_from(self) -> Self {
        self.with_waiting(true)
    }

    /// Maps a success's value (and a failure's kept success), keeping stamps and `waiting`.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// let r = AsyncResult::<_, ()>::success(vec![1, 2]).map(|v| v.len());
    /// assert_eq!(r.value(), Some(&2));
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> AsyncResult<U, E> {
        match self {
            AsyncResult::Initial { waiting } => AsyncResult::Initial { waiting },
            AsyncResult::Success {
                value,
                stamp,
                waiting,
            } => AsyncResult::Success {
                value: f(value),
                stamp,
                waiting,
            },
            AsyncResult::Failure {
                error,
                previous,
                stamp,
                waiting,
            } => AsyncResult::Failure {
                error,
                previous: previous.map(|(v, s)| (f(v), s)),
                stamp,
                waiting,
            },
        }
    }

    /// Maps a failure's error.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// let r = AsyncResult::<i32, _>::failure(404).map_err(|code| format!("http {code}"));
    /// assert_eq!(r.error().map(String::as_str), Some("http 404"));
    /// ```
    pub fn map_err<F>(self, f: impl FnOnce(E) -> F) -> AsyncResult<T, F> {
        match self {
            AsyncResult::Initial { waiting } => AsyncResult::Initial { waiting },
            AsyncResult::Success {
                value,
                stamp,
                waiting,
            } => AsyncResult::Success {
                value,
                stamp,
                waiting,
            },
            AsyncResult::Failure {
                error,
                previous,
                stamp,
                waiting,
            } => AsyncResult::Failure {
                error: f(error),
                previous,
                stamp,
                waiting,
            },
        }
    }

    /// Borrows the value and error.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// let r = AsyncResult::<String, ()>::success("a".into());
    /// assert_eq!(r.as_ref().value(), Some(&&"a".to_string()));
    /// ```
    pub fn as_ref(&self) -> AsyncResult<&T, &E> {
        match self {
            AsyncResult::Initial { waiting } => AsyncResult::Initial { waiting: *waiting },
            AsyncResult::Success {
                value,
                stamp,
                waiting,
            } => AsyncResult::Success {
                value,
                stamp: *stamp,
                waiting: *waiting,
            },
            AsyncResult::Failure {
                error,
                previous,
                stamp,
                waiting,
            } => AsyncResult::Failure {
                error,
                previous: previous.as_ref().map(|(v, s)| (v, *s)),
                stamp: *stamp,
                waiting: *waiting,
            },
        }
    }

    /// Calls one of three functions by state: `waiting` for `Initial` and for any result that
    /// is waiting (a spinner), `success` or `failure` otherwise.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_optimistic::AsyncResult;
    /// let show = |r: &AsyncResult<i32, &str>| {
    ///     r.match_with_waiting(|| "…".to_string(), |v| v.to_string(), |e| e.to_string())
    /// };
    /// assert_eq!(show(&AsyncResult::initial(false)), "…");
    /// assert_eq!(show(&AsyncResult::success(2)), "2");
    /// assert_eq!(show(&AsyncResult::success(2).with_waiting(true)), "…");
    /// ```
    pub fn match_with_waiting<R>(
        &self,
        waiting: impl FnOnce() -> R,
        success: impl FnOnce(&T) -> R,
        failure: impl FnOnce(&E) -> R,
    ) -> R {
        match self {
            _ if self.is_waiting() => waiting(),
            AsyncResult::Initial { .. } => waiting(),
            AsyncResult::Success { value, .. } => success(value),
            AsyncResult::Failure { error, .. } => failure(error),
        }
    }
}

impl<T: PartialEq, E: PartialEq> PartialEq for AsyncResult<T, E> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (AsyncResult::Initial { waiting: a }, AsyncResult::Initial { waiting: b }) => a == b,
            (
                AsyncResult::Success {
                    value: a,
                    waiting: wa,
                    ..
                },
                AsyncResult::Success {
                    value: b,
                    waiting: wb,
                    ..
                },
            ) => wa == wb && a == b,
            (
                AsyncResult::Failure {
                    error: a,
                    previous: pa,
                    waiting: wa,
                    ..
                },
                AsyncResult::Failure {
                    error: b,
                    previous: pb,
                    waiting: wb,
                    ..
                },
            ) => wa == wb && a == b && pa.as_ref().map(|(v, _)| v) == pb.as_ref().map(|(v, _)| v),
            _ => false,
        }
    }
}

impl<T: fmt::Debug, E: fmt::Debug> fmt::Debug for AsyncResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiting = if self.is_waiting() { ", waiting" } else { "" };
        match self {
            AsyncResult::Initial { .. } => {
                write!(f, "Initial{{{}}}", waiting.trim_start_matches(", "))
            }
            AsyncResult::Success { value, .. } => write!(f, "Success({value:?}{waiting})"),
            AsyncResult::Failure {
                error, previous, ..
            } => match previous {
                Some((value, _)) => write!(f, "Failure({error:?}, previous {value:?}{waiting})"),
                None => write!(f, "Failure({error:?}{waiting})"),
            },
        }
    }
}

impl<T, E> Default for AsyncResult<T, E> {
    fn default() -> Self {
        AsyncResult::Initial { waiting: false }
    }
}

impl<T, E> From<Result<T, E>> for AsyncResult<T, E> {
    fn from(result: Result<T, E>) -> Self {
        match result {
            Ok(value) => Self::success(value),
            Err(error) => Self::failure(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_is_part_of_equality_and_the_stamp_is_not() {
        let a = AsyncResult::<i32, ()>::success(1);
        let b = AsyncResult::<i32, ()>::success(1);
        assert_ne!(a.stamp(), b.stamp());
        assert_eq!(a, b);
        assert_ne!(a.clone(), a.with_waiting(true));
    }

    #[test]
    fn a_failure_inherits_the_success_an_earlier_failure_kept() {
        let first = AsyncResult::<i32, &str>::success(1).into_failure("a");
        let second = first.into_failure("b");
        assert_eq!(second.value(), Some(&1));
        assert_eq!(second.error(), Some(&"b"));
    }

    #[test]
    fn debug_names_the_state() {
        let r = AsyncResult::<i32, &str>::success(1)
            .into_failure("x")
            .with_waiting(true);
        assert_eq!(format!("{r:?}"), "Failure(\"x\", previous 1, waiting)");
        assert_eq!(
            format!("{:?}", AsyncResult::<(), ()>::initial(true)),
            "Initial{waiting}"
        );
    }
}
