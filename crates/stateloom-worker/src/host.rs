//! The host: modules whose stores are the source of truth, publishing their state and
//! answering calls.

mod diff;
mod publish;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::{Rc, Weak};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stateloom_store::StoreSubscription;

use crate::error::RemoteError;
use crate::message::{Call, CallResult, Epoch, Message, Outcome, Ready, SyncRequest, Version};
use crate::module::{ErasedModule, MethodError, Module};
use crate::transport::{Delivery, InboxReceiver, Transport};
pub(crate) use diff::diff_into;
use publish::Entry;

/// How the host publishes a change.
///
/// # Examples
/// See [`WorkerAppBuilder::sync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// The whole published state with every change.
    Snapshot,
    /// A snapshot at startup and on request, then RFC 6902 patches of only the modules that
    /// changed. Far fewer bytes for large states; the default.
    #[default]
    Patch,
}

/// Builds a [`WorkerApp`].
///
/// # Examples
/// ```
/// use stateloom_store::Store;
/// use stateloom_worker::{Module, SyncMode, WorkerApp, memory_pair};
///
/// let (host_side, _client_side) = memory_pair();
/// let app = WorkerApp::builder()
///     .module(Module::new("counter", Store::new(0)))
///     .module(Module::new("secret", Store::new(String::from("hunter2"))))
///     .state_sections(["counter"]) // "secret" never leaves the host
///     .sync(SyncMode::Patch)
///     .expose_error_details(false)
///     .build(host_side);
/// assert_eq!(app.version(), 0);
/// ```
#[must_use = "a builder does nothing until `build`"]
#[derive(Default)]
pub struct WorkerAppBuilder {
    modules: Vec<Box<dyn ErasedModule>>,
    sync: SyncMode,
    sections: Option<Vec<String>>,
    expose_error_details: bool,
    heartbeat: Option<Duration>,
    batch: usize,
}

impl WorkerAppBuilder {
    /// Adds a module.
    ///
    /// # Panics
    /// If a module of the same name was added before.
    ///
    /// # Examples
    /// See [`WorkerAppBuilder`].
    #[track_caller]
    pub fn module<S>(mut self, module: Module<S>) -> Self
    where
        S: Serialize + DeserializeOwned + Clone + 'static,
    {
        assert!(
            !self.modules.iter().any(|m| m.name() == module.name()),
            "a module named `{}` was already added; give each module its own name",
            module.name()
        );
        self.modules.push(Box::new(module));
        self
    }

    /// How changes are published; [`SyncMode::Patch`] unless set.
    ///
    /// # Examples
    /// See [`WorkerAppBuilder`].
    pub fn sync(mut self, mode: SyncMode) -> Self {
        self.sync = mode;
        self
    }

    /// Publishes only these modules' state. The others stay private to the host: their
    /// state never leaves it and their changes publish nothing (so they make no version
    /// gaps), but their methods can still be called. Names of no module are ignored. All
    /// modules are published unless this is set.
    ///
    /// # Examples
    /// See [`WorkerAppBuilder`].
    pub fn state_sections<I, N>(mut self, sections: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: Into<String>,
    {
        self.sections = Some(sections.into_iter().map(Into::into).collect());
        self
    }

    /// Whether error replies carry the details of unexpected failures: a panic's message, why
    /// arguments did not decode. Off unless set, so nothing about the host's internals leaks
    /// to clients.
    ///
    /// # Examples
    /// See [`WorkerAppBuilder`].
    pub fn expose_error_details(mut self, expose: bool) -> Self {
        self.expose_error_details = expose;
        self
    }

    /// Makes [`WorkerApp::run`] announce the host's epoch and version whenever no message
    /// arrived for `every`, so a client that missed the last change learns it is behind.
    /// No heartbeat unless set.
    ///
    /// # Examples
    /// ```
    /// let app = stateloom_worker::WorkerApp::builder()
    ///     .heartbeat(std::time::Duration::from_millis(500));
    /// # drop(app);
    /// ```
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = Some(every);
        self
    }

