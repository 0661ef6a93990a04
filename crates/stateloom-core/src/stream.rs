//! Reactive values as async streams and futures (feature `futures`).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use crate::subscribable::{Subscribable, Subscription};
use crate::untrack;

/// Async views of any [`Subscribable`]: a [`Stream`] of its values and a future of the first
/// value that passes a test. Implemented for every `Subscribable`, trait objects included.
///
/// The graph is single-threaded, so these streams and futures are not `Send`: run them on a
/// local executor (`futures::executor::LocalPool`, tokio's `LocalSet`, a UI event loop), on
/// the thread whose graph holds the value.
///
/// # Examples
/// ```
/// use futures::StreamExt;
/// use futures::executor::LocalPool;
/// use futures::task::LocalSpawnExt;
/// use stateloom_core::{SubscribableExt, signal};
///
/// let count = signal(0);
/// let mut pool = LocalPool::new();
/// let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let out = seen.clone();
/// pool.spawner()
///     .spawn_local(async move {
///         let mut values = count.to_stream();
///         while let Some(v) = values.next().await {
///             out.borrow_mut().push(v);
///             if v == 2 { break }
///         }
///     })
///     .unwrap();
/// pool.run_until_stalled();
/// count.set(1);
/// pool.run_until_stalled();
/// count.set(2);
/// pool.run_until_stalled();
/// assert_eq!(*seen.borrow(), [0, 1, 2]);
///
/// let reached = count.until(|v| *v >= 5);
/// count.set(5);
/// assert_eq!(pool.run_until(reached), 5);
/// ```
pub trait SubscribableExt<T: Clone + 'static>: Subscribable<T> {
    /// A stream of the value: the current one first, then the value after each change.
    ///
    /// The stream holds the latest value, not a queue: when several changes happen between
    /// two polls, it yields only the last. It ends when its subscription stops (the value's
    /// owner was disposed), at its next poll. Dropping the stream unsubscribes.
    ///
    /// # Examples
    /// See [`SubscribableExt`].
    fn to_stream(&self) -> ValueStream<T>;

    /// A future of the first value, the current one included, for which `test` holds.
    ///
    /// # Examples
    /// See [`SubscribableExt`].
    fn until(&self, test: impl FnMut(&T) -> bool + 'static) -> Until<T>;
}

impl<T: Clone + 'static, S: Subscribable<T> + ?Sized> SubscribableExt<T> for S {
    fn to_stream(&self) -> ValueStream<T> {
        let shared = Rc::new(RefCell::new(Latest {
            value: Some(untrack(|| self.get())),
            waker: None,
        }));
        let writer = Rc::clone(&shared);
        let subscription = self.subscribe(Box::new(move |value: &T| {
            let waker = {
                let mut latest = writer.borrow_mut();
                latest.value = Some(value.clone());
                latest.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }));
        ValueStream {
            shared,
            subscription: Some(subscription),
        }
    }

    fn until(&self, mut test: impl FnMut(&T) -> bool + 'static) -> Until<T> {
        let current = untrack(|| self.get());
        if test(&current) {
            return Until {
                shared: Rc::new(RefCell::new(Latest {
                    value: Some(current),
                    waker: None,
                })),
                subscription: None,
            };
        }
        let shared = Rc::new(RefCell::new(Latest {
            value: None,
            waker: None,
        }));
        let writer = Rc::clone(&shared);
        let subscription = self.subscribe(Box::new(move |value: &T| {
            if writer.borrow().value.is_some() || !test(value) {
                return;
            }
            let waker = {
                let mut latest = writer.borrow_mut();
                latest.value = Some(value.clone());
                latest.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }));
        Until {
            shared,
            subscription: Some(subscription),
        }
    }
}

/// The latest value not yet taken, and who waits for it.
struct Latest<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

/// A stream of a reactive value, from [`SubscribableExt::to_stream`].
///
/// # Examples
/// See [`SubscribableExt`].
#[must_use = "a stream does nothing unless polled"]
pub struct ValueStream<T> {
    shared: Rc<RefCell<Latest<T>>>,
    subscription: Option<Subscription>,
}

impl<T> Stream for ValueStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let mut latest = this.shared.borrow_mut();
        if let Some(value) = latest.value.take() {
            return Poll::Ready(Some(value));
        }
        if !this
            .subscription
            .as_ref()
            .is_some_and(Subscription::is_active)
        {
            return Poll::Ready(None);
        }
        latest.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Drop for ValueStream<T> {
    fn drop(&mut self) {
        if let Some(subscription) = self.subscription.take() {
            subscription.unsubscribe();
        }
    }
}

impl<T> std::fmt::Debug for ValueStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueStream").finish_non_exhaustive()
    }
}

/// A future of the first value that passes a test, from [`SubscribableExt::until`].
///
/// It stays pending for good if the value's owner is disposed first.
///
/// # Examples
/// See [`SubscribableExt`].
#[must_use = "a future does nothing unless polled"]
pub struct Until<T> {
    shared: Rc<RefCell<Latest<T>>>,
    subscription: Option<Subscription>,
}

impl<T> Future for Until<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        let value = this.shared.borrow_mut().value.take();
        match value {
            Some(value) => {
                if let Some(subscription) = this.subscription.take() {
                    subscription.unsubscribe();
                }
                Poll::Ready(value)
            }
            None => {
                this.shared.borrow_mut().waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Until<T> {
    fn drop(&mut self) {
        if let Some(subscription) = self.subscription.take() {
            subscription.unsubscribe();
        }
    }
}

impl<T> std::fmt::Debug for Until<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Until").finish_non_exhaustive()
    }
}
