//! `stateloom-todo`: a terminal todo app that uses every StateLoom crate.
//!
//! ```text
//! stateloom-todo [--db PATH]               the app, with its state host on a worker thread
//! stateloom-todo --serve ADDR [--db PATH]  only the state host, serving over TCP
//! stateloom-todo --connect ADDR            the app, attached to a host in another process
//! stateloom-todo --script FILE|-           no terminal: run commands, print the screen
//! ```
//!
//! - The todos are an event-sourced SQLite store (`stateloom-bridge`) in the user's data
//!   directory (`--db` overrides it), loaded into a store with undo and redo
//!   (`stateloom-store`).
//! - That store lives on a state host (`stateloom-worker`): a worker thread, or another process
//!   reached over TCP.
//! - The screen reads the host's list through an optimistic query (`stateloom-optimistic`), so
//!   an edit shows at once, and keeps its own state (filter, selection, the line being typed)
//!   in atoms (`stateloom-atom`), all on one reactive graph (`stateloom-core`).

mod app;
mod host;
mod script;
mod terminal;
mod ui;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use stateloom::worker::net::{NetClient, NetHost};
use stateloom::worker::{WorkerApp, WorkerClient, spawn_worker};

/// What the command line asked for.
#[derive(Debug, Default)]
struct Args {
    db: Option<PathBuf>,
    serve: Option<String>,
    connect: Option<String>,
    script: Option<String>,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args::default();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("db") => args.db = Some(parser.value()?.into()),
            Long("serve") => args.serve = Some(parser.value()?.string()?),
            Long("connect") => args.connect = Some(parser.value()?.string()?),
            Long("script") => args.script = Some(parser.value()?.string()?),
            Long("help") | Short('h') => {
                eprintln!(
                    "usage: stateloom-todo [--db PATH] [--serve ADDR | --connect ADDR] [--script FILE|-]"
                );
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(args)
}

/// The database file: `--db`, or `todos.db` in the user's data directory.
fn database(args: &Args) -> Result<PathBuf, String> {
    match &args.db {
        Some(path) => Ok(path.clone()),
        None => dirs::data_dir()
            .map(|dir| dir.join("stateloom").join("todos.db"))
            .ok_or_else(|| "no data directory on this system: pass --db PATH".to_owned()),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stateloom-todo: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args().map_err(|e| e.to_string())?;
    if let Some(addr) = &args.serve {
        return serve(&database(&args)?, addr);
    }
    let client = match &args.connect {
        Some(addr) => WorkerClient::new(
            NetClient::builder()
                .connect_tcp(addr)
                .map_err(|e| format!("cannot connect to {addr}: {e}"))?,
        ),
        None => {
            let path = database(&args)?;
            let (opened, failure) = std::sync::mpsc::channel();
            let (transport, _thread) = spawn_worker(move |transport| match host::app(&path) {
                Ok(app) => app.build(transport),
                Err(error) => {
                    let _ = opened.send(error);
                    WorkerApp::builder().build(transport)
                }
            })
            .map_err(|e| e.to_string())?;
            let client = WorkerClient::new(transport);
            client
                .wait_ready(Duration::from_secs(30))
                .map_err(|e| e.to_string())?;
            if let Ok(error) = failure.try_recv() {
                return Err(error);
            }
            client
        }
    };
    client
        .wait_ready(Duration::from_secs(30))
        .map_err(|e| format!("the state host does not answer: {e}"))?;
    let app = app::App::new(client);
    match &args.script {
        Some(source) => script::run(&app, source),
        None => {
            use std::io::IsTerminal;
            if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
                return Err(
                    "not a terminal: run it in one, or use --script FILE (- for stdin)".into(),
                );
            }
            terminal::run(&app).map_err(|e| e.to_string())
        }
    }
}

/// Runs only the state host, serving TCP clients, until killed.
fn serve(path: &std::path::Path, addr: &str) -> Result<(), String> {
    let host = NetHost::builder().build();
    let app = host::app(path)?
        .heartbeat(Duration::from_secs(5))
        .build(host.clone());
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let listening = host.serve_tcp(listener).map_err(|e| e.to_string())?;
    eprintln!("serving todos on {}", listening.local_addr());
    app.run();
    Ok(())
}