    /// Handles up to `max` calls that are already waiting as one commit. Each call still runs
    /// alone, in order, and a panicking one is rolled back alone; but the writes of the whole
    /// batch are published as one new version, and every result of the batch carries it.
    /// Clients then receive and apply one patch for many calls: with many clients calling at
    /// once, this is most of the host's and the clients' work. 1 (one version per call)
    /// unless set.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::Store;
    /// use stateloom_worker::{Module, WorkerApp, WorkerClient, memory_pair};
    ///
    /// let (h, t) = memory_pair();
    /// let client = WorkerClient::new(t);
    /// let app = WorkerApp::builder()
    ///     .module(Module::new("n", Store::new(0)).method("inc", |s, (): ()| { s.update(|n| *n += 1); s.get_state() }))
    ///     .batch_calls(64)
    ///     .build(h);
    /// let calls: Vec<_> = (0..3).map(|_| client.call("n", "inc", ())).collect();
    /// app.pump();
    /// client.pump();
    /// assert_eq!(app.version(), 1); // three calls, one published version
    /// let results: Vec<_> = calls.iter().map(|c| c.try_result().unwrap().unwrap()).collect();
    /// assert_eq!(results, [1, 2, 3]);
    /// ```
    pub fn batch_calls(mut self, max: usize) -> Self {
        self.batch = max.max(1);
        self
    }

    /// Starts the host on `transport`: it announces itself ([`Message::Ready`]) and publishes
    /// a snapshot at version 0.
    ///
    /// # Examples
    /// See [`WorkerAppBuilder`].
    pub fn build(self, transport: impl Transport + 'static) -> WorkerApp {
        let (inbox, receiver) = InboxReceiver::new();
        transport.subscribe(inbox);
        let entries = self
            .modules
            .iter()
            .map(|module| Entry {
                store_version: module.store_version(),
                json: module.to_json().unwrap_or(Value::Null),
                public: self
                    .sections
                    .as_ref()
                    .is_none_or(|sections| sections.iter().any(|s| s == module.name())),
            })
            .collect();
        let index = self
            .modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name().to_owned(), i))
            .collect();
        let inner = Rc::new(HostInner {
            epoch: new_epoch(),
            version: Cell::new(0),
            modules: self.modules,
            index,
            entries: RefCell::new(entries),
            sync: self.sync,
            expose_error_details: self.expose_error_details,
            heartbeat: self.heartbeat,
            batch: self.batch.max(1),
            transport: Box::new(transport),
            inbox: receiver,
            in_call: Cell::new(false),
            publishing: Cell::new(false),
            disposed: Cell::new(false),
            subscriptions: RefCell::new(Vec::new()),
        });
        // Writes made outside calls (by host code) are published as they happen.
        let subscriptions = inner
            .modules
            .iter()
            .map(|module| {
                let weak: Weak<HostInner> = Rc::downgrade(&inner);
                module.on_change(Box::new(move || {
                    if let Some(host) = weak.upgrade()
                        && !host.in_call.get()
                    {
                        host.publish_changes();
                    }
                }))
            })
            .collect();
        *inner.subscriptions.borrow_mut() = subscriptions;
        let app = WorkerApp { inner };
        app.announce();
        app.inner.post_snapshot(None);
        app
    }
}

/// A random epoch that a JavaScript peer can read exactly (at most 2^53 - 1).
fn new_epoch() -> Epoch {
    ahash::RandomState::new().hash_one(std::time::SystemTime::now()) & ((1 << 53) - 1)
}

