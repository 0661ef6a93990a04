//! The host of a counter and todo app, serving clients on other processes or machines through
//! a NATS server. Pair it with the `nats_client` example.
//!
//! ```text
//! nats-server -a 127.0.0.1 -p 4222 &          # or any NATS server you can reach
//! cargo run -p stateloom-worker --features nats --example nats_host -- nats://127.0.0.1:4222
//! # in another terminal, or on another machine:
//! cargo run -p stateloom-worker --features nats --example nats_client -- nats://127.0.0.1:4222 "buy milk"
//! ```
//!
//! The address defaults to `$NATS_URL`, then `nats://127.0.0.1:4222`. Set `NATS_TOKEN` if the
//! server asks for a token, and `NATS_CODEC=postcard` for the binary codec (the clients must use
//! the same). The host runs until it is stopped (Ctrl-C); run it again and its clients follow
//! the new host lifetime, starting from its fresh state.
#![allow(clippy::print_stdout)] // printing is the point of an example

use std::process::ExitCode;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stateloom_store::Store;
use stateloom_worker::{Module, NatsBuilder, PostcardCodec, RemoteError, SyncMode, WorkerApp};

/// One todo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: u32,
    title: String,
    done: bool,
}

/// The options both examples read from the command line and the environment.
fn nats() -> NatsBuilder {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("NATS_URL").ok())
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let mut nats = NatsBuilder::new(url).prefix("stateloom.example.todo");
    if let Ok(token) = std::env::var("NATS_TOKEN") {
        nats = nats.token(token);
    }
    if std::env::var("NATS_CODEC").is_ok_and(|codec| codec == "postcard") {
        nats = nats.codec(PostcardCodec);
    }
    nats
}

fn main() -> ExitCode {
    let nats = nats();
    let transport = match nats.clone().name("stateloom-example-host").host() {
        Ok(transport) => transport,
        Err(error) => {
            eprintln!("nats_host: {error}");
            eprintln!("is a NATS server running? `nats-server -a 127.0.0.1 -p 4222` starts one");
            return ExitCode::FAILURE;
        }
    };
    let stats = transport.stats();
    let counter = Store::new(0_i64);
    let todos = Store::new(Vec::<Todo>::new());
    let app = WorkerApp::builder()
        .module(Module::new("counter", counter).method("add", |s, n: i64| {
            s.update(move |c| *c += n);
            s.get_state()
        }))
        .module(
            Module::new("todos", todos)
                .method("add", |s, title: String| {
                    let id = s.with_untracked(|todos| todos.iter().map(|t| t.id + 1).max().unwrap_or(1));
                    s.update(move |todos| todos.push(Todo { id, title, done: false }));
                    id
                })
                .try_method("toggle", |s, id: u32| {
                    if !s.with_untracked(|todos| todos.iter().any(|t| t.id == id)) {
                        return Err(RemoteError::new("no-such-todo", format!("no todo {id}")));
                    }
                    s.update(move |todos| {
                        for todo in todos.iter_mut().filter(|t| t.id == id) {
                            todo.done = !todo.done;
                        }
                    });
                    Ok(())
                }),
        )
        .sync(SyncMode::Patch)
        // Clients that missed a change learn it within a second, even if nothing else happens.
        .heartbeat(Duration::from_secs(1))
        .build(transport);
    println!(
        "nats_host: serving epoch {} on {} (calls on {})",
        app.epoch(),
        nats.state_subject(),
        nats.call_subject()
    );
    app.run();
    println!(
        "nats_host: the connection closed after {} messages ({} rejected)",
        stats.received(),
        stats.rejected()
    );
    ExitCode::SUCCESS
}
