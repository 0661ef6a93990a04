//! `cargo xtask bench`: runs the criterion suite in `benches/`.
//!
//! For now this forwards to `cargo bench -p stateloom-benches`; comparing a base and a head
//! (`--compare main`) will grow here.

use std::{ffi::OsString, path::Path};

use xshell::{Shell, cmd};

/// Runs `cargo bench -p stateloom-benches`, passing `extra` through to cargo unchanged.
pub(crate) fn run(root: &Path, extra: &[OsString]) -> anyhow::Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(root);
    cmd!(sh, "cargo bench -p stateloom-benches {extra...}").run()?;
    Ok(())
}
