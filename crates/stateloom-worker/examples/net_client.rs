//! A client of `net_host`: mirrors its state and sends the commands it reads from stdin.
//!
//! ```text
//! cargo run -p stateloom-worker --features net --example net_client -- 127.0.0.1:7878
//! > add 5            (counter.add)
//! > todo buy milk    (todos.add)
//! > toggle 1         (todos.toggle)
//! > show
//! ```
//!
//! Changes made by other clients are printed as they arrive. Commands can be piped in:
//! `printf 'add 2\ntodo walk\nshow\n' | cargo run ... --example net_client`.

use std::io::BufRead;
use std::time::Duration;

use stateloom_worker::WorkerClient;
use stateloom_worker::net::NetClient;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".into());
    let mut builder = NetClient::builder();
    if let Ok(secret) = std::env::var("STATELOOM_SECRET") {
        builder = builder.secret(secret);
    }
    let client = WorkerClient::new(builder.connect_tcp(&addr)?);
    client.wait_ready(Duration::from_secs(10))?;
    eprintln!("connected to {addr}; commands: add N | todo TEXT | toggle ID | show");

    // Print every change of the mirror, whoever made it.
    let _printer = client.watch(|state| state.clone(), |state| eprintln!("state: {state}"));

    // Commands arrive on another thread; the client lives on this one.
    let (lines_tx, lines) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        client.pump();
        match lines.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => run(&client, line.trim()),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
    client.dispose();
    Ok(())
}

#[allow(clippy::print_stdout)] // Results are the program's output.
fn run(client: &WorkerClient, line: &str) {
    let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
    let outcome = match command {
        "add" => match rest.parse::<i64>() {
            Ok(n) => client.call_blocking("counter", "add", n),
            Err(_) => return eprintln!("usage: add N"),
        },
        "todo" => client.call_blocking("todos", "add", rest),
        "toggle" => match rest.parse::<u64>() {
            Ok(id) => client.call_blocking("todos", "toggle", id),
            Err(_) => return eprintln!("usage: toggle ID"),
        },
        "show" => Ok(client.get_state()),
        "" => return,
        other => return eprintln!("unknown command {other}"),
    };
    match outcome {
        Ok(value) => println!("{value}"),
        Err(error) => eprintln!("error: {error}"),
    }
}
