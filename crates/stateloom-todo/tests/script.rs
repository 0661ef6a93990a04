//! The app in script mode, as a user's terminal would show it: edits, undo and redo, filters,
//! persistence across runs, and a host in another process.

use std::io::Write;
use std::process::{Command, Stdio};

const APP: &str = env!("CARGO_BIN_EXE_stateloom-todo");

/// Runs the app with `args` and `script` on stdin; returns its stdout, or panics with stderr.
fn run(args: &[&str], script: &str) -> String {
    let mut child = Command::new(APP)
        .args(args)
        .args(["--script", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the app failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The screens printed, split at their separator lines.
fn screens(out: &str) -> Vec<&str> {
    out.split(&"-".repeat(64))
        .filter(|s| !s.trim().is_empty())
        .collect()
}

#[test]
fn edits_show_and_undo_and_redo_travel() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("todos.db");
    let db = db.to_str().unwrap();
    let out = run(
        &["--db", db],
        "add buy milk\nadd walk the dog\nadd write docs\ntoggle 2\nshow\n\
         edit 1 buy oat milk\ndelete 3\nfilter active\nshow\nfilter all\nundo\nshow\n",
    );
    let screens = screens(&out);
    assert_eq!(screens.len(), 4, "{out}");
    assert!(
        screens[0].contains("all (2 open, 1 done)"),
        "{}",
        screens[0]
    );
    assert!(screens[0].contains("[ ] buy milk"));
    assert!(screens[0].contains("[x] walk the dog"));
    // The active filter hides what is done.
    assert!(
        screens[1].contains("active (1 open, 1 done)"),
        "{}",
        screens[1]
    );
    assert!(screens[1].contains("[ ] buy oat milk"));
    assert!(!screens[1].contains("walk the dog"));
    // Undo brings back the deleted todo, and offers redo.
    assert!(screens[2].contains("[ ] write docs"), "{}", screens[2]);
    assert!(screens[2].contains("r: redo"));
    assert!(!screens[2].contains("saving"));
}

#[test]
fn the_list_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("todos.db");
    let db = db.to_str().unwrap();
    run(&["--db", db], "add first\nadd second\ntoggle 1\n");
    let out = run(&["--db", db], "");
    assert!(out.contains("[x] first"), "{out}");
    assert!(out.contains("[ ] second"), "{out}");
}

#[test]
fn a_bad_command_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("todos.db");
    let out = Command::new(APP)
        .args(["--db", db.to_str().unwrap(), "--script", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"add x\nfly away\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2: unknown command `fly`"), "{stderr}");
}

#[test]
fn clients_in_two_processes_share_a_host_in_a_third() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("todos.db");
    // The host takes a free port and says which.
    let mut host = Command::new(APP)
        .args(["--serve", "127.0.0.1:0", "--db", db.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(host.stderr.take().unwrap());
    let addr = std::io::BufRead::lines(stderr)
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("serving todos on ").map(str::to_owned))
        .expect("the host says where it listens");
    run(&["--connect", &addr], "add from one\n");
    let out = run(&["--connect", &addr], "add from two\ntoggle 1\n");
    host.kill().unwrap();
    let _ = host.wait();
    assert!(out.contains("[x] from one"), "{out}");
    assert!(out.contains("[ ] from two"), "{out}");
}
