//! Writes the generated part of `docs/benchmarks.md`: the machine, the comparison table, the
//! instruction counts, the `signal` table, the crates' tables and the memory table.
//!
//! Only the text between [`BEGIN`] and [`END`] is ours; [`splice`] keeps everything around it.

#[cfg(test)]
mod tests;

use std::{fmt::Write as _, fs, time::SystemTime};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use super::results::{
    BASELINE, INSTRUCTIONS_FILE, JS_FILE, MEMORY_FILE, Memory, PEER_WORKLOADS, Results,
    SIGNAL_GROUP, STATELOOM,
};
use super::rounds::Round;

/// Opens the generated part of the report.
pub(crate) const BEGIN: &str = "<!-- bench:begin -->";

/// Closes the generated part of the report.
pub(crate) const END: &str = "<!-- bench:end -->";

/// The command that regenerates the report, as the report states it.
pub(crate) const COMMAND: &str = "cargo xtask bench";

/// What a new report starts with, before the markers.
const NEW_REPORT: &str = "\
# Benchmarks

StateLoom against peer reactive libraries on the js-reactivity-benchmark workloads.
Never edit the generated part by hand: re-run the command it names.
";

/// The longest skip reason a table cell shows, in characters.
const MAX_REASON: usize = 40;

/// Where and when the figures were measured.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    /// The date and time of the report, like `2025-01-31 14:05 UTC`.
    pub(crate) date: String,
    /// The CPU model, from `/proc/cpuinfo`.
    pub(crate) cpu: String,
    /// How many CPUs the benches could run on.
    pub(crate) cores: usize,
    /// The output of `rustc -V`.
    pub(crate) rustc: String,
}

impl Machine {
    /// Describes this machine, now.
    ///
    /// # Errors
    ///
    /// Fails when `rustc -V` cannot run; a missing `/proc/cpuinfo` only makes the CPU `unknown`.
    pub(crate) fn detect() -> anyhow::Result<Self> {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| cpu_model(&info))
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let sh = Shell::new()?;
        let rustc = cmd!(sh, "rustc -V")
            .quiet()
            .read()
            .context("`rustc -V` failed")?;
        let seconds = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_secs();
        Ok(Self {
            date: utc_date(seconds),
            cpu,
            cores,
            rustc,
        })
    }
}

/// The first `model name` in the text of `/proc/cpuinfo`.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC`.
fn utc_date(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).expect("seconds / 86400 fits an i64");
    let minutes = seconds % 86_400 / 60;
    // Howard Hinnant's `civil_from_days`: shift to a year starting in March, so the leap day is
    // last, then count 400-year eras.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// The generated part of the report, without the markers.
pub(crate) fn render(results: &Results, rounds: &[Round], machine: &Machine) -> String {
    let mut out = String::new();
    let cores = match machine.cores {
        1 => "1 core".to_owned(),
        n => format!("{n} cores"),
    };
    // `writeln!` into a `String` cannot fail.
    let _ = writeln!(out, "Command: `{COMMAND}`");
    let _ = writeln!(out);
    let _ = writeln!(out, "Measured {}.", machine.date);
    let _ = writeln!(
        out,
        "Machine: {}, {cores}, {}.",
        machine.cpu.trim(),
        machine.rustc.trim()
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "## Peer comparison");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Each cell is criterion's median time per iteration; in brackets, that median divided by stateloom's in the same row, so above 1x is slower than stateloom."
    );
    let _ = writeln!(
        out,
        "The last column divides the fastest peer's median (baseline excluded) by stateloom's: above 1x, stateloom is the fastest library."
    );
    let _ = writeln!(
        out,
        "A pair the benches gave up on shows why; `—` means no result."
    );
    let _ = writeln!(out);
    out.push_str(&comparison_table(results));
    let _ = writeln!(out);
    let _ = writeln!(out, "## Rounds");
    let _ = writeln!(out);
    out.push_str(&super::rounds::table(results, rounds));
    let _ = writeln!(out);
    let _ = writeln!(out, "## Instruction counts");
    let _ = writeln!(out);
    out.push_str(&instruction_table(results));
    let _ = writeln!(out);
    let _ = writeln!(out, "## Single operations");
    let _ = writeln!(out);
    out.push_str(&signal_table(results));
    let _ = writeln!(out);
    let _ = writeln!(out, "## Atoms and stores against JavaScript peers");
    let _ = writeln!(out);
    out.push_str(&js_peer_table(results));
    let _ = writeln!(out);
    let _ = writeln!(out, "## Atom and store operations");
    let _ = writeln!(out);
    out.push_str(&crate_table(results));
    let _ = writeln!(out);
    let _ = writeln!(out, "## Memory");
    let _ = writeln!(out);
    out.push_str(&memory_table(&results.memory));
    let _ = writeln!(out);
    let _ = writeln!(out, "## Chart");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "![Median time per workload and library, log scale](benchmarks.svg)"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "A missing bar is a skipped pair or a missing result; the table says which."
    );
    out
}

