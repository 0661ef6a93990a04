//! `cargo xtask ci`: runs the same steps as `.ci/run`, in the same order.
//!
//! [`STEPS`] is the one list of what CI runs.
//! `.ci/run` spells the same commands out literally, because it must run on a machine with only
//! the toolchain, and `tidy` checks that the two lists agree.

use std::path::Path;

use anyhow::Context;
use xshell::Shell;

/// One command CI runs.
#[derive(Debug)]
pub(crate) struct Step {
    /// Environment variables set for this command only, as `(name, value)`.
    pub(crate) env: &'static [(&'static str, &'static str)],
    /// The program to run.
    pub(crate) program: &'static str,
    /// The program's arguments.
    pub(crate) args: &'static [&'static str],
}

/// Every command CI runs, in order.
///
/// Change this and `.ci/run` together; `cargo xtask tidy` fails until they agree.
pub(crate) const STEPS: &[Step] = &[
    Step {
        env: &[],
        program: "cargo",
        args: &["fmt", "--all", "--", "--check"],
    },
    Step {
        env: &[],
        program: "cargo",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    },
    Step {
        env: &[],
        program: "cargo",
        args: &["test", "--workspace", "--all-features"],
    },
    // The worker's NATS tests need a `nats-server` binary: CI installs the Debian package when
    // it is missing, then runs the tests that are ignored without it.
    Step {
        env: &[],
        program: "bash",
        args: &[".ci/install-nats-server"],
    },
    Step {
        env: &[],
        program: "cargo",
        args: &[
            "test",
            "-p",
            "stateloom-worker",
            "--features",
            "nats",
            "--test",
            "nats",
            "--",
            "--ignored",
        ],
    },
    // The kernel indexes without bounds checks where debug assertions check its invariants:
    // run its tests in an optimised build with those assertions on, too.
    Step {
        env: &[
            ("CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS", "true"),
            ("CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS", "true"),
        ],
        program: "cargo",
        args: &[
            "test",
            "--release",
            "-p",
            "stateloom-core",
            "--lib",
            "--test",
            "it",
        ],
    },
    Step {
        env: &[("RUSTDOCFLAGS", "-Dwarnings")],
        program: "cargo",
        args: &["doc", "--workspace", "--no-deps", "--all-features"],
    },
    Step {
        env: &[],
        program: "cargo",
        args: &["xtask", "release", "--dry-run", "--no-verify"],
    },
    Step {
        env: &[],
        program: "cargo",
        args: &["bench", "--workspace", "--no-run"],
    },
];

impl Step {
    /// The step as words of a shell line, `NAME=value` assignments first, as `.ci/run` writes it.
    pub(crate) fn words(&self) -> Vec<String> {
        let env = self
            .env
            .iter()
            .map(|(name, value)| format!("{name}={value}"));
        let command = std::iter::once(self.program).chain(self.args.iter().copied());
        env.chain(command.map(str::to_owned)).collect()
    }
}

/// Runs every step in [`STEPS`] from the workspace root, stopping at the first failure.
pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(root);
    for step in STEPS {
        let line = step.words().join(" ");
        eprintln!("\n==> {line}");
        let mut cmd = sh.cmd(step.program).args(step.args);
        for (name, value) in step.env {
            cmd = cmd.env(name, value);
        }
        cmd.quiet()
            .run()
            .with_context(|| format!("ci step failed: {line}"))?;
    }
    eprintln!("\nci: all {} steps passed", STEPS.len());
    Ok(())
}
