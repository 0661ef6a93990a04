//! Fixtures shared by the `bench` tests, and the whole report written from a fake criterion tree.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
};

use super::{report::Machine, results, write_report};

/// A fresh, empty directory under the system's temporary directory, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// Creates a directory whose name is unique to this process and call.
    pub(crate) fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "xtask-bench-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        fs::create_dir_all(&path).expect("cannot create a temporary directory");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes one benchmark as criterion does, under `<dir>/<group>/<function>/new/`.
pub(crate) fn write_benchmark(dir: &Path, group: &str, function: &str, median: f64) {
    let new = dir.join(group).join(function).join("new");
    fs::create_dir_all(&new).unwrap();
    let benchmark = serde_json::json!({
        "group_id": group,
        "function_id": function,
        "value_str": null,
        "throughput": null,
        "full_id": format!("{group}/{function}"),
        "directory_name": format!("{group}/{function}"),
        "title": format!("{group}/{function}"),
    });
    let estimates = serde_json::json!({
        "mean": {"point_estimate": median * 1.1, "standard_error": 1.0},
        "median": {"point_estimate": median, "standard_error": 1.0},
    });
    fs::write(new.join("benchmark.json"), benchmark.to_string()).unwrap();
    fs::write(new.join("estimates.json"), estimates.to_string()).unwrap();
}

/// A machine that does not change between runs, so reports can be compared.
pub(crate) fn machine() -> Machine {
    Machine {
        date: "2025-01-31 14:05 UTC".to_owned(),
        cpu: "Test CPU @ 3.00GHz".to_owned(),
        cores: 2,
        rustc: "rustc 1.95.0 (59807616e 2026-04-14)".to_owned(),
    }
}

#[test]
fn writes_the_report_and_chart_and_keeps_the_hand_written_part() {
    let criterion = TempDir::new("criterion");
    let docs = TempDir::new("docs");
    write_benchmark(&criterion.0, "kairo_deep", "stateloom", 1_500.0);
    write_benchmark(&criterion.0, "kairo_deep", "sycamore", 6_000.0);
    write_benchmark(&criterion.0, "signal", "get", 24.2);
    fs::write(
        criterion.0.join(results::SKIPPED_FILE),
        r#"{"group":"cellx_1000","library":"reactive_graph","reason":"did not finish in 10 s"}"#,
    )
    .unwrap();
    let markdown = docs.0.join("benchmarks.md");
    fs::write(
        &markdown,
        "# Benchmarks\n\nWhat each optimisation bought.\n",
    )
    .unwrap();

    write_report(&criterion.0, &docs.0, &machine()).unwrap();
    let first = fs::read_to_string(&markdown).unwrap();
    assert!(
        first.starts_with(
            "# Benchmarks\n\nWhat each optimisation bought.\n\n<!-- bench:begin -->\n"
        )
    );
    assert!(first.ends_with("<!-- bench:end -->\n"));
    assert!(
        first.contains("| `kairo_deep` | 1.50 µs | — | 6.00 µs (4.0x) | — | — | 4.0x (sycamore) |")
    );
    assert!(first.contains("| `cellx_1000` | — | — | — | did not finish in 10 s | — | — |"));
    let svg = fs::read_to_string(docs.0.join("benchmarks.svg")).unwrap();
    assert!(svg.contains("kairo_deep") && svg.contains("<rect"));

    // A second run replaces the generated part and nothing else.
    fs::write(
        &markdown,
        first.replace("bought.", "bought, by hand.") + "Footer.\n",
    )
    .unwrap();
    write_benchmark(&criterion.0, "kairo_deep", "stateloom", 3_000.0);
    write_report(&criterion.0, &docs.0, &machine()).unwrap();
    let second = fs::read_to_string(&markdown).unwrap();
    assert!(second.starts_with("# Benchmarks\n\nWhat each optimisation bought, by hand.\n"));
    assert!(second.ends_with("<!-- bench:end -->\nFooter.\n"));
    assert!(second.contains("| `kairo_deep` | 3.00 µs | — | 6.00 µs (2.0x) |"));
    assert_eq!(second.matches("<!-- bench:begin -->").count(), 1);
}

#[test]
fn instruction_counts_on_disk_reach_the_report() {
    let criterion = TempDir::new("criterion-instructions");
    let docs = TempDir::new("docs-instructions");
    write_benchmark(&criterion.0, "kairo_deep", "stateloom", 1_500.0);
    let markdown = docs.0.join("benchmarks.md");

    write_report(&criterion.0, &docs.0, &machine()).unwrap();
    let without = fs::read_to_string(&markdown).unwrap();
    assert!(without.contains("## Instruction counts\n\nNot measured: "));

    fs::write(
        criterion.0.join(results::INSTRUCTIONS_FILE),
        r#"[{"group":"kairo_deep","library":"stateloom","instructions":910000},
            {"group":"kairo_deep","library":"sycamore","instructions":2040000},
            {"group":"kairo_deep","library":"reactive_graph","skipped":"did not finish in 180 s under callgrind"}]"#,
    )
    .unwrap();
    write_report(&criterion.0, &docs.0, &machine()).unwrap();
    let with = fs::read_to_string(&markdown).unwrap();
    let counts = &with[with.find("## Instruction counts").unwrap()..];
    assert!(
        counts.contains(
            "| `kairo_deep` | 910 k | 2.04 M (2.24x) | did not finish in 180 s under callgrind | 2.24x (sycamore) |"
        ),
        "{counts}"
    );
    // The section sits between the comparison and the single operations.
    let order = [
        "## Peer comparison",
        "## Instruction counts",
        "## Single operations",
    ]
    .map(|heading| with.find(heading).unwrap());
    assert!(order[0] < order[1] && order[1] < order[2]);
}
