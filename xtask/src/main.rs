//! `cargo xtask`: the workspace's automation, written in Rust so it runs wherever cargo does.
//!
//! Run `cargo xtask help` for the list of tasks.
//! Each task lives in its own module; this file only parses the command line.

mod bench;
mod ci;
mod layering;
mod tidy;

use std::path::{Path, PathBuf};

use anyhow::bail;
use lexopt::prelude::*;

const HELP: &str = "\
cargo xtask <task> [args]

Tasks:
  ci       run every check CI runs, in the same order as .ci/run
  tidy     check layering, core's dependencies, `//!` module docs and .ci/run
  bench    run the criterion suite; extra args go to `cargo bench -p stateloom-benches`
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
            // Everything after `bench` belongs to cargo, so take it raw rather than parsing it.
            let extra: Vec<_> = parser.raw_args()?.collect();
            bench::run(&root, &extra)
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