/// The comparison table: one row per workload, one column per library, and the margin of the
/// fastest peer.
pub(crate) fn comparison_table(results: &Results) -> String {
    let libraries = results.libraries();
    let mut out = String::from("| workload |");
    for library in &libraries {
        let _ = write!(out, " {library} |");
    }
    out.push_str(" fastest peer / stateloom |\n|---|");
    out.push_str(&"--:|".repeat(libraries.len() + 1));
    out.push('\n');
    for workload in results.workloads() {
        let reference = results.median(&workload, STATELOOM);
        let _ = write!(out, "| `{workload}` |");
        for library in &libraries {
            let cell = match (results.median(&workload, library), reference) {
                (Some(median), Some(reference)) if library != STATELOOM => format!(
                    "{} ({})",
                    format_duration(median),
                    format_ratio(median / reference)
                ),
                (Some(median), _) => format_duration(median),
                (None, _) => match results.skip_reason(&workload, library) {
                    Some(reason) => shorten(reason),
                    None => "—".to_owned(),
                },
            };
            let _ = write!(out, " {cell} |");
        }
        let _ = writeln!(out, " {} |", fastest_peer(results, &workload, &libraries));
    }
    out
}

/// The fastest non-baseline peer's median over stateloom's in `workload`, with the peer's name,
/// or `—` when either is missing.
fn fastest_peer(results: &Results, workload: &str, libraries: &[String]) -> String {
    let Some(reference) = results.median(workload, STATELOOM) else {
        return "—".to_owned();
    };
    let peers = libraries
        .iter()
        .filter(|library| *library != STATELOOM && *library != BASELINE)
        .filter_map(|library| Some((library, results.median(workload, library)?)));
    match peers.min_by(|(_, a), (_, b)| a.total_cmp(b)) {
        Some((peer, median)) => format!("{} ({peer})", format_ratio(median / reference)),
        None => "—".to_owned(),
    }
}

