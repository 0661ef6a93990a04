//! Reads what a criterion run left behind: medians, skipped pairs, the memory figures and the
//! instruction counts.
//!
//! Criterion writes `<dir>/.../new/benchmark.json` (the ids) and `new/estimates.json` (the
//! statistics) for each benchmark.
//! The benches add two files of their own beside them: [`SKIPPED_FILE`] and [`MEMORY_FILE`];
//! `xtask` adds [`JS_FILE`] and [`INSTRUCTIONS_FILE`].

#[cfg(test)]
mod tests;

use std::{
    collections::{BTreeMap, BTreeSet},
    fs, io,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use serde_json::Value;

/// The pairs the benches gave up on, one JSON object per line, appended by the bench binaries.
pub(crate) const SKIPPED_FILE: &str = "stateloom-skipped.jsonl";

/// Bytes per node of each library, written by the `core_memory` bench.
pub(crate) const MEMORY_FILE: &str = "stateloom-memory.json";

/// The JavaScript peers' medians, written by `benches/js/run.mjs`.
pub(crate) const JS_FILE: &str = "stateloom-js.json";

/// Instructions per timed run of each kernel pair, counted under callgrind by
/// [`instructions`](super::instructions).
pub(crate) const INSTRUCTIONS_FILE: &str = "stateloom-instructions.json";

/// Group-name prefixes of the crates above the kernel; their groups get tables of their own
/// instead of rows in the kernel's peer comparison.
pub(crate) const CRATE_PREFIXES: &[&str] =
    &["atom_", "store_", "optimistic_", "worker_", "bridge_"];

/// A crate workload measured against a JavaScript peer, with the speed-up it should reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PeerWorkload {
    /// The criterion group, the same name in the JavaScript results.
    pub(crate) group: &'static str,
    /// The JavaScript library measured on it.
    pub(crate) peer: &'static str,
    /// The peer's median over stateloom's that the workload should reach.
    pub(crate) target: f64,
}

/// The crate workloads with a JavaScript peer, in the order the report lists them.
pub(crate) const PEER_WORKLOADS: &[PeerWorkload] = &[
    PeerWorkload {
        group: "atom_base_derived_sub_100k",
        peer: "jotai",
        target: 10.0,
    },
    PeerWorkload {
        group: "atom_fanout_1000",
        peer: "jotai",
        target: 10.0,
    },
    PeerWorkload {
        group: "atom_family_lookup_10k",
        peer: "jotai",
        target: 10.0,
    },
    PeerWorkload {
        group: "atom_family_create_10k",
        peer: "jotai",
        target: 10.0,
    },
    PeerWorkload {
        group: "store_set_state_100k",
        peer: "zustand",
        target: 2.0,
    },
    PeerWorkload {
        group: "store_selectors_1000",
        peer: "zustand",
        target: 10.0,
    },
    PeerWorkload {
        group: "optimistic_updates_10k",
        peer: "effect_atom",
        target: 20.0,
    },
    PeerWorkload {
        group: "optimistic_stack_1k",
        peer: "effect_atom",
        target: 20.0,
    },
    PeerWorkload {
        group: "optimistic_stack_10k",
        peer: "effect_atom",
        target: 20.0,
    },
    PeerWorkload {
        group: "optimistic_query_refresh_1k",
        peer: "effect_atom",
        target: 20.0,
    },
    // The worker's targets are its absolute targets over coaction's figures in the same
    // workloads: 29 µs over 3 µs, 137 µs over 14 µs, 8.5 ms over 1 ms, 71 µs over 10 µs.
    PeerWorkload {
        group: "worker_call_round_trip_memory",
        peer: "coaction",
        target: 9.7,
    },
    PeerWorkload {
        group: "worker_toggle_10k",
        peer: "coaction",
        target: 9.8,
    },
    PeerWorkload {
        group: "worker_resync_10k",
        peer: "coaction",
        target: 8.5,
    },
    PeerWorkload {
        group: "worker_snapshot_10k",
        peer: "coaction",
        target: 8.5,
    },
    PeerWorkload {
        group: "worker_fanout_8",
        peer: "coaction",
        target: 7.1,
    },
    // The bridge targets are absolute (20,000 commits/s, 500,000 events/s in a batch, 50 µs to
    // the callback); as ratios over LiveStore 0.4's figures measured for them (404 commits/s,
    // 2,665 events/s, 1.8 ms) they are 50x, 188x and 36x.
    PeerWorkload {
        group: "bridge_commit_1",
        peer: "livestore",
        target: 50.0,
    },
    PeerWorkload {
        group: "bridge_commit_batch_10k",
        peer: "livestore",
        target: 188.0,
    },
    PeerWorkload {
        group: "bridge_commit_to_callback",
        peer: "livestore",
        target: 36.0,
    },
    PeerWorkload {
        group: "bridge_queries_100",
        peer: "livestore",
        target: 10.0,
    },
];

