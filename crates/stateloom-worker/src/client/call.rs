//! Calls in flight: handles to wait on blocking or as futures, typed results, options.

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::WorkerClient;
use crate::error::{Error, Result};
use crate::message::CallId;

/// Where a call's outcome lands.
#[derive(Default)]
pub(super) struct Slot {
    outcome: RefCell<Option<Result<Value>>>,
    settled: std::cell::Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Slot {
    pub(super) fn settle(&self, outcome: Result<Value>) {
        if self.settled.replace(true) {
            return;
        }
        *self.outcome.borrow_mut() = Some(outcome);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    fn take(&self) -> Option<Result<Value>> {
        self.outcome.borrow_mut().take()
    }
}

/// Options of one call; see [`WorkerClient::call_with`].
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stateloom_worker::CallOptions;
///
/// let quick = CallOptions::new().timeout(Duration::from_millis(100));
/// let patient = CallOptions::new().no_timeout();
/// # let _ = (quick, patient);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CallOptions {
    /// `None`: the client's default; `Some(None)`: no timeout.
    timeout: Option<Option<Duration>>,
}

impl CallOptions {
    /// The client's defaults.
    ///
    /// # Examples
    /// See [`CallOptions`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails the call with [`Error::Timeout`] if it has not settled after `timeout`, the wait
    /// for the state included.
    ///
    /// # Examples
    /// See [`CallOptions`].
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(Some(timeout));
        self
    }

    /// Lets the call wait for ever.
    ///
    /// # Examples
    /// See [`CallOptions`].
    #[must_use]
    pub fn no_timeout(mut self) -> Self {
        self.timeout = Some(None);
        self
    }

    pub(super) fn timeout_or(self, default: Option<Duration>) -> Option<Duration> {
        self.timeout.unwrap_or(default)
    }
}

/// A call in flight, made by [`WorkerClient::call`]. It settles with the method's result (or
/// an error) once the mirror has caught up with it.
///
/// Wait for it with [`wait`](Self::wait) (blocking), `.await` it (on any executor), or check
/// it with [`try_result`](Self::try_result) after pumping the client. Dropping it does not
/// cancel the call; [`cancel`](Self::cancel) does.
///
/// # Examples
/// ```
/// use stateloom_store::Store;
/// use stateloom_worker::{Module, WorkerApp, WorkerClient, memory_pair};
///
/// let (h, t) = memory_pair();
/// let client = WorkerClient::new(t);
/// let app = WorkerApp::builder()
///     .module(Module::new("n", Store::new(1_i64)).method("double", |s, (): ()| {
///         s.update(|n| *n *= 2);
///         s.get_state()
///     }))
///     .build(h);
/// let call = client.call("n", "double", ());
/// assert_eq!(call.try_result(), None); // not answered yet
/// app.pump();
/// client.pump();
/// assert_eq!(call.try_result(), Some(Ok(serde_json::json!(2))));
/// ```
#[must_use = "a call's outcome arrives through its handle"]
pub struct PendingCall {
    id: CallId,
    slot: Rc<Slot>,
    client: WorkerClient,
}

impl PendingCall {
    pub(super) fn new(id: CallId, slot: Rc<Slot>, client: WorkerClient) -> Self {
        Self { id, slot, client }
    }

    /// The call's id, as sent to the host.
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::new(t);
    /// let a = client.call("m", "f", ());
    /// let b = client.call("m", "f", ());
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn id(&self) -> CallId {
        self.id
    }

    /// The outcome, if the call has settled; `None` while it is pending. The outcome is
    /// handed out once. This does not pump the client.
    ///
    /// # Examples
    /// See [`PendingCall`].
    pub fn try_result(&self) -> Option<Result<Value>> {
        self.slot.take()
    }

    /// Whether the call has settled.
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::new(t);
    /// let call = client.call("m", "f", ());
    /// assert!(!call.is_settled());
    /// call.cancel();
    /// assert!(call.is_settled());
    /// ```
    pub fn is_settled(&self) -> bool {
        self.slot.settled.get()
    }

    /// Cancels the call: it fails with [`Error::Cancelled`], and a late result is ignored.
    /// The host may still run the method; its state changes reach the mirror as usual.
    ///
    /// # Examples
    /// See [`is_settled`](Self::is_settled).
    pub fn cancel(&self) {
        self.client.inner.settle(self.id, Err(Error::Cancelled));
    }

    /// Blocks, handling the client's messages, until the call settles.
    ///
    /// # Errors
    /// [`Error::Remote`] if the method failed; [`Error::Timeout`], [`Error::Cancelled`],
    /// [`Error::Disposed`], [`Error::AuthorityChanged`] or [`Error::Transport`] if it did not
    /// settle with a result.
    ///
    /// # Examples
    /// See [`spawn_worker`](crate::spawn_worker).
    pub fn wait(self) -> Result<Value> {
        let slot = Rc::clone(&self.slot);
        self.client.block_until(|| slot.settled.get(), None);
        self.slot.take().unwrap_or_else(|| {
            Err(Error::UnexpectedResult(
                "the outcome was already taken".into(),
            ))
        })
    }