/// The instruction counts of the comparison's pairs, with the same rows as the comparison
/// table and a column for each library that has a count (or a reason for its absence) in at
/// least one row, or a sentence saying they were not measured. Libraries callgrind cannot
/// count, such as the JavaScript peers, get no column.
pub(crate) fn instruction_table(results: &Results) -> String {
    if results.instructions.is_empty() {
        return format!(
            "Not measured: `{INSTRUCTIONS_FILE}` is missing (valgrind was not installed, or the benches ran with `--no-instructions`).\n"
        );
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Each cell counts the instructions of one timed run with valgrind's callgrind: the code criterion times, without the setup, the graph's build or the correctness check; in brackets, that count over stateloom's."
    );
    let _ = writeln!(
        out,
        "Unlike the medians, counts repeat to well under 1 % between runs, but they are blind to cache misses and the allocator's page faults, so they complement the medians rather than replace them."
    );
    let _ = writeln!(
        out,
        "The last column divides the lowest peer count (baseline excluded) by stateloom's: above 1x, stateloom executes the fewest instructions."
    );
    let _ = writeln!(out);
    let libraries: Vec<String> = results
        .libraries()
        .into_iter()
        .filter(|library| {
            results
                .instructions
                .keys()
                .any(|(_, counted)| counted == library)
        })
        .collect();
    out.push_str("| workload |");
    for library in &libraries {
        let _ = write!(out, " {library} |");
    }
    out.push_str(" fewest peer / stateloom |\n|---|");
    out.push_str(&"--:|".repeat(libraries.len() + 1));
    out.push('\n');
    for workload in results.workloads() {
        // A zero count cannot be divided by; the counting run never records one.
        let reference = results
            .instructions(&workload, STATELOOM)
            .filter(|count| *count > 0);
        let _ = write!(out, "| `{workload}` |");
        for library in &libraries {
            let cell = match (results.instructions(&workload, library), reference) {
                (Some(count), Some(reference)) if library != STATELOOM => format!(
                    "{} ({})",
                    format_count(count),
                    format_fine_ratio(count as f64 / reference as f64)
                ),
                (Some(count), _) => format_count(count),
                (None, _) => results
                    .instructions_skip_reason(&workload, library)
                    .map_or_else(|| "—".to_owned(), shorten),
            };
            let _ = write!(out, " {cell} |");
        }
        let fewest = reference.and_then(|reference| {
            let peers = libraries
                .iter()
                .filter(|library| *library != STATELOOM && *library != BASELINE)
                .filter_map(|library| Some((library, results.instructions(&workload, library)?)));
            let (peer, count) = peers.min_by_key(|(_, count)| *count)?;
            Some(format!(
                "{} ({peer})",
                format_fine_ratio(count as f64 / reference as f64)
            ))
        });
        let _ = writeln!(out, " {} |", fewest.as_deref().unwrap_or("—"));
    }
    out
}

/// The `signal` group: single reads and writes of stateloom, one row per benchmark.
pub(crate) fn signal_table(results: &Results) -> String {
    let benches = results.signal_benches();
    if benches.is_empty() {
        return "No results for the `signal` group.\n".to_owned();
    }
    let mut out = String::from("| benchmark | median |\n|---|--:|\n");
    for bench in benches {
        let cell = match results.median(SIGNAL_GROUP, &bench) {
            Some(median) => format_duration(median),
            None => results
                .skip_reason(SIGNAL_GROUP, &bench)
                .map_or_else(|| "—".to_owned(), shorten),
        };
        let _ = writeln!(out, "| `{SIGNAL_GROUP}/{bench}` | {cell} |");
    }
    out
}

/// The crate workloads against their JavaScript peers: both medians, the peer's over
/// stateloom's, and the target for that ratio.
pub(crate) fn js_peer_table(results: &Results) -> String {
    let mut out = String::new();
    match &results.js {
        Some(js) => {
            let libraries: Vec<String> = js
                .libraries
                .iter()
                .map(|(library, version)| format!("{library} {version}"))
                .collect();
            let _ = writeln!(
                out,
                "The peers ran in Node {} ({}) in the same run, through `benches/js/run.mjs`.",
                js.node,
                libraries.join(", ")
            );
        }
        None => {
            let _ = writeln!(
                out,
                "The JavaScript peers did not run (`{JS_FILE}` is missing: `node` and `npm` are needed)."
            );
        }
    }
    let _ = writeln!(
        out,
        "The ratio is the peer's median over stateloom's: above 1x, stateloom is faster."
    );
    let _ = writeln!(out);
    out.push_str("| workload | stateloom | peer | peer / stateloom | target |\n");
    out.push_str("|---|--:|--:|--:|--:|\n");
    for workload in PEER_WORKLOADS {
        let ours = results.median(workload.group, STATELOOM);
        let theirs = results.median(workload.group, workload.peer);
        let cell = |median: Option<f64>| median.map_or_else(|| "—".to_owned(), format_duration);
        let ratio = match (ours, theirs) {
            (Some(ours), Some(theirs)) => {
                let ratio = theirs / ours;
                let verdict = if ratio >= workload.target {
                    "met"
                } else {
                    "not met"
                };
                format!("{} ({verdict})", format_ratio(ratio))
            }
            _ => "—".to_owned(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} ({}) | {ratio} | {} |",
            workload.group,
            cell(ours),
            cell(theirs),
            workload.peer,
            format_ratio(workload.target)
        );
    }
    out
}