/// The host of a worker app: modules whose stores are the source of truth. It publishes their
/// state over its transport and answers calls from clients.
///
/// Each call runs one declared method; its writes are published as one new version (however
/// many writes it made), then the result goes out tagged with that version. An unknown module
/// or method, arguments that do not decode, or a panic get an error reply; after a panic, the
/// modules the method changed are put back as they were before the call, so nothing of it is
/// half-applied. Writes made outside calls (by host code) are published as they happen.
///
/// The host handles messages on its own thread: [`pump`](Self::pump) handles what has
/// arrived, [`run`](Self::run) loops until the other side closes.
/// [`spawn_worker`](crate::spawn_worker) runs a host on a thread of its own.
///
/// # Examples
/// ```
/// use stateloom_store::Store;
/// use stateloom_worker::{Module, WorkerApp, WorkerClient, memory_pair, Error};
///
/// let (h, t) = memory_pair();
/// let client = WorkerClient::new(t);
/// let store = Store::new(vec![1, 2]);
/// let app = WorkerApp::builder()
///     .module(Module::new("list", store.clone()).method("push_twice_then_panic", |s, n: i32| {
///         s.update(move |l| l.push(n));
///         s.update(move |l| l.push(n));
///         if n > 0 { panic!("boom") }
///     }))
///     .build(h);
/// let call = client.call("list", "push_twice_then_panic", 3);
/// app.pump();
/// client.pump();
/// let Some(Err(Error::Remote(error))) = call.try_result() else { unreachable!() };
/// assert_eq!(error.code, "panicked");
/// assert_eq!(store.get_state(), [1, 2]); // rolled back
/// assert_eq!(client.get_state()["list"], serde_json::json!([1, 2]));
/// ```
pub struct WorkerApp {
    inner: Rc<HostInner>,
}

struct HostInner {
    epoch: Epoch,
    version: Cell<Version>,
    modules: Vec<Box<dyn ErasedModule>>,
    // Keyed by names from the wire: hashed with aHash's seeded hasher.
    index: HashMap<String, usize, ahash::RandomState>,
    /// One per module, in `modules` order.
    entries: RefCell<Vec<Entry>>,
    sync: SyncMode,
    expose_error_details: bool,
    heartbeat: Option<Duration>,
    /// The most calls handled as one commit.
    batch: usize,
    transport: Box<dyn Transport>,
    inbox: InboxReceiver,
    /// Invariant: true exactly while a method (or the rollback after its panic) runs.
    in_call: Cell<bool>,
    publishing: Cell<bool>,
    disposed: Cell<bool>,
    subscriptions: RefCell<Vec<StoreSubscription>>,
}

impl WorkerApp {
    /// Starts a host; see [`WorkerAppBuilder`].
    ///
    /// # Examples
    /// See [`WorkerAppBuilder`].
    pub fn builder() -> WorkerAppBuilder {
        WorkerAppBuilder::default()
    }

    /// Handles every message that has arrived. Returns how many.
    ///
    /// # Examples
    /// See [`WorkerApp`].
    pub fn pump(&self) -> usize {
        let mut handled = 0;
        while let Some(delivery) = self.inner.inbox.try_next() {
            let (go_on, count) = self.inner.handle_batch(delivery);
            handled += count;
            if !go_on {
                break;
            }
        }
        handled
    }

    /// Handles messages as they arrive until the other side closes the transport or the host
    /// is disposed. With a [heartbeat](WorkerAppBuilder::heartbeat), announces itself when
    /// idle.
    ///
    /// # Examples
    /// See [`spawn_worker`](crate::spawn_worker).
    pub fn run(&self) {
        let idle = self.inner.heartbeat.unwrap_or(Duration::from_secs(3600));
        while !self.inner.disposed.get() {
            match self.inner.inbox.next_timeout(idle) {
                Some(delivery) => {
                    if !self.inner.handle_batch(delivery).0 {
                        return;
                    }
                }
                None => {
                    if self.inner.heartbeat.is_some() {
                        self.announce();
                    }
                }
            }
        }
    }

