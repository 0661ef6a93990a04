//! A guided walk through StateLoom, printing what happens at each step.
//!
//! Run it with `cargo run -p stateloom --example tour --all-features`; without the `worker` and
//! `bridge` features their sections are left out.
#![allow(clippy::print_stdout)] // printing is the point of a tour

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;

use stateloom::atom::{AtomScope, atom, atom_family, default_scope, derived, writable_atom};
use stateloom::core::{
    Scope, batch, computed, create_root, effect, on_cleanup, run_in_scope, runtime_stats, signal,
    untrack,
};
use stateloom::optimistic::{
    Concurrency, Key, MutationBuilder, QueryBuilder, optimistic, optimistic_fn, run_until_stalled,
};
use stateloom::store::{Api, History, Next, Store, Write, middleware_fn};

fn heading(title: &str) {
    println!("\n== {title}");
}

fn main() {
    println!("StateLoom tour: every line below is printed by the code that makes it happen.");

    // The thread's default atom scope keeps one root node for the thread's whole life; make it
    // before taking the baseline so the count at the end compares like with like.
    drop(default_scope());
    let baseline = runtime_stats();
    let ((), root) = create_root(|| {
        heading("1. Signals, computeds and effects (stateloom-core)");
        let price = signal(12.5_f64);
        let quantity = signal(2_u32);
        let total = computed(move || {
            println!("   (computing total)");
            price.get() * f64::from(quantity.get())
        });
        println!("created a price signal, a quantity signal and a total computed");
        println!("nothing is computed until read; now reading total:");
        let first = total.get();
        println!("total = {first}");
        println!("reading it again uses the cached value: {}", total.get());
        effect(move || println!("   effect: total is now {:.2}", total.get()));

        heading("2. Writes run effects before `set` returns");
        println!("price.set(10.0)");
        price.set(10.0);
        println!("price.set(10.0) again: equal values change nothing");
        price.set(10.0);

        heading("3. Batches: many writes, one reaction, fresh reads inside");
        batch(|| {
            price.set(20.0);
            quantity.set(3);
            println!("inside the batch total already reads {}", total.get());
        });
        println!("a batch that puts values back where they were runs nothing:");
        batch(|| {
            quantity.set(4);
            quantity.set(3);
        });

        heading("4. Equality cut-off: a computed that recomputes to the same value stops there");
        let n = signal(2);
        let parity = computed(move || n.get() % 2);
        let changes = Rc::new(Cell::new(0));
        let c = changes.clone();
        effect(move || {
            parity.get();
            c.set(c.get() + 1);
        });
        n.set(4);
        n.set(6);
        n.set(7);
        println!(
            "n went 2 -> 4 -> 6 -> 7; the parity effect ran {} times (once at creation, once for 7)",
            changes.get()
        );

        heading("5. Dynamic dependencies and untrack");
        let show_details = signal(false);
        let details = signal("v1");
        let audit = signal(0);
        effect(move || {
            let extra = untrack(|| audit.get());
            if show_details.get() {
                println!("   effect: details = {} (audit {extra})", details.get());
            } else {
                println!("   effect: details hidden (audit {extra})");
            }
        });
        println!("details.set(\"v2\") while hidden: no output, the effect does not read it");
        details.set("v2");
        println!("audit.set(1): untracked, no output");
        audit.set(1);
        show_details.set(true);

        heading("6. Ownership: effects own what they create and clean up first");
        let page = signal("home");
        effect(move || {
            let name = page.get();
            println!("   page effect: mounting {name}");
            on_cleanup(move || println!("   page effect: unmounting {name}"));
        });
        page.set("settings");

        heading("7. Scopes isolate values per request (SSR)");
        let user = signal("anonymous");
        let request = Scope::new();
        request.set(user, "ada");
        run_in_scope(&request, || {
            println!("inside the request scope user = {}", user.get())
        });
        println!("outside it user = {}", user.get());
    });

    atoms();
    stores();
    optimistic_updates();
    #[cfg(feature = "worker")]
    worker();

    heading("12. Disposal returns every node");
    println!(
        "live nodes before disposing the root: {}",
        runtime_stats().nodes
    );
    root.dispose();
    println!(
        "after: {} (baseline {}), links {}",
        runtime_stats().nodes,
        baseline.nodes,
        runtime_stats().links
    );

    #[cfg(feature = "bridge")]
    bridge::tour();
}

/// An external store as atoms: the event-sourced SQLite store behind a batch coordinator.
#[cfg(feature = "bridge")]
mod bridge {
    use stateloom::atom::{AtomScope, derived};
    use stateloom::bridge::{BatchCoordinator, Commit, SqlQuery, SqliteStore, StoreBridge};

    use super::heading;

    #[derive(serde::Serialize, serde::Deserialize)]
    enum Event {
        Added(String),
        Done(String),
    }

