//! `cargo xtask bench`: runs the criterion suite in `benches/`, then writes the report
//! `docs/benchmarks.md` and its chart `docs/benchmarks.svg` from the results.
//!
//! - [`results`] reads what criterion and the benches left under `target/criterion`.
//! - [`instructions`] counts each kernel pair's instructions per timed run under callgrind.
//! - [`report`] writes the tables between the markers of `docs/benchmarks.md`.
//! - [`chart`] draws the grouped bar chart.
//!
//! Comparing a base and a head (`--compare main`) will grow here.

mod chart;
mod instructions;
mod report;
mod results;
mod rounds;
#[cfg(test)]
mod tests;

use std::{
    ffi::OsString,
    fs, io,
    path::{Path, PathBuf},
};

use anyhow::Context;
use serde_json::Value;
use xshell::{Shell, cmd};

use self::report::Machine;

/// What `cargo xtask bench` was asked to do.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// Skip `cargo bench` and only rebuild the report from the results already on disk.
    pub(crate) no_run_benches: bool,
    /// Skip the JavaScript peers in `benches/js`.
    pub(crate) no_js: bool,
    /// Skip the instruction counts under callgrind; counts already on disk stay and are
    /// reported (recount with `instructions_only` after changing the code).
    pub(crate) no_instructions: bool,
    /// How many times to run the benches, one round after the other, so that each kernel
    /// ratio comes with its spread (0 is taken as 1).
    pub(crate) rounds: usize,
    /// Only count instructions (no benches, no JavaScript peers), then rewrite the report.
    pub(crate) instructions_only: bool,
    /// Count only these libraries' pairs; the others keep the counts already on disk.
    pub(crate) libraries: Vec<String>,
    /// Arguments passed to `cargo bench -p stateloom-benches` unchanged.
    pub(crate) extra: Vec<OsString>,
}

/// Runs the benches, the JavaScript peers and the instruction counts unless told not to, then
/// rewrites `docs/benchmarks.md` and `docs/benchmarks.svg` under `root`.
///
/// # Errors
///
/// Fails when `cargo bench` or the JavaScript peers fail, when the bench executables cannot be
/// listed for callgrind, when there are no results, or when a file cannot be read or written.
/// A pair that fails under callgrind is only left uncounted.
pub(crate) fn run(root: &Path, options: &Options) -> anyhow::Result<()> {
    let criterion = criterion_dir(root)?;
    if options.instructions_only {
        let sh = Shell::new()?;
        sh.change_dir(root);
        instructions::run(&sh, root, &criterion, &options.libraries)?;
    } else if !options.no_run_benches {
        // The bench binaries append to this file, so an old run's skips must go first.
        remove_if_present(&criterion.join(results::SKIPPED_FILE))?;
        let sh = Shell::new()?;
        sh.change_dir(root);
        let extra = &options.extra;
        // Rounds and results of an earlier run must not mix with, or pass for, this one's.
        remove_if_present(&criterion.join(rounds::ROUNDS_FILE))?;
        remove_if_present(&criterion.join(results::JS_FILE))?;
        if !options.no_instructions {
            remove_if_present(&criterion.join(results::INSTRUCTIONS_FILE))?;
        }
        let js = criterion.join(results::JS_FILE);
        for round in 1..=options.rounds.max(1) {
            if options.rounds > 1 {
                eprintln!("bench: round {round} of {}", options.rounds);
            }
            // Every other round times each group's pairs in reverse order, and the JavaScript
            // peers before the Rust ones, so no library always runs first.
            let reverse = round % 2 == 0;
            if reverse && !options.no_js {
                run_js_peers(&sh, root, &js)?;
            }
            cmd!(sh, "cargo bench -p stateloom-benches {extra...}")
                .env("STATELOOM_BENCH_REVERSE", if reverse { "1" } else { "0" })
                .run()?;
            if !reverse && !options.no_js {
                run_js_peers(&sh, root, &js)?;
            }
            // The round's JavaScript medians are in `js` now, so they are recorded with it.
            rounds::record(&criterion, &results::collect(&criterion)?)?;
        }
        if !options.no_instructions {
            instructions::run(&sh, root, &criterion, &options.libraries)?;
        }
    }
    let machine = Machine::detect()?;
    let written = write_report(&criterion, &root.join("docs"), &machine)?;
    for path in written {
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(())
}

/// Runs the JavaScript peers of the atom and store benches (`benches/js`), writing their
/// medians to `out`; without `node` and `npm` it says so and leaves them out of the report.
///
/// # Errors
///
/// Fails when `npm ci` or the peer benches fail.
fn run_js_peers(sh: &Shell, root: &Path, out: &Path) -> anyhow::Result<()> {
    let has = |tool: &str| {
        cmd!(sh, "{tool} --version")
            .quiet()
            .ignore_stdout()
            .run()
            .is_ok()
    };
    if !has("node") || !has("npm") {
        eprintln!("bench: `node` or `npm` not found; the JavaScript peers are left out");
        return Ok(());
    }
    let js = root.join("benches/js");
    cmd!(
        sh,
        "npm ci --prefix {js} --no-audit --no-fund --loglevel=error"
    )
    .run()
    .context("`npm ci` failed in benches/js")?;
    cmd!(sh, "node {js}/run.mjs {out}")
        .run()
        .context("the JavaScript peer benches failed")?;
    Ok(())
}

/// Reads the results under `criterion` and writes `benchmarks.md` and `benchmarks.svg` into
/// `docs`, returning the two paths.
///
/// # Errors
///
/// Fails when there are no results, the markers in an existing report are broken, or a file
/// cannot be read or written.
fn write_report(criterion: &Path, docs: &Path, machine: &Machine) -> anyhow::Result<[PathBuf; 2]> {
    let results = results::collect(criterion)?;
    let rounds = rounds::load(criterion)?;

    let markdown = docs.join("benchmarks.md");
    let existing = match fs::read_to_string(&markdown) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", markdown.display()));
        }
    };
    let generated = report::render(&results, &rounds, machine);
    let text = report::splice(existing.as_deref(), &generated)
        .with_context(|| format!("cannot update {}", markdown.display()))?;

    let svg = docs.join("benchmarks.svg");
    let chart = chart::render(&results).context("cannot draw the chart")?;

    fs::create_dir_all(docs).with_context(|| format!("cannot create {}", docs.display()))?;
    fs::write(&markdown, text).with_context(|| format!("cannot write {}", markdown.display()))?;
    fs::write(&svg, chart).with_context(|| format!("cannot write {}", svg.display()))?;
    Ok([markdown, svg])
}

/// Where criterion writes its results: `$CRITERION_HOME`, else `criterion` in cargo's target
/// directory, which is how criterion itself decides.
fn criterion_dir(root: &Path) -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Ok(PathBuf::from(home));
    }
    let sh = Shell::new()?;
    let manifest = root.join("Cargo.toml");
    let json = cmd!(
        sh,
        "cargo metadata --format-version 1 --no-deps --manifest-path {manifest}"
    )
    .quiet()
    .read()
    .context("`cargo metadata` failed; fix the manifest error it printed")?;
    let metadata: Value = serde_json::from_str(&json)
        .context("`cargo metadata` printed something that is not JSON")?;
    let target = metadata["target_directory"]
        .as_str()
        .context("`cargo metadata` has no `target_directory`")?;
    Ok(Path::new(target).join("criterion"))
}

/// Deletes `path`; a file that is already gone is fine.
fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("cannot delete {}", path.display()))
        }
        _ => Ok(()),
    }
}
