//! Integration tests of stateloom-optimistic, through the public API only.

mod model;
mod mutation;
mod optimistic;
mod query;
#[cfg(feature = "tokio")]
mod tokio;

use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::future::Future;
use std::rc::Rc;

use futures::channel::oneshot;

/// A shared, cloneable event log.
#[derive(Clone, Default)]
pub(crate) struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub(crate) fn push(&self, line: impl Display) {
        self.0.borrow_mut().push(line.to_string());
    }

    /// The lines logged so far, one per line; clears the log.
    pub(crate) fn take(&self) -> String {
        std::mem::take(&mut *self.0.borrow_mut()).join("\n")
    }
}

/// Responses the test hands out by hand: each `wait` is one pending request, answered by
/// `answer(i, ..)` in any order.
pub(crate) struct Pending<T> {
    senders: RefCell<Vec<Option<oneshot::Sender<T>>>>,
}

impl<T: 'static> Pending<T> {
    pub(crate) fn new() -> Rc<Self> {
        Rc::new(Self {
            senders: RefCell::new(Vec::new()),
        })
    }

    /// A future that completes with the value given to `answer` for its index; never, if
    /// the answer is dropped.
    pub(crate) fn wait(&self) -> impl Future<Output = T> + use<T> {
        let (tx, rx) = oneshot::channel();
        self.senders.borrow_mut().push(Some(tx));
        async move {
            match rx.await {
                Ok(value) => value,
                Err(_) => futures::future::pending().await,
            }
        }
    }

    /// How many requests were made.
    pub(crate) fn len(&self) -> usize {
        self.senders.borrow().len()
    }

    /// Answers request `i`; returns whether it was still waiting.
    pub(crate) fn answer(&self, i: usize, value: T) -> bool {
        let sender = self.senders.borrow_mut()[i].take();
        sender.is_some_and(|tx| tx.send(value).is_ok())
    }

    /// Whether request `i` has been dropped (cancelled) before it was answered.
    pub(crate) fn is_dropped(&self, i: usize) -> bool {
        self.senders.borrow()[i]
            .as_ref()
            .is_some_and(oneshot::Sender::is_canceled)
    }
}

/// Sets a flag when dropped: moved into a future, it tells whether the future was dropped.
pub(crate) struct DropFlag(pub(crate) Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// The number of proptest cases: `PROPTEST_CASES` if set, else `default`.
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