/// The peer-comparison workloads, in the order the report lists them.
pub(crate) const WORKLOADS: &[&str] = &[
    "kairo_avoidable",
    "kairo_broad",
    "kairo_deep",
    "kairo_diamond",
    "kairo_mux",
    "kairo_repeated",
    "kairo_triangle",
    "kairo_unstable",
    "cellx_1000",
    "cellx_2500",
    "create_signals_1k",
    "create_signals_10k",
    "create_computeds_10k_1src",
    "create_computeds_8src",
    "create_dispose",
    "dyn_simple_component",
    "dyn_dynamic_component",
    "dyn_large_web_app",
    "dyn_wide_dense",
    "dyn_very_dynamic",
];

/// The libraries, in the order the report lists them; `stateloom` is what ratios are taken to.
pub(crate) const LIBRARIES: &[&str] = &[
    STATELOOM,
    "alien_signals",
    "sycamore",
    "reactive_graph",
    BASELINE,
];

/// Our own library, the reference of every ratio.
pub(crate) const STATELOOM: &str = "stateloom";

/// The hand-written lower bound; it is shown but never counted as a peer.
pub(crate) const BASELINE: &str = "baseline";

/// The stateloom-only group of single-operation costs, reported in its own table.
pub(crate) const SIGNAL_GROUP: &str = "signal";

/// The benchmarks of the `signal` group, in the order the report lists them.
pub(crate) const SIGNAL_BENCHES: &[&str] = &["get", "set", "set_chain10_effect"];

/// Median times in nanoseconds by `(group, function)`.
type Medians = BTreeMap<(String, String), f64>;

/// Everything one report is made from.
#[derive(Debug, Default)]
pub(crate) struct Results {
    /// Criterion's median time per iteration in nanoseconds, by `(group, function)`.
    pub(crate) medians: Medians,
    /// Why a pair was not measured, by `(group, library)`.
    pub(crate) skipped: BTreeMap<(String, String), String>,
    /// Bytes per node, one row per library, in the file's order.
    pub(crate) memory: Vec<Memory>,
    /// The JavaScript runtime and library versions, if the JavaScript peers ran.
    pub(crate) js: Option<JsVersions>,
    /// Instructions per timed run, or why a pair was not counted, by `(group, library)`; empty
    /// when nothing was counted.
    pub(crate) instructions: BTreeMap<(String, String), InstructionCount>,
}

/// The outcome of counting one pair's instructions under callgrind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InstructionCount {
    /// Instructions executed by one timed run.
    Counted(u64),
    /// Why the pair has no count: the benches skipped it, or the callgrind run failed.
    NotCounted(String),
}

/// What the JavaScript peers ran on: `node`'s version and each library's.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct JsVersions {
    /// `process.version`, like `v20.20.2`.
    pub(crate) node: String,
    /// `(library, version)` pairs, sorted by library.
    pub(crate) libraries: Vec<(String, String)>,
}

/// What one library's nodes cost in memory, in bytes; `None` where the library has no such node
/// or the bench could not measure it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Memory {
    /// The library, as in [`LIBRARIES`].
    pub(crate) library: String,
    /// Bytes per signal.
    pub(crate) signal: Option<f64>,
    /// Bytes per computed.
    pub(crate) computed: Option<f64>,
    /// Bytes per effect.
    pub(crate) effect: Option<f64>,
    /// Bytes per dependency edge.
    pub(crate) link: Option<f64>,
    /// Bytes still allocated per item after everything was disposed.
    pub(crate) leaked_per_item: Option<f64>,
}

