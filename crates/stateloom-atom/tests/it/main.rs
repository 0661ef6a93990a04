//! Integration tests of stateloom-atom, through the public API only.

mod atoms;
mod batching;
mod cache;
mod depth;
mod family;
mod jotai_store;
mod model;
mod mount;
mod mount_context;
mod removal;
mod scopes;

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

/// Runs `f` on a fresh thread with a 2 MiB stack (a fresh runtime and registry too) and
/// returns its value.
pub(crate) fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn test thread")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
}
