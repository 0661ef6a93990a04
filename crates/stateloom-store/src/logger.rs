//! The `logger` middleware: one `tracing` event per write, with its action and a compact diff.

mod diff;

use std::borrow::Cow;
use std::fmt;

use crate::middleware::{Api, Middleware, Next};
use crate::write::Write;

/// Emits one `tracing` event per write that reaches it, at `INFO` level with target
/// `stateloom_store::logger`, carrying the store's name, the action name (`"anonymous"` if
/// the write has none) and a compact diff of the state.
///
/// [`Logger::new`] diffs the `{:#?}` output of the state line by line and shows each
/// changed line as `field: old → new`. [`Logger::json`] (feature `serde`) diffs the JSON
/// form and shows each changed path, as `todos[1].done: false → true`. A write that did not
/// commit (dropped or delayed further in) is logged with the diff `(not committed)`; a write
/// the store skipped because it left the state equal is not logged at all.
///
/// Put the logger outermost to see every write as the application made it.
///
/// # Examples
/// ```
/// use stateloom_store::{Logger, Store};
///
/// #[derive(Clone, Debug, PartialEq)]
/// #[allow(dead_code)]
/// struct Counter { count: i32, label: &'static str }
///
/// let store = Store::builder(Counter { count: 0, label: "clicks" })
///     .middleware(Logger::new("counter"))
///     .build();
/// // Emits: INFO stateloom_store::logger: set_state store=counter action=increment diff=count: 0 → 1
/// store.named("increment").update(|s| s.count += 1);
/// # assert_eq!(store.get_state().count, 1);
/// ```
pub struct Logger<S> {
    name: Cow<'static, str>,
    diff: fn(&S, &S) -> String,
}

impl<S: fmt::Debug> Logger<S> {
    /// A logger for the store named `name`, diffing the state's `Debug` output.
    ///
    /// # Examples
    /// See [`Logger`].
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self::with_diff(name, diff::debug_diff::<S>)
    }
}

#[cfg(feature = "serde")]
impl<S: serde::Serialize> Logger<S> {
    /// A logger for the store named `name`, diffing the state's JSON form by path.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{Logger, Store};
    ///
    /// #[derive(Clone, PartialEq, serde::Serialize)]
    /// struct Todo { title: String, done: bool }
    ///
    /// let store = Store::builder(vec![Todo { title: "milk".into(), done: false }])
    ///     .middleware(Logger::json("todos"))
    ///     .build();
    /// // Emits: ... action=toggle diff=[0].done: false → true
    /// store.named("toggle").update(|t| t[0].done = true);
    /// ```
    pub fn json(name: impl Into<Cow<'static, str>>) -> Self {
        Self::with_diff(name, diff::json_diff::<S>)
    }
}

impl<S> Logger<S> {
    /// A logger with a diff function of your own, `diff(old, new)`.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{Logger, Store};
    ///
    /// let logger = Logger::with_diff("total", |old: &u64, new: &u64| format!("{:+}", *new as i64 - *old as i64));
    /// let store = Store::builder(10_u64).middleware(logger).build();
    /// store.set_state(7); // Emits: ... diff=-3
    /// ```
    pub fn with_diff(name: impl Into<Cow<'static, str>>, diff: fn(&S, &S) -> String) -> Self {
        Self {
            name: name.into(),
            diff,
        }
    }
}

impl<S: Clone + 'static> Middleware<S> for Logger<S> {
    fn on_set(&self, api: &Api<S>, next: Next<S>, write: Write<S>) {
        let action = write.action().unwrap_or("anonymous").to_owned();
        let before = api.get_state();
        let store = api.store();
        let (version, reached) = (store.version(), store.reached());
        next.run(write);
        let diff = if store.version() != version {
            api.with(|after| (self.diff)(&before, after))
        } else if store.reached() != reached {
            // It reached the state and was skipped as equal: nothing happened to log.
            return;
        } else {
            "(not committed)".to_owned()
        };
        tracing::info!(
            target: "stateloom_store::logger",
            store = %self.name,
            action = %action,
            diff = %diff,
            "set_state"
        );
    }
}

impl<S> fmt::Debug for Logger<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger").field("name", &self.name).finish()
    }
}