/// The crates' other groups, such as the overhead of atoms over raw signals: one row per
/// benchmark.
pub(crate) fn crate_table(results: &Results) -> String {
    let groups = results.crate_groups();
    if groups.is_empty() {
        return "No results for the crates' other groups.\n".to_owned();
    }
    let mut out = String::from("| benchmark | median |\n|---|--:|\n");
    for (group, functions) in groups {
        for function in functions {
            let cell = match results.median(&group, &function) {
                Some(median) => format_duration(median),
                None => results
                    .skip_reason(&group, &function)
                    .map_or_else(|| "—".to_owned(), shorten),
            };
            let _ = writeln!(out, "| `{group}/{function}` | {cell} |");
        }
    }
    out
}

/// The memory table: bytes per node kind, one row per library, in the report's library order.
pub(crate) fn memory_table(memory: &[Memory]) -> String {
    if memory.is_empty() {
        return format!(
            "No memory results (`{MEMORY_FILE}` is missing; the `core_memory` bench writes it).\n"
        );
    }
    let mut rows = memory.to_vec();
    let rank = |library: &str| {
        let known = super::results::LIBRARIES.iter().position(|l| *l == library);
        (known.unwrap_or(usize::MAX), library.to_owned())
    };
    rows.sort_by_key(|row| rank(&row.library));
    let mut out = String::from(
        "Bytes per node, and bytes still allocated per item once everything is disposed.\n\n",
    );
    out.push_str("| library | signal | computed | effect | link | leaked per item |\n");
    out.push_str("|---|--:|--:|--:|--:|--:|\n");
    for row in rows {
        let cells = [
            row.signal,
            row.computed,
            row.effect,
            row.link,
            row.leaked_per_item,
        ];
        let _ = write!(out, "| {} |", row.library);
        for cell in cells {
            let _ = write!(
                out,
                " {} |",
                cell.map_or_else(|| "—".to_owned(), format_bytes)
            );
        }
        out.push('\n');
    }
    out
}

/// A duration in nanoseconds with three significant digits and a unit that keeps the number
/// below 1000: `24.2 ns`, `1.23 µs`, `901 ms`.
pub(crate) fn format_duration(nanos: f64) -> String {
    if !nanos.is_finite() || nanos <= 0.0 {
        return format!("{nanos} ns");
    }
    // Round first, so 999.7 ns becomes 1.00 µs rather than `1000 ns`.
    let rounded = round_significant(nanos, 3);
    let (value, unit) = if rounded < 1e3 {
        (rounded, "ns")
    } else if rounded < 1e6 {
        (rounded / 1e3, "µs")
    } else if rounded < 1e9 {
        (rounded / 1e6, "ms")
    } else {
        (rounded / 1e9, "s")
    };
    let decimals = three_digit_decimals(value);
    format!("{value:.decimals$} {unit}")
}

/// An instruction count with three significant digits and a unit that keeps the number below
/// 1000: `812`, `12.3 k`, `925 k`, `1.84 M`, `2.10 G`.
pub(crate) fn format_count(count: u64) -> String {
    if count < 1000 {
        return count.to_string();
    }
    // Round first, so 999_700 becomes 1.00 M rather than `1000 k`.
    let rounded = round_significant(count as f64, 3);
    let (value, unit) = if rounded < 1e6 {
        (rounded / 1e3, "k")
    } else if rounded < 1e9 {
        (rounded / 1e6, "M")
    } else {
        (rounded / 1e9, "G")
    };
    let decimals = three_digit_decimals(value);
    format!("{value:.decimals$} {unit}")
}

