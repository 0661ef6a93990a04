//! The client: a mirror of the host's published state in this thread's reactive graph, and
//! calls to the host's methods.

mod call;
mod protocol;

pub use call::{CallOptions, PendingCall, TypedCall, WhenReady};

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stateloom_core::{
    Computed, Root, Signal, Subscription, computed_with_equals, create_detached_root, signal,
};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::message::{CallId, Epoch, Message, SyncRequest, Version};
use crate::transport::{InboxReceiver, Transport};
use call::Slot;
use protocol::{Pending, SyncState};

/// Why the client's mirror refused a state message. The client reports the conflict through
/// [`ClientBuilder::on_conflict`] and recovers by itself: after any reason but
/// `StaleMessage` it asks the host for a snapshot.
///
/// # Examples
/// ```
/// use stateloom_worker::ConflictReason;
///
/// assert_eq!(ConflictReason::VersionGap.as_str(), "version-gap");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConflictReason {
    /// A message older than (or as old as) the mirror arrived: a duplicate or a late one.
    StaleMessage,
    /// A patch arrived before any snapshot.
    MissingSnapshot,
    /// A patch skipped a version: a message was lost.
    VersionGap,
    /// A patch could not be applied to the mirror (or a snapshot was not an object).
    PatchApplyFailed,
    /// A patch came from another host lifetime (a restarted host).
    NewEpoch,
}

impl ConflictReason {
    /// The reason's wire name, as CoSystem spells it.
    ///
    /// # Examples
    /// See [`ConflictReason`].
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictReason::StaleMessage => "stale-message",
            ConflictReason::MissingSnapshot => "missing-snapshot",
            ConflictReason::VersionGap => "version-gap",
            ConflictReason::PatchApplyFailed => "patch-apply-failed",
            ConflictReason::NewEpoch => "new-epoch",
        }
    }
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state message the mirror refused; see [`ConflictReason`].
///
/// # Examples
/// See [`ClientBuilder::on_conflict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Why.
    pub reason: ConflictReason,
    /// The mirror's version.
    pub current_version: Version,
    /// The message's version.
    pub incoming_version: Version,
    /// More about it, such as the patch error.
    pub detail: Option<String>,
}

/// Options of [`WorkerClient::watch_with`].
///
/// # Examples
/// See [`WorkerClient::watch_with`].
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions<T> {
    /// When two selections are the same: the listener is not called.
    pub equals: fn(&T, &T) -> bool,
    /// Call the listener once at once, with the current selection.
    pub immediate: bool,
}

impl<T: PartialEq> Default for WatchOptions<T> {
    fn default() -> Self {
        Self {
            equals: T::eq,
            immediate: false,
        }
    }
}

/// Builds a [`WorkerClient`] with options.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stateloom_worker::{WorkerClient, memory_pair};
///
/// let (_host, transport) = memory_pair();
/// let client = WorkerClient::builder(transport)
///     .timeout(Some(Duration::from_secs(5)))
///     .catch_up(Duration::from_millis(50))
///     .on_conflict(|conflict| eprintln!("{}", conflict.reason))
///     .build();
/// assert!(!client.is_ready());
/// ```
#[must_use = "a builder does nothing until `build`"]
pub struct ClientBuilder {
    transport: Box<dyn Transport>,
    options: Options,
    clock: Arc<dyn Clock>,
    on_conflict: Option<ConflictHandler>,
}

/// See [`ClientBuilder::on_conflict`].
type ConflictHandler = Box<dyn Fn(&Conflict)>;

#[derive(Debug, Clone, Copy)]
struct Options {
    timeout: Option<Duration>,
    catch_up: Duration,
    resync_retry: Duration,
}

impl ClientBuilder {
    /// The default timeout of a call; `None` for none. 30 seconds unless set.
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// How long a result that arrived before its state waits for the state message before
    /// the client asks for a snapshot. 250 ms unless set.
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn catch_up(mut self, wait: Duration) -> Self {
        self.options.catch_up = wait;
        self
    }

    /// How long the client waits for the answer to a snapshot request before asking again
    /// (the request or its answer may have been lost). One second unless set.
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::builder(t)
    ///     .resync_retry(std::time::Duration::from_millis(100))
    ///     .build();
    /// # drop(client);
    /// ```
    pub fn resync_retry(mut self, wait: Duration) -> Self {
        self.options.resync_retry = wait;
        self
    }