    pub(super) fn tour() {
        heading("13. External stores: an event-sourced SQLite store as atoms (stateloom-bridge)");
        let scope = AtomScope::new();
        let coordinator = BatchCoordinator::new(scope.clone());
        let store = SqliteStore::<Event>::builder()
            .table("CREATE TABLE todos (text TEXT PRIMARY KEY, done INTEGER NOT NULL DEFAULT 0)")
            .materializer(|event, db| {
                match event {
                    Event::Added(text) => {
                        db.execute("INSERT INTO todos (text) VALUES (?1)", [text])?
                    }
                    Event::Done(text) => {
                        db.execute("UPDATE todos SET done = 1 WHERE text = ?1", [text])?
                    }
                };
                Ok(())
            })
            .batch_updates(coordinator.batch_updates())
            .open_in_memory()
            .expect("an in-memory database opens");
        let bridge = StoreBridge::new(store.clone(), coordinator.clone()).expect("wired");
        let open = bridge
            .query_atom(SqlQuery::<i64>::value(
                "SELECT count(*) FROM todos WHERE done = 0",
                [],
            ))
            .expect("the query runs");
        let done = bridge
            .query_atom(SqlQuery::<i64>::value(
                "SELECT count(*) FROM todos WHERE done = 1",
                [],
            ))
            .expect("the query runs");
        let status = derived(move |get| format!("{} open, {} done", get.get(open), get.get(done)));
        let _sub = scope.sub(status, |s| println!("   atom subscriber: {s}"));
        // The auto-completer commits from a store subscriber: the commit is queued until the
        // store's dispatch is over, then applied before the outer commit returns.
        let auto = store.clone();
        let _auto = store
            .subscribe(
                &SqlQuery::<i64>::value("SELECT count(*) FROM todos WHERE text = 'tea'", []),
                Default::default(),
                move |n| {
                    if *n == 1 {
                        let queued = auto.commit(Event::Done("tea".into()));
                        println!(
                            "   a subscriber commits Done(tea): {:?}",
                            queued.map_err(|e| e.error)
                        );
                    }
                },
            )
            .expect("the query runs");
        for event in [Event::Added("milk".into()), Event::Added("tea".into())] {
            match store.commit(event) {
                Ok(Commit::Applied { seq }) => println!("committed event #{seq}"),
                other => println!("commit: {:?}", other.map_err(|e| e.error)),
            }
        }
        println!(
            "{} events; both atoms changed together, once per change: {}",
            store.event_count().expect("the log is readable"),
            scope.get(status)
        );
        scope.dispose(); // releases the query atoms' subscriptions
    }
}

fn atoms() {
    heading("8. Atoms: definitions shared, values per scope (stateloom-atom)");
    let celsius = atom(20.0_f64);
    // A writable atom: read as Fahrenheit, and writing Fahrenheit sets Celsius.
    let fahrenheit = writable_atom(
        move |get| get.get(celsius) * 9.0 / 5.0 + 32.0,
        move |set, f: f64| set.set(celsius, (f - 32.0) * 5.0 / 9.0),
    );
    let label =
        derived(move |get| format!("{:.1}°C = {:.1}°F", get.get(celsius), get.get(fahrenheit)));
    let sub = label.subscribe(|text| println!("   subscriber: {text}"));
    println!("default scope: {}", label.get());
    println!("writing 212°F through the writable atom:");
    fahrenheit.write(212.0);

    println!("a new AtomScope starts from the initial values, isolated from the default one:");
    let request = AtomScope::new();
    request.set(celsius, -40.0);
    println!(
        "request scope: {}; default scope: {}",
        request.get(label),
        label.get()
    );
    request.dispose();
    sub.unsubscribe();

    println!("a family gives one atom per id; on_mount runs while someone listens:");
    let todo = atom_family(|id: &u32| {
        let id = *id;
        atom(format!("todo #{id}")).on_mount(move |_| {
            println!("   todo #{id} mounted");
            move || println!("   todo #{id} unmounted")
        })
    });
    let first = todo.get(&1);
    let watch = first.subscribe(|title| println!("   subscriber: {title}"));
    first.set("buy milk".to_owned());
    watch.unsubscribe();
    todo.remove(&1);
    println!("removed #1: the family holds {} atoms", todo.len());
    // The default scope lives as long as the thread; reset frees what it holds.
    default_scope().reset();
}

/// A todo list, with its actions as ordinary methods on a newtype.
#[derive(Clone)]
struct Todos(Store<Vec<Todo>>);

#[derive(Clone, Debug, PartialEq)]
struct Todo {
    title: &'static str,
    done: bool,
}

impl Todos {
    fn add(&self, title: &'static str) {
        let todo = Todo { title, done: false };
        self.0.named("add").update(move |list| list.push(todo));
    }

    fn toggle(&self, index: usize) {
        self.0.named("toggle").update(move |list| {
            if let Some(todo) = list.get_mut(index) {
                todo.done = !todo.done;
            }
        });
    }
}

