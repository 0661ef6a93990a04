//! Tests for `instructions`: reading callgrind's total, listing the bench executables, the
//! file format, and running a pair under a time limit with `sh` standing in for valgrind.

use super::*;
use crate::bench::tests::TempDir;

/// The end of callgrind's stderr for a successful run of three timed runs.
const CALLGRIND_STDERR: &str = "\
==31250== Callgrind, a call-graph generating cache profiler
==31250== Command: /work/main/target/release/deps/core_creation-071e03c05df3a0dc
==31250== brk segment overflow in thread #1: can't grow to 0x483a000
363424657 ns per run
==31250== 
==31250== Events    : Ir
==31250== Collected : 2729139
==31250== 
==31250== I   refs:      2,729,139
";

/// A command that runs `script` in `sh`, in place of valgrind.
fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

#[test]
fn the_collected_line_gives_the_total() {
    assert_eq!(parse_collected(CALLGRIND_STDERR), Ok(2_729_139));
    // Without valgrind's prefix, or with a thousands separator, the line still reads.
    assert_eq!(parse_collected("Collected : 12\n"), Ok(12));
    assert_eq!(parse_collected("==1== Collected :  1,234\n"), Ok(1234));
}

#[test]
fn a_missing_or_garbled_collected_line_is_an_error_value() {
    let cases = [
        ("", "printed no `Collected :` line"),
        ("==1== Events    : Ir\n==1== I   refs: 5\n", "printed no"),
        ("garbage\n\u{0}\u{fffd}\n", "printed no"),
        ("==1== Collected : lots\n", "cannot read callgrind's count"),
        ("==1== Collected : -5\n", "cannot read callgrind's count"),
        (
            "==1== Collected : 99999999999999999999999\n",
            "cannot read callgrind's count",
        ),
    ];
    for (stderr, expected) in cases {
        let error = parse_collected(stderr).unwrap_err();
        assert!(error.contains(expected), "{stderr:?}: {error}");
    }
}

#[test]
fn the_total_is_divided_by_the_runs_and_rounded() {
    assert_eq!(per_run(2_729_139, 3), 909_713);
    assert_eq!(per_run(2_729_140, 3), 909_713);
    assert_eq!(per_run(2_729_141, 3), 909_714);
    assert_eq!(per_run(7, 0), 7);
    assert_eq!(per_run(u64::MAX, 1), u64::MAX);
}

#[test]
fn each_group_has_its_executable() {
    assert_eq!(executable_for("kairo_deep"), Some("core_propagation"));
    assert_eq!(executable_for("cellx_2500"), Some("core_propagation"));
    assert_eq!(executable_for("create_dispose"), Some("core_creation"));
    assert_eq!(executable_for("dyn_wide_dense"), Some("core_propagation"));
    assert_eq!(executable_for("atom_fanout_1000"), None);
    // Every workload of the comparison can be counted.
    for workload in WORKLOADS {
        assert!(executable_for(workload).is_some(), "{workload}");
    }
}

#[test]
fn only_bench_executables_are_listed() {
    let messages = r#"{"reason":"compiler-artifact","target":{"name":"criterion","kind":["lib"]},"executable":null,"manifest_path":"/reg/criterion/Cargo.toml"}
{"reason":"compiler-artifact","target":{"name":"stateloom_benches","kind":["lib"]},"executable":"/t/release/deps/stateloom_benches-1","manifest_path":"/w/benches/Cargo.toml"}
{"reason":"compiler-artifact","target":{"name":"core_propagation","kind":["bench"]},"executable":"/t/release/deps/core_propagation-2","manifest_path":"/w/benches/Cargo.toml","fresh":true}
not json
{"reason":"build-finished","success":true}
{"reason":"compiler-artifact","target":{"name":"core_creation","kind":["bench"]},"executable":"/t/release/deps/core_creation-3","manifest_path":"/w/benches/Cargo.toml"}"#;
    let executables = parse_executables(messages);
    let names: Vec<&str> = executables.keys().map(String::as_str).collect();
    assert_eq!(names, ["core_creation", "core_propagation"]);
    assert_eq!(
        executables["core_propagation"],
        Executable {
            path: PathBuf::from("/t/release/deps/core_propagation-2"),
            dir: PathBuf::from("/w/benches"),
        }
    );
}