    /// The same call, with its result read as `R`.
    ///
    /// # Examples
    /// See [`TypedCall`].
    pub fn typed<R: DeserializeOwned>(self) -> TypedCall<R> {
        TypedCall {
            call: self,
            result: PhantomData,
        }
    }
}

impl Future for PendingCall {
    type Output = Result<Value>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Value>> {
        let this = self.get_mut();
        if let Some(outcome) = this.slot.take() {
            return Poll::Ready(outcome);
        }
        *this.slot.waker.borrow_mut() = Some(cx.waker().clone());
        // Register before pumping, so a message that arrives in between still wakes us.
        this.client.inner.inbox.register(cx.waker());
        this.client.pump();
        if let Some(outcome) = this.slot.take() {
            return Poll::Ready(outcome);
        }
        if let Some(at) = this.client.inner.next_deadline() {
            let now = this.client.inner.clock.now();
            crate::timer::wake_after(at.saturating_sub(now), cx.waker().clone());
        }
        Poll::Pending
    }
}

impl std::fmt::Debug for PendingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCall")
            .field("id", &self.id)
            .field("settled", &self.slot.settled.get())
            .finish()
    }
}

/// A [`PendingCall`] whose result is read as `R`: what typed module proxies return.
///
/// # Examples
/// ```
/// use stateloom_store::Store;
/// use stateloom_worker::{Module, WorkerApp, WorkerClient, spawn_worker};
///
/// let (t, _thread) = spawn_worker(|t| {
///     WorkerApp::builder()
///         .module(Module::new("n", Store::new(20_i64)).method("half", |s, (): ()| s.get_state() / 2))
///         .build(t)
/// }).unwrap();
/// let client = WorkerClient::new(t);
/// let half: i64 = futures::executor::block_on(client.call("n", "half", ()).typed::<i64>()).unwrap();
/// assert_eq!(half, 10);
/// ```
#[must_use = "a call's outcome arrives through its handle"]
pub struct TypedCall<R> {
    call: PendingCall,
    result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> TypedCall<R> {
    /// The untyped call.
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::new(t);
    /// let call = client.call("m", "f", ()).typed::<u8>();
    /// call.call().cancel();
    /// ```
    pub fn call(&self) -> &PendingCall {
        &self.call
    }

    /// Blocks until the call settles; see [`PendingCall::wait`].
    ///
    /// # Errors
    /// As [`PendingCall::wait`], and [`Error::UnexpectedResult`] if the result does not read
    /// as `R`.
    ///
    /// # Examples
    /// See [`worker_module!`](crate::worker_module).
    pub fn wait(self) -> Result<R> {
        self.call.wait().and_then(decode)
    }

    /// The outcome if settled; see [`PendingCall::try_result`].
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::new(t);
    /// let call = client.call("m", "f", ()).typed::<u8>();
    /// assert!(call.try_result().is_none());
    /// ```
    pub fn try_result(&self) -> Option<Result<R>> {
        self.call.try_result().map(|r| r.and_then(decode))
    }
}

fn decode<R: DeserializeOwned>(value: Value) -> Result<R> {
    R::deserialize(value).map_err(|e| Error::UnexpectedResult(e.to_string()))
}

impl<R: DeserializeOwned> Future for TypedCall<R> {
    type Output = Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        let this = self.get_mut();
        Pin::new(&mut this.call)
            .poll(cx)
            .map(|r| r.and_then(decode))
    }
}

impl<R> std::fmt::Debug for TypedCall<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.call.fmt(f)
    }
}

/// The future of [`WorkerClient::ready`].
///
/// # Examples
/// See [`WorkerClient::ready`].
#[must_use = "futures do nothing unless polled"]
pub struct WhenReady {
    client: WorkerClient,
}

impl WhenReady {
    pub(super) fn new(client: WorkerClient) -> Self {
        Self { client }
    }
}

impl Future for WhenReady {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let client = &self.client;
        client.inner.inbox.register(cx.waker());
        client.pump();
        if client.inner.disposed.get() {
            Poll::Ready(Err(Error::Disposed))
        } else if client.inner.ready.get() {
            Poll::Ready(Ok(()))
        } else {
            if let Some(at) = client.inner.next_deadline() {
                let now = client.inner.clock.now();
                crate::timer::wake_after(at.saturating_sub(now), cx.waker().clone());
            }
            Poll::Pending
        }
    }
}

impl std::fmt::Debug for WhenReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhenReady").finish_non_exhaustive()
    }
}
