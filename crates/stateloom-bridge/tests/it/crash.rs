//! Crash safety: a child process killed in the middle of committing leaves a database that
//! opens with every event it reported committed, and tables that match the log.
//!
//! The test re-runs its own binary as the child: with `STATELOOM_BRIDGE_CRASH_CHILD` set to
//! a database path, the test commits to that database without end, reporting each commit.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::todo::{TodoEvent, added, builder, count, dump};

const CHILD: &str = "STATELOOM_BRIDGE_CRASH_CHILD";
const TEST: &str = "crash::a_process_killed_mid_commit_loses_no_committed_event";
/// The parent kills the child once it has reported this many events.
const KILL_AFTER: i64 = 400;

#[test]
fn a_process_killed_mid_commit_loses_no_committed_event() {
    if let Ok(path) = std::env::var(CHILD) {
        commit_forever(&path);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reported = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(seq) = line.strip_prefix("committed ") {
            reported = seq.parse().unwrap();
            if reported >= KILL_AFTER {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        reported >= KILL_AFTER,
        "the child stopped early, at {reported}"
    );

    let store = builder().open(&path).unwrap();
    let events = store.events().unwrap();
    assert!(
        events.len() as i64 >= reported,
        "lost committed events: {} in the log, {reported} reported",
        events.len()
    );
    // The log has no gap, and the tables hold exactly what the log says.
    for (i, (seq, event)) in events.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1);
        assert_eq!(*event, added(*seq, &format!("todo {seq}")));
    }
    assert_eq!(store.query(&count("todos")).unwrap(), events.len() as i64);
    let state = dump(&store);
    store.rebuild().unwrap();
    assert_eq!(dump(&store), state);
    // And the store goes on.
    let next = events.len() as i64 + 1;
    store
        .commit(added(next, &format!("todo {next}")))
        .map_err(|e| e.error)
        .unwrap();
}

/// The child: single commits and batches of ten, each reported once it returned.
fn commit_forever(path: &str) {
    let store = builder().open(path).unwrap();
    let mut out = std::io::stdout().lock();
    let mut seq = 0_i64;
    for round in 0..1_000_000_i64 {
        let size = if round % 2 == 0 { 1 } else { 10 };
        let events: Vec<TodoEvent> = (seq + 1..=seq + size)
            .map(|s| added(s, &format!("todo {s}")))
            .collect();
        store.commit_all(events).map_err(|e| e.error).unwrap();
        seq += size;
        writeln!(out, "committed {seq}").unwrap();
        out.flush().unwrap();
    }
}
