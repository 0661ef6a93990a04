//! Worker benches: a call's round trip over the in-memory and thread transports, one toggle in a
//! 10,000-item state (time to the client's mirror, and bytes on the wire), a snapshot resync of
//! that state (end to end, and the binary codec's part alone), and one update fanned out to 8
//! clients. Coaction's figures for the same workloads come from `benches/js/peers/worker.mjs`.

use std::hint::black_box;
use std::process::ExitCode;

use criterion::Criterion;
use serde::{Deserialize, Serialize};
use serde_json::json;
use stateloom_store::Store;
use stateloom_worker::{
    BroadcastBus, Codec, JsonCodec, Message, Module, Payload, PostcardCodec, StateUpdate,
    Transport, WorkerApp, WorkerClient, memory_pair, spawn_worker,
};

const ITEMS: usize = 10_000;
const CLIENTS: usize = 8;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: u32,
    title: String,
    done: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todos {
    items: Vec<Todo>,
}

fn todos() -> Todos {
    Todos {
        items: (0..ITEMS)
            .map(|i| Todo {
                id: u32::try_from(i).expect("10,000 fits"),
                title: format!("todo {i}"),
                done: false,
            })
            .collect(),
    }
}

fn counter_module(store: Store<i64>) -> Module<i64> {
    Module::new("counter", store).method("increment", |s, (): ()| {
        s.update(|n| *n += 1);
        s.get_state()
    })
}

/// Pumps a host and its clients until nothing is left to handle.
fn settle(app: &WorkerApp, clients: &[WorkerClient]) {
    loop {
        let handled =
            app.pump() + clients.iter().map(WorkerClient::pump).sum::<usize>() + app.pump();
        if handled == 0 {
            return;
        }
    }
}

/// One `increment` call, host and client on this thread: the call goes out, the host runs it
/// and publishes a patch, the client applies the patch and settles the call (coaction over a
/// `MessageChannel`: 29 µs).
fn call_round_trip_memory(c: &mut Criterion) {
    let mut group = c.benchmark_group("worker_call_round_trip_memory");
    let (host_end, client_end) = memory_pair();
    let client = WorkerClient::new(client_end);
    let app = WorkerApp::builder()
        .module(counter_module(Store::new(0)))
        .build(host_end);
    settle(&app, std::slice::from_ref(&client));
    let round_trip = || {
        let call = client.call("counter", "increment", ());
        app.pump();
        client.pump();
        call.try_result().expect("settled").expect("ok")
    };
    let before = client.get_state()["counter"].as_i64().expect("a count");
    assert_eq!(round_trip(), json!(before + 1));
    assert_eq!(
        client.get_state()["counter"],
        before + 1,
        "the mirror caught up"
    );
    group.bench_function("stateloom", |b| b.iter(round_trip));
    group.finish();
}

/// The same call with the host on its own thread, the client blocking on the result.
fn call_round_trip_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("worker_call_round_trip_thread");
    let (transport, thread) = spawn_worker(|transport| {
        WorkerApp::builder()
            .module(counter_module(Store::new(0)))
            .build(transport)
    })
    .expect("a thread");
    let client = WorkerClient::new(transport);
    let first = client
        .call_blocking("counter", "increment", ())
        .expect("ok");
    assert_eq!(first, json!(1));
    assert_eq!(client.get_state()["counter"], 1, "the mirror caught up");
    group.bench_function("stateloom", |b| {
        b.iter(|| {
            client
                .call_blocking("counter", "increment", ())
                .expect("ok")
        });
    });
    group.finish();
    client.dispose();
    thread.join().expect("the host stops");
}

/// Toggles one item of 10,000 on the host and waits for the client's mirror to show it
/// (coaction: 137 µs, with a 285-byte patch). Prints the patch's size on the wire.
fn toggle_10k(c: &mut Criterion) {
    let mut group = c.benchmark_group("worker_toggle_10k");
    let (host_end, client_end) = memory_pair();
    let client = WorkerClient::new(client_end);
    let store = Store::new(todos());
    let app = WorkerApp::builder()
        .module(Module::new("todos", store.clone()))
        .build(host_end);
    settle(&app, std::slice::from_ref(&client));
    let next = std::cell::Cell::new(0_usize);
    let toggle = || {
        let i = next.get();
        next.set((i + 7919) % ITEMS);
        store.update(move |t| t.items[i].done = !t.items[i].done);
        client.pump();
        i
    };
    let i = toggle();
    assert_eq!(
        client.get_state()["todos"]["items"][i]["done"],
        store.with_untracked(|t| t.items[i].done),
        "the mirror shows the toggle"
    );
    assert_eq!(client.version(), app.version());

    // The bytes of one toggle's state message, in both codecs.
    let (tap_host, tap_client) = memory_pair();
    let seen = WorkerClient::new(tap_client);
    let tapped = Store::new(todos());
    let tap_app = WorkerApp::builder()
        .module(Module::new("todos", tapped.clone()))
        .build(TapFirst::new(tap_host));
    settle(&tap_app, std::slice::from_ref(&seen));
    tapped.update(|t| t.items[4321].done = true);
    let message = last_state().expect("a state message");
    let json_bytes = JsonCodec.encode(&message).expect("encodes").len();
    let postcard_bytes = PostcardCodec.encode(&message).expect("encodes").len();
    eprintln!(
        "worker_toggle_10k: one toggle is {json_bytes} bytes as JSON, {postcard_bytes} bytes as postcard"
    );
    assert!(
        json_bytes <= 300,
        "a toggle's patch stays small: {json_bytes} bytes"
    );

    group.bench_function("stateloom", |b| b.iter(|| black_box(toggle())));
    group.finish();
}