    /// The clock timeouts are measured with; [`SystemClock`] unless set.
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let clock = stateloom_worker::ManualClock::new();
    /// let client = stateloom_worker::WorkerClient::builder(t).clock(clock.clone()).build();
    /// # drop(client);
    /// ```
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Calls `f` with every [`Conflict`]. A panic in `f` is caught, so it cannot break the
    /// protocol.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use stateloom_worker::{Message, Payload, StateUpdate, Transport, WorkerClient, memory_pair};
    ///
    /// let (host, transport) = memory_pair();
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// let client = WorkerClient::builder(transport)
    ///     .on_conflict(move |c| s.borrow_mut().push(c.reason.as_str()))
    ///     .build();
    /// let patch = serde_json::from_value(serde_json::json!([])).unwrap();
    /// host.post(Message::State(StateUpdate { epoch: 1, version: 1, payload: Payload::Patch(patch), sync_id: None })).unwrap();
    /// client.pump();
    /// assert_eq!(*seen.borrow(), ["missing-snapshot"]);
    /// ```
    pub fn on_conflict(mut self, f: impl Fn(&Conflict) + 'static) -> Self {
        self.on_conflict = Some(Box::new(f));
        self
    }

    /// Builds the client: it subscribes to the transport and asks the host for a snapshot.
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn build(self) -> WorkerClient {
        let (inbox, receiver) = InboxReceiver::new();
        self.transport.subscribe(inbox);
        let (revision, root) = create_detached_root(|| signal(0_u64));
        let client = WorkerClient {
            inner: Rc::new(ClientInner {
                transport: RefCell::new(Some(self.transport)),
                inbox: receiver,
                mirror: Rc::new(RefCell::new(Value::Object(serde_json::Map::new()))),
                revision,
                root: RefCell::new(Some(root)),
                epoch: Cell::new(None),
                version: Cell::new(0),
                covered: Cell::new(None),
                ready: Cell::new(false),
                pending: RefCell::new(HashMap::default()),
                next_id: Cell::new(0),
                sync: RefCell::new(None),
                on_conflict: self.on_conflict,
                clock: self.clock,
                options: self.options,
                disposed: Cell::new(false),
                closed: Cell::new(false),
                panic: RefCell::new(None),
            }),
        };
        client.inner.request_sync(0);
        client
    }
}

/// A client of a [`WorkerApp`](crate::WorkerApp): it mirrors the host's published state in
/// this thread's reactive graph and calls the host's methods.
///
/// The mirror is an object with one entry per published module, holding that module's state
/// as JSON. Read it with [`get_state`](Self::get_state), or derive values from it with
/// [`select`](Self::select) (a core [`Computed`], usable in effects, atoms and UI code) and
/// [`watch`](Self::watch).
///
/// The client handles messages on its own thread: when you [`pump`](Self::pump) it (from
/// your event loop, say), and while you wait for a call, blocking
/// ([`PendingCall::wait`]) or as a future (`call(..).await`, on any executor).
///
/// A call settles only once the mirror has reached the state version the host published after
/// the method ran, so code that runs on the result sees the method's writes. If the result
/// arrives first, the client waits [`catch_up`](ClientBuilder::catch_up) for the state, then
/// asks for a snapshot. Lost, duplicated, reordered and late state messages are detected with
/// the host's epoch and contiguous versions; the client reports them as [`Conflict`]s and asks
/// for a snapshot by itself, so even a client that never calls catches up (at the host's next
/// change or [heartbeat](crate::WorkerAppBuilder::heartbeat)).
///
/// `WorkerClient` is a cheap `Clone` handle; it is not `Send`, like the graph it feeds.
///
/// # Examples
/// ```
/// use stateloom_core::effect;
/// use stateloom_store::Store;
/// use stateloom_worker::{Module, WorkerApp, WorkerClient, memory_pair};
///
/// let (host_side, client_side) = memory_pair();
/// let client = WorkerClient::new(client_side);
/// let app = WorkerApp::builder()
///     .module(Module::new("counter", Store::new(0_i64)).method("add", |s, n: i64| s.update(move |c| *c += n)))
///     .build(host_side);
///
/// let count = client.select(|state| state["counter"].as_i64());
/// let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let s = seen.clone();
/// effect(move || s.borrow_mut().push(count.get()));
///
/// let call = client.call("counter", "add", 3);
/// app.pump();    // the host answers
/// client.pump(); // the mirror catches up, then the call settles
/// assert!(call.try_result().unwrap().is_ok());
/// // The effect saw the empty mirror, the first snapshot, then the call's change.
/// assert_eq!(*seen.borrow(), [None, Some(0), Some(3)]);
/// ```
#[derive(Clone)]
pub struct WorkerClient {
    inner: Rc<ClientInner>,
}