    /// Posts a [`Message::Ready`] with the host's epoch and version. Clients that are behind
    /// ask for a snapshot.
    ///
    /// # Examples
    /// ```
    /// # let (h, _t) = stateloom_worker::memory_pair();
    /// let app = stateloom_worker::WorkerApp::builder().build(h);
    /// app.announce();
    /// ```
    pub fn announce(&self) {
        let _ = self.inner.transport.post(Message::Ready(Ready {
            epoch: self.inner.epoch,
            version: self.inner.version.get(),
        }));
    }

    /// The published version.
    ///
    /// # Examples
    /// See [`WorkerAppBuilder`].
    pub fn version(&self) -> Version {
        self.inner.version.get()
    }

    /// This host lifetime's epoch.
    ///
    /// # Examples
    /// ```
    /// # let (h, _t) = stateloom_worker::memory_pair();
    /// let app = stateloom_worker::WorkerApp::builder().build(h);
    /// assert!(app.epoch() < 1 << 53);
    /// ```
    pub fn epoch(&self) -> Epoch {
        self.inner.epoch
    }

    /// The published state: one entry per published module.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_store::Store;
    /// # use stateloom_worker::{Module, WorkerApp, memory_pair};
    /// let (h, _t) = memory_pair();
    /// let app = WorkerApp::builder().module(Module::new("n", Store::new(1))).build(h);
    /// assert_eq!(app.published_state(), serde_json::json!({"n": 1}));
    /// ```
    pub fn published_state(&self) -> Value {
        self.inner.publish_changes();
        self.inner.snapshot()
    }

    /// Stops the host: later messages are ignored and [`run`](Self::run) returns.
    ///
    /// # Examples
    /// ```
    /// # let (h, _t) = stateloom_worker::memory_pair();
    /// let app = stateloom_worker::WorkerApp::builder().build(h);
    /// app.dispose();
    /// assert!(app.is_disposed());
    /// ```
    pub fn dispose(&self) {
        if !self.inner.disposed.replace(true) {
            for subscription in self.inner.subscriptions.borrow_mut().drain(..) {
                subscription.unsubscribe();
            }
        }
    }

    /// Whether [`dispose`](Self::dispose) was called.
    ///
    /// # Examples
    /// See [`dispose`](Self::dispose).
    pub fn is_disposed(&self) -> bool {
        self.inner.disposed.get()
    }
}

impl HostInner {
    /// Handles `first`, and with it the calls already waiting behind it, up to the batch
    /// size. Returns whether the host goes on, and how many messages were handled.
    fn handle_batch(&self, first: Delivery) -> (bool, usize) {
        let call = match first {
            Delivery::Message(Message::Call(call)) if self.batch > 1 && !self.disposed.get() => {
                call
            }
            other => {
                let go_on = self.handle(other);
                return (go_on, usize::from(go_on));
            }
        };
        let mut calls = vec![call];
        let mut next = None;
        while calls.len() < self.batch {
            match self.inbox.try_next() {
                Some(Delivery::Message(Message::Call(call))) => calls.push(call),
                Some(other) => {
                    next = Some(other);
                    break;
                }
                None => break,
            }
        }
        let count = calls.len();
        self.on_calls(calls);
        match next {
            Some(delivery) => {
                let go_on = self.handle(delivery);
                (go_on, count + usize::from(go_on))
            }
            None => (true, count),
        }
    }

    /// Runs `calls` in order, publishes their writes as one version, then answers each.
    fn on_calls(&self, calls: Vec<Call>) {
        self.publish_changes();
        let mut ops = Vec::new();
        let mut changed = false;
        let mut outcomes = Vec::with_capacity(calls.len());
        for call in &calls {
            let outcome = match self.run_method(call) {
                Ok(value) => Outcome::Ok(value),
                Err(error) => Outcome::Error(error),
            };
            // Seen after each call, so that a later call's panic rolls back only its own.
            changed |= self.collect_changes(&mut ops);
            outcomes.push(outcome);
        }
        if changed {
            self.post_update(ops);
        }
        for (call, outcome) in calls.iter().zip(outcomes) {
            let _ = self.transport.post(Message::Result(CallResult {
                id: call.id,
                epoch: self.epoch,
                version: self.version.get(),
                outcome,
            }));
        }
    }

