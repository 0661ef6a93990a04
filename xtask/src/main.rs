//! `cargo xtask`: the workspace's automation, written in Rust so it runs wherever cargo does.
//!
//! Run `cargo xtask help` for the list of tasks.
//! Each task lives in its own module; this file only parses the command line.

mod bench;
mod ci;
mod docs;
mod layering;
mod release;
mod tidy;

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
};

use anyhow::bail;
use lexopt::prelude::*;

const HELP: &str = "\
cargo xtask <task> [args]

Tasks:
  ci       run every check CI runs, in the same order as .ci/run
  tidy     check layering, core's dependencies, `//!` module docs and .ci/run
  bench    run the criterion suite, then write docs/benchmarks.md and docs/benchmarks.svg
           [--no-run-benches]  only rewrite the report from the results already on disk
           [--no-js]           skip the JavaScript peers (benches/js, needs node and npm)
           [--no-instructions] skip the instruction counts under callgrind (needs valgrind);
                               counts already on disk are kept for the report
           [--rounds N]        run the benches N times in a row and report each kernel
                               ratio's spread over the rounds
           [--instructions-only]
                               only count instructions under callgrind, then rewrite the
                               report from the results on disk
           [--library NAME]    count only NAME's pairs (repeatable); the other pairs keep
                               the counts already on disk
           [-- <args>]         pass <args> to `cargo bench -p stateloom-benches`
  docs     check links between pages and that every guide's examples run as doc tests,
           then build rustdoc with warnings denied and run the doc tests
  release  --dry-run: check package metadata and changelogs, `cargo package` every crate in
           dependency order, and print the publish order
           [--no-verify]       pack without building each package
  help     print this message
";

fn main() -> anyhow::Result<()> {
    let mut parser = lexopt::Parser::from_env();
    let task = match parser.next()? {
        Some(Value(task)) => task.string()?,
        Some(Short('h') | Long("help")) => "help".to_owned(),
        Some(arg) => return Err(arg.unexpected().into()),
        None => {
            eprint!("{HELP}");
            bail!("no task given");
        }
    };

    let root = project_root();
    match task.as_str() {
        "ci" => {
            no_more_args(&mut parser)?;
            ci::run(&root)
        }
        "tidy" => {
            no_more_args(&mut parser)?;
            tidy::run(&root)
        }
        "bench" => {
            let options = bench_options(&mut parser)?;
            bench::run(&root, &options)
        }
        "docs" => {
            no_more_args(&mut parser)?;
            docs::run(&root)
        }
        "release" => {
            let options = release_options(&mut parser)?;
            release::run(&root, &options)
        }
        "help" => {
            eprint!("{HELP}");
            Ok(())
        }
        other => {
            eprint!("{HELP}");
            bail!("unknown task `{other}`")
        }
    }
}

/// Parses `bench [--no-run-benches] [--no-js] [--no-instructions] [-- <args for cargo bench>]`.
fn bench_options(parser: &mut lexopt::Parser) -> anyhow::Result<bench::Options> {
    let mut options = bench::Options::default();
    loop {
        // Everything after `--` belongs to cargo, so take it raw rather than parsing it.
        let mut raw = parser.raw_args()?;
        if raw.peek() == Some(OsStr::new("--")) {
            raw.next();
            options.extra = raw.collect();
            return Ok(options);
        }
        match parser.next()? {
            Some(Long("no-run-benches")) => options.no_run_benches = true,
            Some(Long("no-js")) => options.no_js = true,
            Some(Long("no-instructions")) => options.no_instructions = true,
            Some(Long("rounds")) => options.rounds = parser.value()?.parse()?,
            Some(Long("instructions-only")) => options.instructions_only = true,
            Some(Long("library")) => options.libraries.push(parser.value()?.string()?),
            Some(arg) => return Err(arg.unexpected().into()),
            None => return Ok(options),
        }
    }
}

/// Parses `release [--dry-run] [--no-verify]`.
fn release_options(parser: &mut lexopt::Parser) -> anyhow::Result<release::Options> {
    let mut options = release::Options::default();
    loop {
        match parser.next()? {
            Some(Long("dry-run")) => options.dry_run = true,
            Some(Long("no-verify")) => options.no_verify = true,
            Some(arg) => return Err(arg.unexpected().into()),
            None => return Ok(options),
        }
    }
}

/// Rejects anything after a task that takes no arguments, so a typo is not silently ignored.
fn no_more_args(parser: &mut lexopt::Parser) -> anyhow::Result<()> {
    match parser.next()? {
        Some(arg) => Err(arg.unexpected().into()),
        None => Ok(()),
    }
}

/// The workspace root, which is the parent of this crate's directory.
///
/// xtask is only ever run through cargo from this workspace, so the path baked in at compile time
/// is the right one, whatever the current directory is.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    #[test]
    fn bench_flags_are_parsed_and_the_rest_goes_to_cargo() {
        let args = [
            "--no-instructions",
            "--no-js",
            "--",
            "--bench",
            "core_creation",
        ];
        let mut parser = lexopt::Parser::from_args(args);
        let options = super::bench_options(&mut parser).unwrap();
        assert!(options.no_instructions && options.no_js && !options.no_run_benches);
        assert_eq!(options.extra, ["--bench", "core_creation"]);

        let mut parser = lexopt::Parser::from_args(["--no-instruction"]);
        assert!(super::bench_options(&mut parser).is_err());
    }
}