struct ClientInner {
    /// `None` once disposed.
    transport: RefCell<Option<Box<dyn Transport>>>,
    inbox: InboxReceiver,
    /// The published state. Invariant: an object, changed only together with `revision`.
    mirror: Rc<RefCell<Value>>,
    /// Bumped after each change of the mirror; selectors depend on it.
    revision: Signal<u64>,
    /// Owns `revision` and the selectors.
    root: RefCell<Option<Root>>,
    epoch: Cell<Option<Epoch>>,
    version: Cell<Version>,
    /// The version of the last snapshot applied: older messages were covered by it, and are
    /// dropped without a conflict.
    covered: Cell<Option<Version>>,
    ready: Cell<bool>,
    // Keyed by call ids: hashed with aHash's seeded hasher.
    pending: RefCell<HashMap<CallId, Pending, ahash::RandomState>>,
    next_id: Cell<CallId>,
    /// The outstanding snapshot request.
    sync: RefCell<Option<SyncState>>,
    on_conflict: Option<ConflictHandler>,
    clock: Arc<dyn Clock>,
    options: Options,
    disposed: Cell<bool>,
    /// The transport told us the other side is gone.
    closed: Cell<bool>,
    /// A panic from user code (an effect or selector run by a mirror change), resumed at the
    /// end of the pump that caught it.
    panic: RefCell<Option<Box<dyn std::any::Any + Send>>>,
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        if let Some(root) = self.root.get_mut().take() {
            root.dispose();
        }
    }
}

impl WorkerClient {
    /// A client with default options, over `transport`; see [`builder`](Self::builder).
    ///
    /// # Examples
    /// See [`WorkerClient`].
    pub fn new(transport: impl Transport + 'static) -> Self {
        Self::builder(transport).build()
    }

    /// Starts a client with options.
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn builder(transport: impl Transport + 'static) -> ClientBuilder {
        ClientBuilder {
            transport: Box::new(transport),
            options: Options {
                timeout: Some(Duration::from_secs(30)),
                catch_up: Duration::from_millis(250),
                resync_retry: Duration::from_secs(1),
            },
            clock: Arc::new(SystemClock::new()),
            on_conflict: None,
        }
    }

    /// Handles every message that has arrived, and expired timeouts. Returns how many messages
    /// were handled.
    ///
    /// # Panics
    /// If a core effect or selector run by a mirror change panics; the message is handled in
    /// full first, so the client stays consistent.
    ///
    /// # Examples
    /// See [`WorkerClient`].
    pub fn pump(&self) -> usize {
        let mut handled = 0;
        while let Some(delivery) = self.inner.inbox.try_next() {
            self.inner.handle(delivery);
            handled += 1;
        }
        self.inner.check_timers();
        self.inner.resume_panic();
        handled
    }

    /// Handles at most one message, and expired timeouts: for event loops that spread work
    /// over frames. Returns whether a message was handled.
    ///
    /// # Panics
    /// As [`pump`](Self::pump).
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::new(t);
    /// while client.pump_one() {}
    /// ```
    pub fn pump_one(&self) -> bool {
        let delivery = self.inner.inbox.try_next();
        let handled = delivery.is_some();
        if let Some(delivery) = delivery {
            self.inner.handle(delivery);
        }
        self.inner.check_timers();
        self.inner.resume_panic();
        handled
    }

    /// Whether the first snapshot has arrived.
    ///
    /// # Examples
    /// See [`ready`](Self::ready).
    pub fn is_ready(&self) -> bool {
        self.inner.ready.get()
    }

    /// A future that resolves once the first snapshot has arrived (or fails with
    /// [`Error::Disposed`]). It needs no particular executor.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::Store;
    /// use stateloom_worker::{Module, WorkerApp, WorkerClient, spawn_worker};
    ///
    /// let (transport, thread) = spawn_worker(|t| {
    ///     WorkerApp::builder().module(Module::new("n", Store::new(1))).build(t)
    /// }).unwrap();
    /// let client = WorkerClient::new(transport);
    /// futures::executor::block_on(client.ready()).unwrap();
    /// assert!(client.is_ready());
    /// assert_eq!(client.get_state()["n"], 1);
    /// client.dispose();
    /// thread.join().unwrap();
    /// ```
    pub fn ready(&self) -> WhenReady {
        WhenReady::new(self.clone())
    }