    /// Handles one delivery; `false` when the host should stop.
    fn handle(&self, delivery: Delivery) -> bool {
        if self.disposed.get() {
            return false;
        }
        match delivery {
            Delivery::Closed => return false,
            Delivery::Message(Message::Call(call)) => self.on_call(call),
            Delivery::Message(Message::Sync(request)) => self.on_sync(&request),
            // Host-to-client messages (another host on a shared channel, an echo) are not for
            // a host.
            Delivery::Message(Message::Result(_) | Message::State(_) | Message::Ready(_)) => {}
        }
        true
    }

    fn on_call(&self, call: Call) {
        // Anything host code wrote since the last message goes out first, as its own version.
        self.publish_changes();
        let outcome = match self.run_method(&call) {
            Ok(value) => Outcome::Ok(value),
            Err(error) => Outcome::Error(error),
        };
        self.publish_changes();
        let _ = self.transport.post(Message::Result(CallResult {
            id: call.id,
            epoch: self.epoch,
            version: self.version.get(),
            outcome,
        }));
    }

    fn run_method(&self, call: &Call) -> Result<Value, RemoteError> {
        let Some(&index) = self.index.get(&call.module) else {
            return Err(RemoteError::new(
                "unknown-module",
                format!("no module `{}`", call.module),
            ));
        };
        let Some(method) = self.modules[index].method(&call.method) else {
            return Err(RemoteError::new(
                "unknown-method",
                format!("no method `{}` in module `{}`", call.method, call.module),
            ));
        };
        self.in_call.set(true);
        let result = catch_unwind(AssertUnwindSafe(|| method(call.args.clone())));
        let outcome = match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(MethodError::Failed(error))) => Err(error),
            Ok(Err(MethodError::BadArguments(detail))) => Err(self.redact(
                "bad-arguments",
                format!("the arguments do not fit `{}.{}`", call.module, call.method),
                &detail,
            )),
            Ok(Err(MethodError::BadResult(detail))) => Err(self.redact(
                "bad-result",
                format!(
                    "the result of `{}.{}` does not serialize",
                    call.module, call.method
                ),
                &detail,
            )),
            Err(payload) => {
                self.roll_back();
                Err(self.redact(
                    "panicked",
                    format!("`{}.{}` panicked", call.module, call.method),
                    panic_message(payload.as_ref()),
                ))
            }
        };
        self.in_call.set(false);
        outcome
    }

    /// Puts back every module a panicking method changed, from its last published JSON.
    fn roll_back(&self) {
        let mut entries = self.entries.borrow_mut();
        for (module, entry) in self.modules.iter().zip(entries.iter_mut()) {
            if module.store_version() != entry.store_version {
                let json = &entry.json;
                // A listener may panic in turn: the state is back either way.
                let _ = catch_unwind(AssertUnwindSafe(|| module.restore(json)));
                entry.store_version = module.store_version();
            }
        }
    }

    fn redact(&self, code: &str, message: String, detail: &str) -> RemoteError {
        if self.expose_error_details {
            RemoteError::new(code, format!("{message}: {detail}"))
        } else {
            RemoteError::new(code, message)
        }
    }

    fn on_sync(&self, request: &SyncRequest) {
        self.publish_changes();
        self.post_snapshot(Some(request.id));
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

impl fmt::Debug for WorkerApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let modules: Vec<&str> = self.inner.modules.iter().map(|m| m.name()).collect();
        f.debug_struct("WorkerApp")
            .field("epoch", &self.inner.epoch)
            .field("version", &self.inner.version.get())
            .field("modules", &modules)
            .field("sync", &self.inner.sync)
            .finish_non_exhaustive()
    }
}
