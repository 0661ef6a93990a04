//! A counter and todo list served over TCP: run it, then connect `net_client`s from other
//! terminals or machines.
//!
//! ```text
//! cargo run -p stateloom-worker --features net --example net_host -- 127.0.0.1:7878
//! cargo run -p stateloom-worker --features net --example net_client -- 127.0.0.1:7878
//! ```
//!
//! Set `STATELOOM_SECRET` (the same value on both sides) to require the shared-secret
//! handshake. Stop the host with Ctrl-C.

use std::net::TcpListener;

use serde::{Deserialize, Serialize};
use stateloom_store::Store;
use stateloom_worker::net::NetHost;
use stateloom_worker::{Module, RemoteError, WorkerApp};

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: u64,
    text: String,
    done: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".into());
    let mut builder = NetHost::builder();
    if let Ok(secret) = std::env::var("STATELOOM_SECRET") {
        builder = builder.secret(secret);
    }
    let host = builder.build();

    let counter = Store::new(0_i64);
    let todos = Store::new(Vec::<Todo>::new());
    let app = WorkerApp::builder()
        .module(Module::new("counter", counter).method("add", |s, n: i64| {
            s.update(move |c| *c += n);
            s.get_state()
        }))
        .module(
            Module::new("todos", todos)
                .method("add", |s, text: String| {
                    let id = s.get_state().iter().map(|t| t.id).max().unwrap_or(0) + 1;
                    s.update(move |list| {
                        list.push(Todo {
                            id,
                            text,
                            done: false,
                        })
                    });
                    id
                })
                .try_method("toggle", |s, id: u64| {
                    if !s.get_state().iter().any(|t| t.id == id) {
                        return Err(RemoteError::new("not-found", format!("no todo {id}")));
                    }
                    s.update(move |list| {
                        for todo in list.iter_mut().filter(|t| t.id == id) {
                            todo.done = !todo.done;
                        }
                    });
                    Ok(())
                }),
        )
        .heartbeat(std::time::Duration::from_secs(5))
        .build(host.clone());

    let listening = host.serve_tcp(TcpListener::bind(&addr)?)?;
    eprintln!("serving on {}", listening.local_addr());
    app.run();
    Ok(())
}