    /// Blocks until the first snapshot has arrived, up to `timeout` (by the client's clock).
    ///
    /// # Errors
    /// [`Error::Timeout`] if it did not arrive in time, [`Error::Disposed`] if the client was
    /// disposed.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_store::Store;
    /// # use stateloom_worker::{Module, WorkerApp, WorkerClient, spawn_worker};
    /// let (transport, _thread) = spawn_worker(|t| {
    ///     WorkerApp::builder().module(Module::new("n", Store::new(1))).build(t)
    /// }).unwrap();
    /// let client = WorkerClient::new(transport);
    /// client.wait_ready(std::time::Duration::from_secs(10)).unwrap();
    /// ```
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = self.inner.clock.now().saturating_add(timeout);
        let inner = &self.inner;
        let done = self.block_until(|| inner.ready.get() || inner.disposed.get(), Some(deadline));
        if self.inner.disposed.get() {
            Err(Error::Disposed)
        } else if done {
            Ok(())
        } else {
            Err(Error::Timeout { after: timeout })
        }
    }

    /// The mirror's version: the host's published version it has reached.
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::new(t);
    /// assert_eq!(client.version(), 0);
    /// ```
    pub fn version(&self) -> Version {
        self.inner.version.get()
    }

    /// The host's epoch, once a snapshot has arrived.
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::new(t);
    /// assert_eq!(client.epoch(), None);
    /// ```
    pub fn epoch(&self) -> Option<Epoch> {
        self.inner.epoch.get()
    }

    /// A copy of the mirrored state, tracked: inside a core computed or effect, it re-runs
    /// when the mirror changes.
    ///
    /// # Examples
    /// See [`WorkerClient`].
    pub fn get_state(&self) -> Value {
        self.with_state(Value::clone)
    }

    /// Calls `f` with the mirrored state, tracked, without copying it.
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::new(t);
    /// assert_eq!(client.with_state(|s| s.as_object().map(|o| o.len())), Some(0));
    /// ```
    pub fn with_state<R>(&self, f: impl FnOnce(&Value) -> R) -> R {
        self.inner.revision.with(|_| ());
        f(&self.inner.mirror.borrow())
    }

    /// The state of module `module`, read as `S`, tracked.
    ///
    /// # Errors
    /// [`Error::UnexpectedResult`] if the module is not in the mirror or its state does not
    /// read as `S`.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_store::Store;
    /// # use stateloom_worker::{Module, WorkerApp, WorkerClient, memory_pair};
    /// let (h, t) = memory_pair();
    /// let client = WorkerClient::new(t);
    /// let app = WorkerApp::builder().module(Module::new("n", Store::new(7_u8))).build(h);
    /// app.pump();
    /// client.pump();
    /// assert_eq!(client.module_state::<u8>("n").unwrap(), 7);
    /// ```
    pub fn module_state<S: DeserializeOwned>(&self, module: &str) -> Result<S> {
        self.with_state(|state| match state.get(module) {
            Some(json) => S::deserialize(json).map_err(|e| Error::UnexpectedResult(e.to_string())),
            None => Err(Error::UnexpectedResult(format!(
                "no module `{module}` in the mirrored state"
            ))),
        })
    }

    /// A selector over the mirror: a core [`Computed`] that recomputes when the mirror changes
    /// and notifies its readers only when its output changes (by `PartialEq`).
    ///
    /// The computed belongs to the client and lives as long as it does.
    ///
    /// # Examples
    /// See [`WorkerClient`].
    pub fn select<T: PartialEq + 'static>(
        &self,
        selector: impl Fn(&Value) -> T + 'static,
    ) -> Computed<T> {
        self.select_with(selector, T::eq)
    }

    /// [`select`](Self::select) with a custom equality.
    ///
    /// # Examples
    /// ```
    /// # let (_h, t) = stateloom_worker::memory_pair();
    /// let client = stateloom_worker::WorkerClient::new(t);
    /// let keys = client.select_with(|s| s.as_object().map_or(0, |o| o.len()), |a, b| a == b);
    /// assert_eq!(keys.get(), 0);
    /// ```
    pub fn select_with<T: 'static>(
        &self,
        selector: impl Fn(&Value) -> T + 'static,
        equals: fn(&T, &T) -> bool,
    ) -> Computed<T> {
        let revision = self.inner.revision;
        let mirror = Rc::clone(&self.inner.mirror);
        let root = self.inner.root.borrow();
        let root = root.as_ref().expect("a live client has its root");
        root.run(|| {
            computed_with_equals(
                move || {
                    revision.with(|_| ());
                    selector(&mirror.borrow())
                },
                equals,
            )
        })
    }

    /// Calls `listener` with the selection each time a mirror change changes it (by
    /// `PartialEq`); see [`watch_with`](Self::watch_with).
    ///
    /// # Examples
    /// See [`watch_with`](Self::watch_with).
    pub fn watch<T: PartialEq + 'static>(
        &self,
        selector: impl Fn(&Value) -> T + 'static,
        listener: impl FnMut(&T) + 'static,
    ) -> Subscription {
        self.watch_with(selector, listener, WatchOptions::default())
    }

    /// Calls `listener` with the selection each time a mirror change changes it, by
    /// `options.equals`; with `options.immediate`, also once now.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use stateloom_store::Store;
    /// use stateloom_worker::{Module, WatchOptions, WorkerApp, WorkerClient, memory_pair};
    ///
    /// let (h, t) = memory_pair();
    /// let client = WorkerClient::new(t);
    /// let store = Store::new(0_i64);
    /// let app = WorkerApp::builder().module(Module::new("n", store.clone())).build(h);
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let s = seen.clone();
    /// // Only the tens digit matters.
    /// let _sub = client.watch_with(
    ///     |state| state["n"].as_i64().unwrap_or(0),
    ///     move |n| s.borrow_mut().push(*n),
    ///     WatchOptions { equals: |a, b| a / 10 == b / 10, immediate: true },
    /// );
    /// for n in [3, 12, 15, 27] {
    ///     store.set_state(n);
    ///     app.pump();
    ///     client.pump();
    /// }
    /// assert_eq!(*seen.borrow(), [0, 12, 27]);
    /// ```
    pub fn watch_with<T: 'static>(
        &self,
        selector: impl Fn(&Value) -> T + 'static,
        mut listener: impl FnMut(&T) + 'static,
        options: WatchOptions<T>,
    ) -> Subscription {
        let selection = self.select_with(selector, options.equals);
        if options.immediate {
            selection.with_untracked(&mut listener);
        }
        let root = self.inner.root.borrow();
        let root = root.as_ref().expect("a live client has its root");
        root.run(|| selection.subscribe(listener))
    }

    /// Calls `module.method(args)` on the host, with the client's default timeout.
    ///
    /// The returned [`PendingCall`] settles once the result has arrived and the mirror has
    /// reached the state version it observed. Wait for it blocking ([`PendingCall::wait`]),
    /// await it, or poll it after [`pump`](Self::pump)ing.
    ///
    /// # Examples
    /// See [`WorkerClient`].
    pub fn call(&self, module: &str, method: &str, args: impl Serialize) -> PendingCall {
        self.call_with(module, method, args, CallOptions::default())
    }

    /// [`call`](Self::call) with options.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # use stateloom_worker::{CallOptions, Error, ManualClock, WorkerClient, memory_pair};
    /// let (_host, t) = memory_pair(); // a host that never answers
    /// let clock = ManualClock::new();
    /// let client = WorkerClient::builder(t).clock(clock.clone()).build();
    /// let call = client.call_with("n", "add", 1, CallOptions::new().timeout(Duration::from_millis(10)));
    /// clock.advance(Duration::from_millis(10));
    /// client.pump();
    /// assert_eq!(call.try_result(), Some(Err(Error::Timeout { after: Duration::from_millis(10) })));
    /// ```
    pub fn call_with(
        &self,
        module: &str,
        method: &str,
        args: impl Serialize,
        options: CallOptions,
    ) -> PendingCall {
        let id = self.inner.next_id();
        let slot = Rc::new(Slot::default());
        let call = PendingCall::new(id, Rc::clone(&slot), self.clone());
        if self.inner.disposed.get() {
            slot.settle(Err(Error::Disposed));
            return call;
        }
        let args = match serde_json::to_value(args) {
            Ok(args) => args,
            Err(e) => {
                slot.settle(Err(Error::Encode(e.to_string())));
                return call;
            }
        };
        let timeout = options.timeout_or(self.inner.options.timeout);
        let now = self.inner.clock.now();
        self.inner.pending.borrow_mut().insert(
            id,
            Pending {
                slot: Rc::clone(&slot),
                timeout,
                deadline: timeout.map(|t| now.saturating_add(t)),
                epoch: self.inner.epoch.get(),
                result: None,
            },
        );
        let sent = self.inner.post(Message::Call(crate::message::Call {
            id,
            module: module.to_owned(),
            method: method.to_owned(),
            args,
        }));
        if let Err(error) = sent {
            self.inner.settle(id, Err(error));
        }
        call
    }

    /// Calls `module.method(args)` and blocks until it settles.
    ///
    /// # Errors
    /// As [`PendingCall::wait`].
    ///
    /// # Examples
    /// See [`spawn_worker`](crate::spawn_worker).
    pub fn call_blocking(&self, module: &str, method: &str, args: impl Serialize) -> Result<Value> {
        self.call(module, method, args).wait()
    }

    /// Disposes the client: pending calls fail with [`Error::Disposed`], later calls fail at
    /// once, and the transport is dropped (which stops a host started with
    /// [`spawn_worker`](crate::spawn_worker)). The mirror keeps its last state. Idempotent.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_worker::{Error, WorkerClient, memory_pair};
    /// let (_host, t) = memory_pair();
    /// let client = WorkerClient::new(t);
    /// let pending = client.call("n", "add", 1);
    /// client.dispose();
    /// assert_eq!(pending.try_result(), Some(Err(Error::Disposed)));
    /// assert_eq!(client.call("n", "add", 1).try_result(), Some(Err(Error::Disposed)));
    /// ```
    pub fn dispose(&self) {
        if self.inner.disposed.replace(true) {
            return;
        }
        self.inner.fail_all(|| Error::Disposed);
        self.inner.sync.borrow_mut().take();
        let transport = self.inner.transport.borrow_mut().take();
        drop(transport);
    }

    /// Whether [`dispose`](Self::dispose) was called.
    ///
    /// # Examples
    /// See [`dispose`](Self::dispose).
    pub fn is_disposed(&self) -> bool {
        self.inner.disposed.get()
    }

    /// Handles messages, waiting for them, until `done()` or the clock passes `deadline`.
    /// Returns whether `done()` became true.
    fn block_until(&self, done: impl Fn() -> bool, deadline: Option<Duration>) -> bool {
        loop {
            self.pump();
            if done() {
                return true;
            }
            let now = self.inner.clock.now();
            if deadline.is_some_and(|d| now >= d) {
                return false;
            }
            let wake = [deadline, self.inner.next_deadline()]
                .into_iter()
                .flatten()
                .min();
            // Wait in slices, so a clock that is not real time still gets looked at.
            let wait = wake
                .map_or(Duration::from_millis(50), |at| at.saturating_sub(now))
                .min(Duration::from_millis(50));
            if let Some(delivery) = self.inner.inbox.next_timeout(wait) {
                self.inner.handle(delivery);
            }
        }
    }
}