/// How many decimals show a positive `value`, already rounded, with three significant digits:
/// none from 100 up, one from 10, two from 1, more below 1.
fn three_digit_decimals(value: f64) -> usize {
    usize::try_from(2 - value.log10().floor() as i64).unwrap_or(0)
}

/// `value` rounded to `digits` significant digits.
fn round_significant(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits - 1 - value.log10().floor() as i32);
    (value * scale).round() / scale
}

/// A ratio like `4.1x`, `12x` or `0.02x`: two digits where they matter, at least one
/// significant digit below 1.
pub(crate) fn format_ratio(ratio: f64) -> String {
    if !ratio.is_finite() || ratio <= 0.0 {
        return format!("{ratio}x");
    }
    let decimals = if ratio >= 9.95 {
        0
    } else if ratio >= 0.995 {
        1
    } else {
        // 0.95 → 2 decimals, 0.004 → 3: enough to show the first significant digit.
        usize::try_from(-(ratio.log10().floor() as i64)).map_or(2, |d| d.max(2))
    };
    format!("{ratio:.decimals$}x")
}

/// A ratio of instruction counts like `1.37x`, `13.5x` or `0.834x`: three significant digits,
/// since the counts are steady enough to carry them.
pub(crate) fn format_fine_ratio(ratio: f64) -> String {
    if !ratio.is_finite() || ratio <= 0.0 {
        return format!("{ratio}x");
    }
    let rounded = round_significant(ratio, 3);
    let decimals = three_digit_decimals(rounded);
    format!("{rounded:.decimals$}x")
}

/// A byte count: whole numbers without decimals, others with one.
fn format_bytes(bytes: f64) -> String {
    if bytes.fract() == 0.0 {
        format!("{bytes:.0}")
    } else {
        format!("{bytes:.1}")
    }
}

/// A skip reason fit for a table cell: at most [`MAX_REASON`] characters, no `|` or newline.
fn shorten(reason: &str) -> String {
    let clean = reason.trim().replace('|', "/").replace(['\n', '\r'], " ");
    if clean.chars().count() <= MAX_REASON {
        return clean;
    }
    let short: String = clean.chars().take(MAX_REASON - 1).collect();
    // Cut at the last space if there is one in the second half, so no word is split.
    let cut = match short.rfind(' ') {
        Some(space) if space >= short.len() / 2 => &short[..space],
        _ => &short,
    };
    format!("{}…", cut.trim_end())
}

/// The new report text: `existing` with the part between the markers replaced by `generated`.
///
/// Without an existing file, starts one with a heading and an intro; without markers, appends
/// them at the end. Everything outside the markers is kept byte for byte.
///
/// # Errors
///
/// Fails when only one marker is present, when either appears twice, or when they are out of
/// order, rather than guess which text is hand-written.
pub(crate) fn splice(existing: Option<&str>, generated: &str) -> anyhow::Result<String> {
    let block = format!("{BEGIN}\n\n{}\n{END}", generated.trim_end());
    let Some(existing) = existing else {
        return Ok(format!("{NEW_REPORT}\n{block}\n"));
    };
    for marker in [BEGIN, END] {
        if existing.matches(marker).count() > 1 {
            bail!("`{marker}` appears more than once; keep one pair of markers");
        }
    }
    match (existing.find(BEGIN), existing.find(END)) {
        (None, None) => {
            let separator = if existing.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            Ok(format!("{existing}{separator}{block}\n"))
        }
        (Some(begin), Some(end)) if begin < end => Ok(format!(
            "{}{block}{}",
            &existing[..begin],
            &existing[end + END.len()..]
        )),
        (Some(_), Some(_)) => bail!("`{END}` comes before `{BEGIN}`"),
        (Some(_), None) => bail!("`{BEGIN}` has no matching `{END}`"),
        (None, Some(_)) => bail!("`{END}` has no matching `{BEGIN}`"),
    }
}