impl Results {
    /// The median of `function` in `group`, in nanoseconds, unless the pair was skipped.
    pub(crate) fn median(&self, group: &str, function: &str) -> Option<f64> {
        if self.skip_reason(group, function).is_some() {
            // A result left over from an earlier run must not pass for a current one.
            return None;
        }
        self.medians
            .get(&(group.to_owned(), function.to_owned()))
            .copied()
    }

    /// Why `library` was not measured in `group`, if the benches said so.
    pub(crate) fn skip_reason(&self, group: &str, library: &str) -> Option<&str> {
        self.skipped
            .get(&(group.to_owned(), library.to_owned()))
            .map(String::as_str)
    }

    /// The instructions of one timed run of `library` in `group`, unless the pair was not
    /// counted or the benches skipped it.
    pub(crate) fn instructions(&self, group: &str, library: &str) -> Option<u64> {
        if self.skip_reason(group, library).is_some() {
            // As for medians: a skip wins over a figure from an earlier run.
            return None;
        }
        match self
            .instructions
            .get(&(group.to_owned(), library.to_owned()))
        {
            Some(InstructionCount::Counted(count)) => Some(*count),
            _ => None,
        }
    }

    /// Why `library` has no instruction count in `group`: the counting run's reason, else the
    /// benches' skip reason.
    pub(crate) fn instructions_skip_reason(&self, group: &str, library: &str) -> Option<&str> {
        match self
            .instructions
            .get(&(group.to_owned(), library.to_owned()))
        {
            Some(InstructionCount::NotCounted(reason)) => Some(reason),
            _ => self.skip_reason(group, library),
        }
    }

    /// The rows of the comparison table: [`WORKLOADS`], then any other group except `signal`
    /// and the crates' groups, sorted.
    pub(crate) fn workloads(&self) -> Vec<String> {
        let seen = self.all_groups();
        let others = seen.into_iter().filter(|group| {
            *group != SIGNAL_GROUP && !WORKLOADS.contains(group) && !is_crate_group(group)
        });
        known_then_sorted(WORKLOADS, others)
    }

    /// The crates' groups that are not in [`PEER_WORKLOADS`], sorted, each with its
    /// benchmarks (sorted) that have a result or a skip.
    pub(crate) fn crate_groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (group, function) in self.medians.keys().chain(self.skipped.keys()) {
            let with_peer = PEER_WORKLOADS.iter().any(|w| w.group == group);
            if is_crate_group(group) && !with_peer {
                groups.entry(group).or_default().insert(function);
            }
        }
        groups
            .into_iter()
            .map(|(group, functions)| {
                let functions = functions.into_iter().map(str::to_owned).collect();
                (group.to_owned(), functions)
            })
            .collect()
    }

    /// The columns of the comparison table: [`LIBRARIES`], then any other library seen in a
    /// workload, sorted.
    pub(crate) fn libraries(&self) -> Vec<String> {
        let workloads = self.workloads();
        let in_workload = |group: &str| workloads.iter().any(|w| w == group);
        let seen = self.medians.keys().chain(self.skipped.keys());
        let others = seen
            .filter(|(group, _)| in_workload(group))
            .map(|(_, library)| library.as_str())
            .filter(|library| !LIBRARIES.contains(library));
        known_then_sorted(LIBRARIES, others)
    }

    /// The benchmarks of the `signal` group that have a result: [`SIGNAL_BENCHES`] first, then
    /// any other, sorted.
    pub(crate) fn signal_benches(&self) -> Vec<String> {
        let seen = self.medians.keys().chain(self.skipped.keys());
        let seen: BTreeSet<&str> = seen
            .filter(|(group, _)| group == SIGNAL_GROUP)
            .map(|(_, function)| function.as_str())
            .collect();
        let known = SIGNAL_BENCHES.iter().copied().filter(|b| seen.contains(b));
        let others = seen.iter().copied().filter(|b| !SIGNAL_BENCHES.contains(b));
        known.chain(others).map(str::to_owned).collect()
    }

    /// Every group with a result or a skip.
    fn all_groups(&self) -> BTreeSet<&str> {
        let seen = self.medians.keys().chain(self.skipped.keys());
        seen.map(|(group, _)| group.as_str()).collect()
    }
}

/// Whether `group` belongs to a crate above the kernel (see [`CRATE_PREFIXES`]).
fn is_crate_group(group: &str) -> bool {
    CRATE_PREFIXES
        .iter()
        .any(|prefix| group.starts_with(prefix))
}