fn stores() {
    heading("9. Stores: one state value, actions, selectors, middleware (stateloom-store)");
    let history = History::new(10);
    let vetoes = middleware_fn(
        |api: &Api<Vec<Todo>>, next: Next<Vec<Todo>>, write: Write<Vec<Todo>>| {
            if api.with(|list| list.len()) >= 3 && write.action() == Some("add") {
                println!("   middleware: the list is full, `add` vetoed");
            } else {
                next.run(write);
            }
        },
    );
    // The first middleware added is the outermost: history records only what the veto lets by.
    let store = Store::builder(Vec::new())
        .middleware(vetoes)
        .middleware(history.clone())
        .build();
    let todos = Todos(store.clone());
    let open = store.select(|list| list.iter().filter(|t| !t.done).count());
    let effect = effect(move || println!("   effect: {} open", open.get()));
    let sub =
        store.subscribe(|new, old| println!("   listener: {} -> {} todos", old.len(), new.len()));
    todos.add("milk");
    todos.add("eggs");
    println!("toggling milk: the listener sees the write, the `open` selector changes");
    todos.toggle(0);
    todos.add("bread");
    todos.add("jam");
    println!("undo (can_undo = {}):", history.can_undo().get());
    history.undo();
    println!(
        "titles now: {:?}",
        store.with(|l| l.iter().map(|t| t.title).collect::<Vec<_>>())
    );
    sub.unsubscribe();
    effect.dispose();
    store.destroy();
}

/// A pretend network round trip: not ready when first polled, ready when polled again.
fn network() -> impl Future<Output = ()> {
    let mut sent = false;
    std::future::poll_fn(move |cx| {
        if sent {
            Poll::Ready(())
        } else {
            sent = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

fn optimistic_updates() {
    heading("10. Queries, mutations and optimistic updates (stateloom-optimistic)");
    // A pretend server holding a todo list; adding "" is refused.
    let server = Rc::new(RefCell::new(vec!["milk".to_string()]));
    let todos = QueryBuilder::new({
        let server = server.clone();
        move |_| {
            println!("   (fetching the list)");
            let rows = server.borrow().clone();
            async move {
                network().await;
                Ok::<_, String>(rows)
            }
        }
    })
    .keys([Key::table("todos")])
    .build();
    let add = MutationBuilder::new(Concurrency::Concurrent, {
        let server = server.clone();
        move |title: String, _| {
            let server = server.clone();
            async move {
                network().await;
                if title.is_empty() {
                    return Err("a todo needs a title".to_string());
                }
                server.borrow_mut().push(title);
                Ok(())
            }
        }
    })
    .invalidates([Key::table("todos")])
    .build();
    let shown = optimistic(todos);
    let add = optimistic_fn(
        shown,
        |list, title: &String| {
            list.clone().map(|mut rows| {
                rows.push(title.clone());
                rows
            })
        },
        add,
    );
    let scope = AtomScope::new();
    let sub = scope.sub(shown, |list| println!("   shown: {list:?}"));
    println!("the list is fetched when first read:");
    run_until_stalled();
    println!("adding \"eggs\": shown at once, waiting for the server");
    scope.write(add, "eggs".to_string());
    run_until_stalled();
    println!("adding \"\": the server refuses, so it is rolled back without a refetch");
    scope.write(add, String::new());
    run_until_stalled();
    println!("the add's own state: {:?}", scope.get(add));
    sub.unsubscribe();
    println!("dropping the scope cancels anything still running");
}

#[cfg(feature = "worker")]
fn worker() {
    use stateloom::worker::{Module, WorkerApp, WorkerClient, spawn_worker};

    heading("11. A store on its own thread, mirrored here (stateloom-worker)");
    // The host's store lives on the worker thread; only messages cross.
    let (transport, thread) = spawn_worker(|transport| {
        let list = Store::new(Vec::<String>::new());
        WorkerApp::builder()
            .module(
                Module::new("list", list).method("add", |store, item: String| {
                    store.update(move |l| l.push(item));
                    store.with_untracked(Vec::len)
                }),
            )
            .build(transport)
    })
    .expect("a thread starts");
    let client = WorkerClient::new(transport);
    let count = client.select(|state| state["list"].as_array().map_or(0, Vec::len));
    let effect = effect(move || {
        println!(
            "   effect on this thread: mirrored length = {}",
            count.get()
        )
    });
    for item in ["milk", "eggs"] {
        let len = client
            .call_blocking("list", "add", item)
            .expect("the host answers");
        println!("added {item}: the host has {len}, the mirror already shows it");
    }
    println!("mirrored state: {}", client.get_state());
    effect.dispose();
    client.dispose();
    thread
        .join()
        .expect("the host thread stops when the client is gone");
    println!("the host thread stopped");
}
