//! Integration tests of stateloom-worker, through the public API only.

mod broadcast;
mod calls;
mod faults;
mod sync;
mod thread;
mod typed;
mod wire;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stateloom_store::Store;
use stateloom_worker::{
    Conflict, FaultTransport, Inbox, ManualClock, MemoryTransport, Message, Module, RemoteError,
    SyncMode, Transport, WorkerApp, WorkerClient, memory_pair,
};

/// The proptest case count: `PROPTEST_CASES` if set, else `default`.
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

/// The state most tests use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Counter {
    pub(crate) count: i64,
}

/// A counter module with methods that succeed, fail, panic and write twice.
pub(crate) fn counter_module(store: Store<Counter>) -> Module<Counter> {
    Module::new("counter", store)
        .method("increase", |s, by: i64| {
            s.update(move |c| c.count += by);
            s.with_untracked(|c| c.count)
        })
        .try_method("fail_after_increase", |s, (): ()| {
            s.update(|c| c.count += 1);
            Err::<(), _>(RemoteError::new("failed", "fail after increase"))
        })
        .method("panic_after_increase", |s, (): ()| {
            s.update(|c| c.count += 1);
            if s.with_untracked(|c| c.count) > i64::MIN {
                panic!("a secret detail");
            }
        })
        .method("increase_twice", |s, (): ()| {
            s.update(|c| c.count += 1);
            s.update(|c| c.count += 1);
        })
}

/// A transport that records what passes through it. Clones share the transport and the record.
pub(crate) struct Tap<T> {
    inner: Arc<T>,
    sent: Arc<Mutex<Vec<Message>>>,
}

impl<T: Transport> Tap<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner: Arc::new(inner),
            sent: Arc::default(),
        }
    }

    /// The messages posted so far, cleared.
    pub(crate) fn take(&self) -> Vec<Message> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

impl<T> Clone for Tap<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            sent: Arc::clone(&self.sent),
        }
    }
}

impl<T: Transport> Transport for Tap<T> {
    fn post(&self, message: Message) -> stateloom_worker::Result<()> {
        self.sent.lock().unwrap().push(message.clone());
        self.inner.post(message)
    }

    fn subscribe(&self, inbox: Inbox) {
        self.inner.subscribe(inbox);
    }
}

/// A host and a client over an in-memory pair, with a tap and a fault layer on each side and
/// a manual clock.
pub(crate) struct Harness {
    pub(crate) store: Store<Counter>,
    pub(crate) app: WorkerApp,
    pub(crate) client: WorkerClient,
    /// What the host posted (after its faults).
    pub(crate) host_sent: Tap<MemoryTransport>,
    pub(crate) host_faults: FaultTransport<Tap<MemoryTransport>>,
    /// What the client posted.
    pub(crate) client_sent: Tap<MemoryTransport>,
    pub(crate) clock: ManualClock,
    pub(crate) conflicts: Rc<RefCell<Vec<Conflict>>>,
}

impl Harness {
    pub(crate) fn new(sync: SyncMode) -> Self {
        Self::with(sync, |builder| builder)
    }

    pub(crate) fn with(
        sync: SyncMode,
        configure: impl FnOnce(stateloom_worker::WorkerAppBuilder) -> stateloom_worker::WorkerAppBuilder,
    ) -> Self {
        let (host_end, client_end) = memory_pair();
        let host_sent = Tap::new(host_end);
        let host_faults = FaultTransport::new(host_sent.clone());
        let client_sent = Tap::new(client_end);
        let clock = ManualClock::new();
        let conflicts = Rc::new(RefCell::new(Vec::new()));
        let c = conflicts.clone();
        let client = WorkerClient::builder(client_sent.clone())
            .clock(clock.clone())
            .catch_up(Duration::from_millis(100))
            .on_conflict(move |conflict| c.borrow_mut().push(conflict.clone()))
            .build();
        let store = Store::new(Counter::default());
        let app = configure(
            WorkerApp::builder()
                .sync(sync)
                .module(counter_module(store.clone())),
        )
        .build(host_faults.clone());
        let harness = Self {
            store,
            app,
            client,
            host_sent,
            host_faults,
            client_sent,
            clock,
            conflicts,
        };
        harness.settle();
        harness.host_sent.take();
        harness.client_sent.take();
        harness
    }

    /// Pumps host and client until neither has anything left to handle. (The client may
    /// post a sync request at the end of its pump, when it checks its timers: the host pumps
    /// again after it.)
    pub(crate) fn settle(&self) {
        loop {
            let handled = self.app.pump() + self.client.pump() + self.app.pump();
            if handled == 0 {
                return;
            }
        }
    }

    /// The conflicts reported so far, by reason, cleared.
    pub(crate) fn conflicts(&self) -> Vec<&'static str> {
        self.conflicts
            .borrow_mut()
            .drain(..)
            .map(|c| c.reason.as_str())
            .collect()
    }

    pub(crate) fn mirrored_count(&self) -> i64 {
        self.client
            .module_state::<Counter>("counter")
            .map(|c| c.count)
            .unwrap_or(-1)
    }
}

/// The kinds of the messages, in order: `call`, `result`, `state:patch`, ...
pub(crate) fn kinds(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match m {
            Message::Call(_) => "call".to_owned(),
            Message::Result(_) => "result".to_owned(),
            Message::State(u) if u.payload.is_snapshot() => format!("snapshot@{}", u.version),
            Message::State(u) => format!("patch@{}", u.version),
            Message::Sync(s) => format!("sync>={}", s.min_version),
            Message::Ready(r) => format!("ready@{}", r.version),
        })
        .collect()
}