/// `known` in its order, then the names in `others` that it lacks, sorted and without repeats.
fn known_then_sorted<'a>(known: &[&str], others: impl Iterator<Item = &'a str>) -> Vec<String> {
    let others: BTreeSet<&str> = others.collect();
    let known = known.iter().copied();
    known.chain(others).map(str::to_owned).collect()
}

/// Reads every result under the criterion directory `dir`.
///
/// A missing skipped, memory, JavaScript or instructions file means nothing was skipped or
/// measured.
///
/// # Errors
///
/// Fails when `dir` holds no benchmark result, or when a file cannot be read or parsed.
pub(crate) fn collect(dir: &Path) -> anyhow::Result<Results> {
    let mut results = Results::default();
    let benchmarks = if dir.is_dir() {
        find_benchmarks(dir)?
    } else {
        Vec::new()
    };
    for benchmark in benchmarks {
        let (id, median) = read_benchmark(&benchmark)?;
        results.medians.insert(id, median);
    }
    if results.medians.is_empty() {
        bail!(
            "no criterion results under {}; run `cargo xtask bench` first",
            dir.display()
        );
    }
    results.skipped = read_skipped(dir)?;
    if let Some(text) = read_if_present(&dir.join(MEMORY_FILE))? {
        results.memory = parse_memory(&text).context(MEMORY_FILE)?;
    }
    if let Some(text) = read_if_present(&dir.join(JS_FILE))? {
        let (versions, medians) = parse_js(&text).context(JS_FILE)?;
        results.js = Some(versions);
        results.medians.extend(medians);
    }
    if let Some(text) = read_if_present(&dir.join(INSTRUCTIONS_FILE))? {
        results.instructions = parse_instructions(&text).context(INSTRUCTIONS_FILE)?;
    }
    Ok(results)
}

/// The pairs the benches gave up on, from [`SKIPPED_FILE`] in the criterion directory `dir`,
/// with their reasons; none if there is no such file.
///
/// # Errors
///
/// Fails when the file cannot be read or a line of it cannot be parsed.
pub(crate) fn read_skipped(dir: &Path) -> anyhow::Result<BTreeMap<(String, String), String>> {
    match read_if_present(&dir.join(SKIPPED_FILE))? {
        Some(text) => parse_skipped(&text).context(SKIPPED_FILE),
        None => Ok(BTreeMap::new()),
    }
}

