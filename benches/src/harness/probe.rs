//! The probe child process and the skip file: how a pair is tried once, under a time limit,
//! before it is timed.

use std::fs::OpenOptions;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use super::{Group, PROBE_ENV, PROBE_TIMEOUT};

/// Probe mode: run the one pair named by `spec` once and report through the exit code.
pub(super) fn run_probe(groups: &[Group], spec: &str) -> ExitCode {
    let Some((group_name, library)) = spec.split_once(':') else {
        eprintln!("{PROBE_ENV} must be <group>:<library>, got {spec:?}");
        return ExitCode::from(2);
    };
    let Some(pair) = super::find_pair(groups, group_name, library) else {
        return ExitCode::from(2);
    };
    // Put the panic message on the first line of stderr: the parent reports that line.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".to_owned());
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        match info.location() {
            Some(at) => eprintln!("{message} (at {}:{})", at.file(), at.line()),
            None => eprintln!("{message}"),
        }
    }));
    (pair.probe)();
    ExitCode::SUCCESS
}

/// Runs the probe child for one pair; `Err` carries the skip reason.
pub(super) fn probe(group: &str, library: &str) -> Result<(), String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("could not find the bench binary: {e}"))?;
    let mut child = Command::new(exe)
        .env(PROBE_ENV, format!("{group}:{library}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start the probe: {e}"))?;
    // Read stderr on a thread so a chatty child cannot block on a full pipe.
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= PROBE_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("could not wait for the probe: {e}")),
        }
    };
    let stderr = reader.join().unwrap_or_default();
    match status {
        None => Err(format!("did not finish in {} s", PROBE_TIMEOUT.as_secs())),
        Some(status) if status.success() => Ok(()),
        Some(status) => {
            let first = stderr.lines().find(|l| !l.trim().is_empty());
            let first = first.map_or_else(|| format!("exited with {status}"), str::to_owned);
            Err(format!("failed its correctness check: {first}"))
        }
    }
}

/// Appends one skip record to the shared skip file and says so on stderr.
pub(super) fn record_skip(group: &str, library: &str, reason: &str) {
    eprintln!("skipping {group}/{library}: {reason}");
    let line = serde_json::json!({ "group": group, "library": library, "reason": reason });
    let dir = target_dir().join("criterion");
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stateloom-skipped.jsonl"))?;
        writeln!(file, "{line}")
    });
    if let Err(e) = written {
        eprintln!("could not record the skip in {}: {e}", dir.display());
    }
}

/// The cargo target directory: `CARGO_TARGET_DIR`, else the `target` ancestor of this binary.
///
/// # Examples
/// ```
/// let dir = stateloom_benches::harness::target_dir();
/// # let _ = dir;
/// ```
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "target"))
        .or_else(|| exe.ancestors().nth(3))
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
}
