//! Integration tests of stateloom-store, through the public API only.

mod equality;
mod history;
#[cfg(feature = "tracing")]
mod logger;
mod middleware;
mod persist;
mod scope;
mod selectors;
mod store;

use std::cell::RefCell;
use std::fmt::Display;
use std::rc::Rc;

/// A shared, cloneable event log, snapshotted one line per entry.
#[derive(Clone, Default)]
pub(crate) struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub(crate) fn push(&self, line: impl Display) {
        self.0.borrow_mut().push(line.to_string());
    }

    /// Returns the lines logged so far, one per line, and clears the log.
    pub(crate) fn take(&self) -> String {
        std::mem::take(&mut *self.0.borrow_mut()).join("\n")
    }
}

/// The state most tests use: a counter with a label.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Counter {
    pub(crate) count: i64,
    pub(crate) label: String,
}