/// Every `new/benchmark.json` below `dir`, sorted so runs are reproducible.
///
/// Criterion nests them one level per id part, so the walk goes all the way down.
fn find_benchmarks(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries =
            fs::read_dir(&current).with_context(|| format!("cannot list {}", current.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.ends_with("new/benchmark.json") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The `(group, function)` id and the median in nanoseconds of the benchmark whose
/// `benchmark.json` is at `path`; `estimates.json` sits beside it.
fn read_benchmark(path: &Path) -> anyhow::Result<((String, String), f64)> {
    let context = || format!("cannot read criterion result {}", path.display());
    let benchmark: Value = serde_json::from_str(&fs::read_to_string(path).with_context(context)?)
        .with_context(context)?;
    let group = benchmark["group_id"]
        .as_str()
        .context("`group_id` is missing")
        .with_context(context)?;
    // `bench_function` outside a group has no function id; its full id still names it.
    let function = benchmark["function_id"]
        .as_str()
        .or_else(|| benchmark["full_id"].as_str())
        .context("`function_id` and `full_id` are missing")
        .with_context(context)?;
    let function = match benchmark["value_str"].as_str() {
        Some(value) => format!("{function}/{value}"),
        None => function.to_owned(),
    };

    let estimates_path = path.with_file_name("estimates.json");
    let context = || format!("cannot read criterion result {}", estimates_path.display());
    let estimates: Value =
        serde_json::from_str(&fs::read_to_string(&estimates_path).with_context(context)?)
            .with_context(context)?;
    let median = estimates["median"]["point_estimate"]
        .as_f64()
        .context("`median.point_estimate` is missing")
        .with_context(context)?;
    Ok(((group.to_owned(), function), median))
}

/// The text of `path`, or `None` if there is no such file.
fn read_if_present(path: &Path) -> anyhow::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Parses the skipped file: one `{"group", "library", "reason"}` object per line.
///
/// If a pair is listed twice, the last line wins.
fn parse_skipped(text: &str) -> anyhow::Result<BTreeMap<(String, String), String>> {
    let mut skipped = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let context = || format!("line {}", index + 1);
        let entry: Value = serde_json::from_str(line).with_context(context)?;
        let field = |name: &str| {
            entry[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("`{name}` is missing"))
                .with_context(context)
        };
        skipped.insert((field("group")?, field("library")?), field("reason")?);
    }
    Ok(skipped)
}

/// Parses the memory file: a JSON array with one object per library.
fn parse_memory(text: &str) -> anyhow::Result<Vec<Memory>> {
    let rows: Value = serde_json::from_str(text)?;
    let rows = rows.as_array().context("expected a JSON array")?;
    rows.iter()
        .enumerate()
        .map(|(index, row)| {
            let library = row["library"]
                .as_str()
                .with_context(|| format!("entry {index}: `library` is missing"))?;
            Ok(Memory {
                library: library.to_owned(),
                // `null` or absent both mean "not measured".
                signal: row["signal"].as_f64(),
                computed: row["computed"].as_f64(),
                effect: row["effect"].as_f64(),
                link: row["link"].as_f64(),
                leaked_per_item: row["leaked_per_item"].as_f64(),
            })
        })
        .collect()
}

/// Parses the JavaScript peers' file: `{"node": .., "<library>": "<version>", ..,
/// "results": [{"group", "library", "median_ns"}, ..]}`.
fn parse_js(text: &str) -> anyhow::Result<(JsVersions, Medians)> {
    let file: Value = serde_json::from_str(text)?;
    let object = file.as_object().context("expected a JSON object")?;
    let node = object
        .get("node")
        .and_then(Value::as_str)
        .context("`node` is missing")?;
    let libraries = object
        .iter()
        .filter(|(key, _)| *key != "node" && *key != "results")
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
        .collect();
    let rows = object
        .get("results")
        .and_then(Value::as_array)
        .context("`results` is missing")?;
    let mut medians = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        let field = |name: &str| {
            row[name]
                .as_str()
                .with_context(|| format!("result {index}: `{name}` is missing"))
        };
        let median = row["median_ns"]
            .as_f64()
            .with_context(|| format!("result {index}: `median_ns` is missing"))?;
        medians.insert(
            (field("group")?.to_owned(), field("library")?.to_owned()),
            median,
        );
    }
    let versions = JsVersions {
        node: node.to_owned(),
        libraries,
    };
    Ok((versions, medians))
}

/// Parses the instructions file: a JSON array of `{"group", "library", "instructions"}`
/// objects, with `"skipped": "<reason>"` in place of `"instructions"` for a pair not counted.
///
/// If a pair is listed twice, the last entry wins.
/// The instruction counts already under `criterion`, by `(group, library)`; none if there is
/// no instructions file.
///
/// # Errors
///
/// Fails when the file cannot be read or parsed.
pub(crate) fn read_instructions(
    criterion: &Path,
) -> anyhow::Result<BTreeMap<(String, String), InstructionCount>> {
    match read_if_present(&criterion.join(INSTRUCTIONS_FILE))? {
        Some(text) => parse_instructions(&text).context(INSTRUCTIONS_FILE),
        None => Ok(BTreeMap::new()),
    }
}

fn parse_instructions(text: &str) -> anyhow::Result<BTreeMap<(String, String), InstructionCount>> {
    let rows: Value = serde_json::from_str(text)?;
    let rows = rows.as_array().context("expected a JSON array")?;
    let mut counts = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        let field = |name: &str| {
            row[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("entry {index}: `{name}` is missing"))
        };
        let id = (field("group")?, field("library")?);
        let count = match (row.get("instructions"), row.get("skipped")) {
            (Some(count), None) => {
                InstructionCount::Counted(count.as_u64().with_context(|| {
                    format!("entry {index}: `instructions` is not a whole number: {count}")
                })?)
            }
            (None, Some(_)) => InstructionCount::NotCounted(field("skipped")?),
            (Some(_), Some(_)) => {
                bail!("entry {index}: has both `instructions` and `skipped`")
            }
            (None, None) => bail!("entry {index}: has neither `instructions` nor `skipped`"),
        };
        counts.insert(id, count);
    }
    Ok(counts)
}
