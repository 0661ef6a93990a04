//! Counts the instructions of one timed run of every kernel pair with valgrind's callgrind, and
//! writes them to [`INSTRUCTIONS_FILE`] for the report.
//!
//! Each pair runs in its bench executable in repeat mode ([`REPEAT_ENV`]), which builds and
//! checks the pair once and then runs its timed part [`RUNS`] times (once for the
//! dynamic-graph workloads, see [`runs_and_timeout`]) inside functions named `timed_*`.
//! Callgrind counts only inside those functions, so the total is [`RUNS`] times the
//! instructions criterion's timed code executes, without the process start-up, the build, the
//! check or the per-run setup.

#[cfg(test)]
mod tests;

use std::{
    collections::BTreeMap,
    fs,
    io::Read as _,
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;
use serde_json::Value;
use xshell::{Shell, cmd};

use super::{
    report::format_count,
    results::{self, INSTRUCTIONS_FILE, InstructionCount, LIBRARIES, WORKLOADS},
};

/// The environment variable that puts a bench executable in repeat mode:
/// `<group>:<library>:<n>`. It must match `REPEAT_ENV` in `benches/src/harness.rs`.
pub(crate) const REPEAT_ENV: &str = "STATELOOM_BENCH_REPEAT";

/// How many timed runs one callgrind run makes; the count recorded is the total over this.
pub(crate) const RUNS: u64 = 3;

/// How long one pair may take under callgrind before it is killed and left uncounted.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(180);

/// The timed runs and the time limit of `group` under callgrind: the dynamic-graph workloads
/// execute about a thousand times more instructions per run than the others, and the count of
/// a run does not vary (the workload is seeded), so one run is counted, with a longer limit.
pub(crate) fn runs_and_timeout(group: &str) -> (u64, Duration) {
    if group.starts_with("dyn_") {
        (1, Duration::from_secs(900))
    } else {
        (RUNS, TIMEOUT)
    }
}

/// Callgrind's options: count only inside the harness's `timed_*` functions, and keep no
/// profile file, since only the total on stderr is read.
const CALLGRIND_ARGS: &[&str] = &[
    "--tool=callgrind",
    "--toggle-collect=*::timed_*",
    "--callgrind-out-file=/dev/null",
];

/// A bench executable built by cargo, and the directory cargo runs it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Executable {
    /// The compiled bench binary.
    pub(crate) path: PathBuf,
    /// The bench package's directory, which `cargo bench` makes the working directory.
    pub(crate) dir: PathBuf,
}