/// A full resync of the 10,000-item state: the host's snapshot message, encoded and decoded
/// with the binary codec, applied to a client's mirror (coaction's `fullSync`: 528 KB, 8.5 ms).
fn resync_10k(c: &mut Criterion) {
    let mut group = c.benchmark_group("worker_resync_10k");
    let (host_end, _client_end) = memory_pair();
    let app = WorkerApp::builder()
        .module(Module::new("todos", Store::new(todos())))
        .build(host_end);
    let (feed, client_end) = memory_pair();
    let client = WorkerClient::new(client_end);
    let epoch = std::cell::Cell::new(0_u64);
    let resync = || {
        // A new epoch each time, so the client takes every snapshot.
        epoch.set(epoch.get() + 1);
        let message = Message::State(StateUpdate {
            epoch: epoch.get(),
            version: 0,
            payload: Payload::Snapshot(app.published_state()),
            sync_id: None,
        });
        let bytes = PostcardCodec.encode(&message).expect("encodes");
        let decoded = PostcardCodec.decode(&bytes).expect("decodes");
        feed.post(decoded).expect("posts");
        client.pump();
        bytes.len()
    };
    let bytes = resync();
    assert_eq!(client.get_state(), app.published_state());
    let json_bytes = JsonCodec
        .encode(&Message::State(StateUpdate {
            epoch: 1,
            version: 0,
            payload: Payload::Snapshot(app.published_state()),
            sync_id: None,
        }))
        .expect("encodes")
        .len();
    eprintln!("worker_resync_10k: the snapshot is {bytes} bytes as postcard, {json_bytes} as JSON");
    group.bench_function("stateloom", |b| b.iter(resync));
    group.finish();
}

/// The codec's part of a resync: a snapshot message of the 10,000-item state encoded and
/// decoded with the binary codec (postcard).
fn snapshot_10k(c: &mut Criterion) {
    let mut group = c.benchmark_group("worker_snapshot_10k");
    let message = Message::State(StateUpdate {
        epoch: 1,
        version: 0,
        payload: Payload::Snapshot(json!({ "todos": todos() })),
        sync_id: None,
    });
    let round_trip = || {
        let bytes = PostcardCodec.encode(&message).expect("encodes");
        PostcardCodec.decode(&bytes).expect("decodes")
    };
    assert_eq!(round_trip(), message);
    group.bench_function("stateloom", |b| b.iter(round_trip));
    group.finish();
}

/// One host write reaching 8 clients on a broadcast bus (coaction: 71–106 µs).
fn fanout_8(c: &mut Criterion) {
    let mut group = c.benchmark_group("worker_fanout_8");
    let bus = BroadcastBus::new();
    let clients: Vec<WorkerClient> = (0..CLIENTS)
        .map(|i| WorkerClient::new(bus.client(format!("client:{i}"), "host")))
        .collect();
    let store = Store::new(0_i64);
    let app = WorkerApp::builder()
        .module(counter_module(store.clone()))
        .build(bus.host("host"));
    settle(&app, &clients);
    let update = || {
        store.update(|n| *n += 1);
        for client in &clients {
            client.pump();
        }
    };
    update();
    let expected = store.get_state();
    for client in &clients {
        assert_eq!(
            client.get_state()["counter"],
            expected,
            "every mirror has the update"
        );
    }
    group.bench_function("stateloom", |b| b.iter(update));
    group.finish();
}

/// Passes messages on, remembering the last state message posted.
struct TapFirst<T> {
    inner: T,
}

thread_local! {
    static LAST_STATE: std::cell::RefCell<Option<Message>> = const { std::cell::RefCell::new(None) };
}

impl<T> TapFirst<T> {
    fn new(inner: T) -> Self {
        Self { inner }
    }
}

/// The last state message a [`TapFirst`] passed on.
fn last_state() -> Option<Message> {
    LAST_STATE.with(|last| last.borrow().clone())
}

impl<T: Transport> Transport for TapFirst<T> {
    fn post(&self, message: Message) -> stateloom_worker::Result<()> {
        if matches!(message, Message::State(_)) {
            LAST_STATE.with(|last| *last.borrow_mut() = Some(message.clone()));
        }
        self.inner.post(message)
    }

    fn subscribe(&self, inbox: stateloom_worker::Inbox) {
        self.inner.subscribe(inbox);
    }
}

fn benches(c: &mut Criterion) {
    call_round_trip_memory(c);
    call_round_trip_thread(c);
    toggle_10k(c);
    resync_10k(c);
    snapshot_10k(c);
    fanout_8(c);
}

fn main() -> ExitCode {
    stateloom_benches::harness::main(&[], benches)
}
