//! Creation benches: making signals and computeds, and building and disposing a whole root,
//! for every library (see `stateloom_benches::workloads::creation`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let groups = stateloom_benches::workloads::creation_groups();
    stateloom_benches::harness::main(&groups, |_| {})
}