/// Counts every pair of [`WORKLOADS`] × [`LIBRARIES`] that the benches did not skip and writes
/// the counts to [`INSTRUCTIONS_FILE`] under `criterion`; without valgrind it says so and
/// writes nothing.
///
/// With `only` non-empty, only the pairs of those libraries are counted, and the other pairs
/// keep the counts the file already holds (counts do not depend on the machine's load, so the
/// peers' need not be taken again after a change to stateloom).
///
/// A pair that fails, or takes longer than [`TIMEOUT`], is recorded as not counted with the
/// reason; it does not stop the others.
///
/// # Errors
///
/// Fails when the bench executables cannot be built or listed, or when the skip file cannot be
/// read or the instructions file cannot be written.
pub(crate) fn run(
    sh: &Shell,
    root: &Path,
    criterion: &Path,
    only: &[String],
) -> anyhow::Result<()> {
    let has_valgrind = cmd!(sh, "valgrind --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok();
    if !has_valgrind {
        eprintln!("bench: `valgrind` not found; the instruction counts are left out");
        return Ok(());
    }
    let manifest = root.join("Cargo.toml");
    let messages = cmd!(
        sh,
        "cargo bench --manifest-path {manifest} -p stateloom-benches --no-run --message-format=json"
    )
    .quiet()
    .read()
    .context("`cargo bench --no-run` failed to list the bench executables")?;
    let executables = parse_executables(&messages);
    let skipped = results::read_skipped(criterion)?;

    let mut kept = if only.is_empty() {
        BTreeMap::new()
    } else {
        results::read_instructions(criterion)?
    };
    let pairs: Vec<(&str, &str)> = WORKLOADS
        .iter()
        .flat_map(|group| LIBRARIES.iter().map(move |library| (*group, *library)))
        .collect();
    let mut counts = Vec::with_capacity(pairs.len());
    for (index, (group, library)) in pairs.iter().copied().enumerate() {
        let id = (group.to_owned(), library.to_owned());
        if !is_selected(only, library) {
            if let Some(count) = kept.remove(&id) {
                counts.push((id, count));
            }
            continue;
        }
        let outcome = match skipped.get(&id) {
            Some(reason) => Err(reason.clone()),
            None => count_in_executable(&executables, group, library),
        };
        let shown = match &outcome {
            Ok(count) => format!("{} instructions per run", format_count(*count)),
            Err(reason) => format!("not counted: {reason}"),
        };
        eprintln!(
            "bench: callgrind {}/{} {group}/{library}: {shown}",
            index + 1,
            pairs.len()
        );
        let count = match outcome {
            Ok(count) => InstructionCount::Counted(count),
            Err(reason) => InstructionCount::NotCounted(reason),
        };
        counts.push((id, count));
    }

    let path = criterion.join(INSTRUCTIONS_FILE);
    fs::write(&path, to_json(&counts)).with_context(|| format!("cannot write {}", path.display()))
}

/// Whether `library`'s pairs are counted when only `only`'s are asked for (all when empty).
pub(crate) fn is_selected(only: &[String], library: &str) -> bool {
    only.is_empty() || only.iter().any(|l| l == library)
}

/// Counts one pair in the bench executable that holds its group; `Err` says why it has no
/// count.
fn count_in_executable(
    executables: &BTreeMap<String, Executable>,
    group: &str,
    library: &str,
) -> Result<u64, String> {
    let target = executable_for(group)
        .ok_or_else(|| "no bench executable is known for this workload".to_owned())?;
    let executable = executables
        .get(target)
        .ok_or_else(|| format!("`cargo bench --no-run` built no `{target}` executable"))?;
    let (runs, timeout) = runs_and_timeout(group);
    let mut command = Command::new("valgrind");
    command
        .args(CALLGRIND_ARGS)
        .arg(&executable.path)
        .env(REPEAT_ENV, format!("{group}:{library}:{runs}"))
        .current_dir(&executable.dir);
    count_pair(command, runs, timeout)
}

/// The bench target whose executable holds `group`'s pairs.
pub(crate) fn executable_for(group: &str) -> Option<&'static str> {
    if group.starts_with("kairo_") || group.starts_with("cellx_") || group.starts_with("dyn_") {
        Some("core_propagation")
    } else if group.starts_with("create_") {
        Some("core_creation")
    } else {
        None
    }
}

/// The bench executables in the JSON messages of `cargo bench --no-run --message-format=json`,
/// by target name; lines that are not bench artifacts are ignored.
pub(crate) fn parse_executables(messages: &str) -> BTreeMap<String, Executable> {
    let mut executables = BTreeMap::new();
    for line in messages.lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let target = &message["target"];
        let is_bench = target["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bench"));
        let (Some(name), Some(path), Some(manifest)) = (
            target["name"].as_str(),
            message["executable"].as_str(),
            message["manifest_path"].as_str(),
        ) else {
            continue;
        };
        let Some(dir) = Path::new(manifest).parent() else {
            continue;
        };
        if is_bench {
            let executable = Executable {
                path: PathBuf::from(path),
                dir: dir.to_path_buf(),
            };
            executables.insert(name.to_owned(), executable);
        }
    }
    executables
}