impl ClientInner {
    fn next_id(&self) -> CallId {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    fn post(&self, message: Message) -> Result<()> {
        match &*self.transport.borrow() {
            Some(transport) => transport.post(message),
            None => Err(Error::Disposed),
        }
    }

    /// Asks the host for a snapshot of at least `min_version`, unless a request that covers
    /// it is outstanding.
    fn request_sync(&self, min_version: Version) {
        if self.disposed.get() {
            return;
        }
        let now = self.clock.now();
        {
            let sync = self.sync.borrow();
            if let Some(sync) = &*sync
                && sync.min_version >= min_version
                && now < sync.sent.saturating_add(self.options.resync_retry)
            {
                return;
            }
        }
        let id = self.next_id();
        let min_version = min_version.max(self.sync.borrow().as_ref().map_or(0, |s| s.min_version));
        *self.sync.borrow_mut() = Some(SyncState {
            id,
            min_version,
            sent: now,
        });
        if let Err(error) = self.post(Message::Sync(SyncRequest { id, min_version })) {
            // Calls waiting for this snapshot cannot settle: fail them with the reason.
            self.sync.borrow_mut().take();
            let waiting: Vec<CallId> = self
                .pending
                .borrow()
                .iter()
                .filter(|(_, p)| p.result.is_some())
                .map(|(id, _)| *id)
                .collect();
            for id in waiting {
                self.settle(id, Err(error.clone()));
            }
        }
    }
}

impl fmt::Debug for WorkerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerClient")
            .field("ready", &self.inner.ready.get())
            .field("epoch", &self.inner.epoch.get())
            .field("version", &self.inner.version.get())
            .field("pending", &self.inner.pending.borrow().len())
            .field("disposed", &self.inner.disposed.get())
            .finish()
    }
}