#[test]
fn the_file_lists_counts_and_reasons_and_reads_back() {
    let counts = vec![
        (
            ("kairo_deep".to_owned(), "stateloom".to_owned()),
            InstructionCount::Counted(925_062),
        ),
        (
            ("cellx_1000".to_owned(), "reactive_graph".to_owned()),
            InstructionCount::NotCounted("did not finish in 10 s".to_owned()),
        ),
    ];
    let text = to_json(&counts);
    assert_eq!(
        text,
        r#"[
  {"group":"kairo_deep","library":"stateloom","instructions":925062},
  {"group":"cellx_1000","library":"reactive_graph","skipped":"did not finish in 10 s"}
]
"#
    );
    assert_eq!(to_json(&[]), "[]\n");

    let dir = TempDir::new("instructions");
    crate::bench::tests::write_benchmark(&dir.0, "kairo_deep", "stateloom", 1.0);
    fs::write(dir.0.join(INSTRUCTIONS_FILE), text).unwrap();
    let results = results::collect(&dir.0).unwrap();
    assert_eq!(results.instructions.into_iter().collect::<Vec<_>>(), {
        let mut sorted = counts;
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted
    });
}

#[test]
fn a_pair_that_succeeds_gives_its_count_per_run() {
    let command = sh("echo 'running' >&2; echo '==7== Collected : 3000' >&2");
    assert_eq!(count_pair(command, 3, Duration::from_secs(10)), Ok(1000));
}

#[test]
fn a_pair_that_fails_gives_its_exit_status_and_message() {
    let command = sh(
        "echo '==7== Callgrind' >&2; echo 'no pair x/y in this binary' >&2; echo '==7== Collected : 0' >&2; exit 2",
    );
    assert_eq!(
        count_pair(command, 3, Duration::from_secs(10)),
        Err("failed under callgrind (exit status: 2): no pair x/y in this binary".to_owned())
    );
    assert_eq!(
        count_pair(sh("exit 3"), 3, Duration::from_secs(10)),
        Err("failed under callgrind (exit status: 3)".to_owned())
    );
}

#[test]
fn a_pair_without_a_count_is_not_counted() {
    let error = count_pair(sh("echo hello >&2"), 3, Duration::from_secs(10)).unwrap_err();
    assert!(error.contains("no `Collected :` line"), "{error}");
    let error = count_pair(
        sh("echo '==7== Collected : 0' >&2"),
        3,
        Duration::from_secs(10),
    )
    .unwrap_err();
    assert!(error.contains("counted nothing"), "{error}");
    let error = count_pair(
        Command::new("/nonexistent/valgrind"),
        3,
        Duration::from_secs(10),
    )
    .unwrap_err();
    assert!(error.starts_with("could not run valgrind"), "{error}");
}

#[test]
fn a_pair_that_takes_too_long_is_killed() {
    let started = Instant::now();
    // `exec` makes the shell itself the sleeper, so the kill reaches it and closes stderr.
    let outcome = count_pair(sh("exec sleep 30"), 3, Duration::from_secs(1));
    assert_eq!(
        outcome,
        Err("did not finish in 1 s under callgrind".to_owned())
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_dynamic_graph_workloads_are_counted_over_one_run_with_a_longer_limit() {
    assert_eq!(runs_and_timeout("kairo_deep"), (RUNS, TIMEOUT));
    let (runs, timeout) = runs_and_timeout("dyn_simple_component");
    assert_eq!(runs, 1);
    assert!(timeout > TIMEOUT);
}

#[test]
fn a_library_filter_selects_only_its_pairs() {
    assert!(is_selected(&[], "alien_signals"));
    let only = ["stateloom".to_owned()];
    assert!(is_selected(&only, "stateloom"));
    assert!(!is_selected(&only, "alien_signals"));
}

#[test]
fn counts_on_disk_read_back_for_a_partial_recount() {
    let dir = TempDir::new("instructions-kept");
    let counts = [
        (
            ("kairo_deep".to_owned(), "alien_signals".to_owned()),
            InstructionCount::Counted(1_266_000),
        ),
        (
            ("kairo_deep".to_owned(), "reactive_graph".to_owned()),
            InstructionCount::NotCounted("did not finish".to_owned()),
        ),
    ];
    std::fs::write(dir.0.join(INSTRUCTIONS_FILE), to_json(&counts)).unwrap();
    let kept = results::read_instructions(&dir.0).unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[&counts[0].0], counts[0].1);
    assert_eq!(kept[&counts[1].0], counts[1].1);
    let empty = TempDir::new("instructions-none");
    assert!(results::read_instructions(&empty.0).unwrap().is_empty());
}