/// Runs `command`, a callgrind run of `runs` timed runs, and returns the instructions of one
/// run; `Err` is the reason the pair is not counted: it failed, printed no count, counted
/// nothing, or took longer than `timeout`.
pub(crate) fn count_pair(command: Command, runs: u64, timeout: Duration) -> Result<u64, String> {
    let finished = run_with_timeout(command, timeout)
        .map_err(|error| format!("could not run valgrind: {error}"))?;
    let Some((status, stderr)) = finished else {
        return Err(format!(
            "did not finish in {} s under callgrind",
            timeout.as_secs()
        ));
    };
    if !status.success() {
        return Err(match first_message(&stderr) {
            Some(message) => format!("failed under callgrind ({status}): {message}"),
            None => format!("failed under callgrind ({status})"),
        });
    }
    let total = parse_collected(&stderr)?;
    if total == 0 {
        // The toggle matched no function, so the figure would be meaningless.
        return Err("callgrind counted nothing inside `timed_*` functions".to_owned());
    }
    Ok(per_run(total, runs))
}

/// Runs `command` with stdout discarded and stderr captured, killing it after `timeout`.
///
/// Returns the exit status and stderr, or `None` if the command was killed.
fn run_with_timeout(
    mut command: Command,
    timeout: Duration,
) -> std::io::Result<Option<(ExitStatus, String)>> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read stderr on a thread so a chatty child cannot block on a full pipe.
    let reader = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() >= timeout {
            // Killing a child that has just exited by itself fails harmlessly; `wait` reaps it
            // either way.
            let _ = child.kill();
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    Ok(status.map(|status| (status, stderr)))
}

/// The total from callgrind's `==<pid>== Collected : <n>` line on stderr.
///
/// # Errors
///
/// Returns the reason as text when there is no such line or its number cannot be read.
pub(crate) fn parse_collected(stderr: &str) -> Result<u64, String> {
    for line in stderr.lines() {
        let Some(rest) = strip_valgrind_prefix(line)
            .trim_start()
            .strip_prefix("Collected")
        else {
            continue;
        };
        let Some(number) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let digits = number.trim().replace(',', "");
        return digits
            .parse()
            .map_err(|_| format!("cannot read callgrind's count in {:?}", line.trim()));
    }
    Err("callgrind printed no `Collected :` line".to_owned())
}

/// `line` without valgrind's `==<pid>==` prefix, if it has one.
fn strip_valgrind_prefix(line: &str) -> &str {
    line.strip_prefix("==")
        .and_then(|rest| rest.split_once("=="))
        .map_or(line, |(_, text)| text)
}

/// The first line of stderr that the program printed rather than valgrind, which is where a
/// bench's error or panic message starts.
fn first_message(stderr: &str) -> Option<&str> {
    stderr
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with("=="))
}

/// `total` divided by `runs`, rounded to the nearest whole instruction.
pub(crate) fn per_run(total: u64, runs: u64) -> u64 {
    let runs = runs.max(1);
    total.saturating_add(runs / 2) / runs
}

/// The instructions file: a JSON array with one object per line, in the order the pairs ran,
/// each with `group` and `library` first.
pub(crate) fn to_json(counts: &[((String, String), InstructionCount)]) -> String {
    // Written by hand rather than through a map so the fields keep a readable order.
    let text = |value: &str| Value::from(value).to_string();
    let lines: Vec<String> = counts
        .iter()
        .map(|((group, library), count)| {
            let outcome = match count {
                InstructionCount::Counted(instructions) => {
                    format!("\"instructions\":{instructions}")
                }
                InstructionCount::NotCounted(reason) => format!("\"skipped\":{}", text(reason)),
            };
            format!(
                "  {{\"group\":{},\"library\":{},{outcome}}}",
                text(group),
                text(library)
            )
        })
        .collect();
    if lines.is_empty() {
        return "[]\n".to_owned();
    }
    format!("[\n{}\n]\n", lines.join(",\n"))
}
