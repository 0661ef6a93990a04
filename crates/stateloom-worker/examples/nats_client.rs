//! A client of the `nats_host` example: it mirrors the host's counter and todos, adds one to
//! the counter, adds a todo if given one, and prints the state as it changes.
//!
//! ```text
//! cargo run -p stateloom-worker --features nats --example nats_client -- nats://127.0.0.1:4222 "buy milk"
//! ```
//!
//! Arguments: the server's address (default `$NATS_URL`, then `nats://127.0.0.1:4222`), then
//! an optional todo title. It watches for `$WATCH_SECONDS` seconds (default 5), so run two
//! clients at once to see each other's changes. `NATS_TOKEN` and `NATS_CODEC=postcard` work as
//! for the host.
#![allow(clippy::print_stdout)] // printing is the point of an example

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::Value;
use stateloom_worker::{NatsBuilder, PostcardCodec, WorkerClient};

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

fn show(state: &Value) -> String {
    let count = state["counter"].as_i64().unwrap_or(0);
    let todos: Vec<String> = state["todos"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|todo| {
            let done = if todo["done"].as_bool().unwrap_or(false) {
                "x"
            } else {
                " "
            };
            format!(
                "[{done}] {} {}",
                todo["id"],
                todo["title"].as_str().unwrap_or("")
            )
        })
        .collect();
    format!("counter = {count}, todos = {todos:?}")
}

fn run() -> stateloom_worker::Result<()> {
    let transport = nats().name("stateloom-example-client").client()?;
    let client = WorkerClient::new(transport);
    client.wait_ready(Duration::from_secs(5))?;
    println!(
        "nats_client: connected, epoch {:?}: {}",
        client.epoch(),
        show(&client.get_state())
    );

    let _watch = client.watch(show, |shown| println!("nats_client: now {shown}"));
    let count = client.call_blocking("counter", "add", 1)?;
    println!("nats_client: counter.add(1) returned {count}");
    if let Some(title) = std::env::args().nth(2) {
        let id = client.call_blocking("todos", "add", &title)?;
        println!("nats_client: todos.add({title:?}) returned id {id}");
        client.call_blocking("todos", "toggle", &id)?;
    }

    let seconds = std::env::var("WATCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        client.pump();
        std::thread::sleep(Duration::from_millis(20));
    }
    client.dispose();
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nats_client: {error}");
            eprintln!("is the server up, and `nats_host` running against it?");
            ExitCode::FAILURE
        }
    }
}
