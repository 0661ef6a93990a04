//! Integration tests of stateloom-core, through the public API only.

mod alloc;
mod batching;
mod depth;
mod disposal;
mod failures;
mod graph;
mod memory;
mod model;
mod ordering;
mod ownership;
mod reentrant;
mod scope;
mod subscriptions;
mod writes;

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

/// Runs `f` on a fresh thread with a 2 MiB stack (a fresh runtime too) and returns its value.
pub(crate) fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn test thread")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// How many cases a proptest runs: `default`, or `PROPTEST_CASES` when set (for a long
/// one-off run), and only a few under Miri, where every case is interpreted.
pub(crate) fn cases(default: u32) -> u32 {
    if cfg!(miri) {
        return 4;
    }
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "<non-string panic>".to_string()
    }
}
