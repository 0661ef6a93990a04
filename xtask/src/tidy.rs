//! `cargo xtask tidy`: repository rules that rustc and clippy cannot check.
//!
//! - Workspace crates depend only on crates below them (`DESIGN.md`, section Layering).
//! - `stateloom-core` takes no new non-optional dependency, so it stays tiny.
//! - Every `.rs` file opens with a `//!` line saying what it is for.
//! - `.ci/run` runs exactly the commands `cargo xtask ci` runs.
//!
//! It also runs as the test `tidy::tests::tidy`, so `cargo test --workspace` catches violations.

#[cfg(test)]
mod tests;

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use serde_json::Value;
use xshell::{Shell, cmd};

use crate::{ci, layering};

/// The only non-optional normal dependencies `stateloom-core` may have.
///
/// Everything else must sit behind a feature, so `--no-default-features` builds stay small.
const CORE_ALLOWED_DEPENDENCIES: &[&str] = &["stacker", "thiserror"];

/// Folders whose `.rs` files must open with a `//!` line.
const SOURCE_DIRS: &[&str] = &["crates", "xtask", "benches"];

/// Runs every check on the workspace at `root` and prints `tidy: ok` when all pass.
///
/// # Errors
///
/// Fails listing every problem found, or when `cargo metadata` or a file cannot be read.
pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let problems = check(root)?;
    if problems.is_empty() {
        #[allow(clippy::print_stdout, reason = "the success line is the task's output")]
        {
            println!("tidy: ok");
        }
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("tidy found {} problem(s)", problems.len())
}

/// Runs every check on the workspace at `root` and returns what is wrong, one message each.
fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let metadata = cargo_metadata(root)?;
    check_layering(&metadata, &mut problems);
    check_core_dependencies(&metadata, &mut problems);
    check_module_docs(root, &mut problems)?;
    check_ci_script(root, &mut problems)?;
    Ok(problems)
}

/// Reads `cargo metadata` for the workspace members only; we need their manifests, not the
/// resolved dependency graph.
fn cargo_metadata(root: &Path) -> anyhow::Result<Value> {
    let sh = Shell::new()?;
    // Under `cargo test`, `CARGO` names the cargo that is running us; prefer it over PATH.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = root.join("Cargo.toml");
    let json = cmd!(
        sh,
        "{cargo} metadata --format-version 1 --no-deps --manifest-path {manifest}"
    )
    .quiet()
    .read()
    .context("`cargo metadata` failed; fix the manifest error it printed")?;
    serde_json::from_str(&json).context("`cargo metadata` printed something that is not JSON")
}

/// One dependency of a workspace package, as listed by `cargo metadata`.
struct Dependency<'a> {
    name: &'a str,
    /// `"normal"`, `"dev"` or `"build"`.
    kind: &'a str,
    optional: bool,
}

/// The workspace packages in `metadata`, as `(name, manifest path, dependencies)`.
fn packages(metadata: &Value) -> Vec<(&str, &str, Vec<Dependency<'_>>)> {
    // `as_array().into_iter().flatten()` treats a missing list as an empty one.
    let packages = metadata["packages"].as_array().into_iter().flatten();
    packages
        .map(|package| {
            let deps = package["dependencies"].as_array().into_iter().flatten();
            let deps = deps
                .map(|dep| Dependency {
                    name: dep["name"].as_str().unwrap_or_default(),
                    // cargo writes `null` for normal dependencies.
                    kind: dep["kind"].as_str().unwrap_or("normal"),
                    optional: dep["optional"].as_bool().unwrap_or(false),
                })
                .collect();
            (
                package["name"].as_str().unwrap_or_default(),
                package["manifest_path"].as_str().unwrap_or_default(),
                deps,
            )
        })
        .collect()
}

/// A manifest path relative to the workspace root, so messages stay short.
fn relative<'a>(metadata: &Value, manifest: &'a str) -> &'a str {
    let root = metadata["workspace_root"].as_str().unwrap_or_default();
    manifest
        .strip_prefix(root)
        .map_or(manifest, |rest| rest.trim_start_matches(['/', '\\']))
}

/// Fails on any dependency between workspace crates that the layering table does not allow.
fn check_layering(metadata: &Value, problems: &mut Vec<String>) {
    let packages = packages(metadata);
    // With `--no-deps`, the listed packages are exactly the workspace members.
    let members: Vec<&str> = packages.iter().map(|(name, _, _)| *name).collect();
    for (name, manifest, deps) in &packages {
        let manifest = relative(metadata, manifest);
        // An unknown crate is reported once here, not once per edge.
        if let Err(message) = layering::allowed(name) {
            problems.push(format!("{manifest}: {message}"));
            continue;
        }
        for dep in deps.iter().filter(|dep| members.contains(&dep.name)) {
            if let Err(message) = layering::check_edge(name, dep.name) {
                problems.push(format!("{manifest} ({} dependency): {message}", dep.kind));
            }
        }
    }
}

/// Fails on a non-optional normal dependency of `stateloom-core` outside the allow-list.
fn check_core_dependencies(metadata: &Value, problems: &mut Vec<String>) {
    let packages = packages(metadata);
    let Some((_, manifest, deps)) = packages
        .iter()
        .find(|(name, _, _)| *name == "stateloom-core")
    else {
        return;
    };
    let manifest = relative(metadata, manifest);
    for dep in deps {
        if dep.kind == "normal" && !dep.optional && !CORE_ALLOWED_DEPENDENCIES.contains(&dep.name) {
            problems.push(format!(
                "{manifest}: stateloom-core has a non-optional dependency `{0}`: make it \
                 optional behind a feature (`{0} = {{ workspace = true, optional = true }}` and \
                 `dep:{0}`), or, if every user needs it, add it to CORE_ALLOWED_DEPENDENCIES in \
                 xtask/src/tidy.rs and say why",
                dep.name
            ));
        }
    }
}

/// Fails on every `.rs` file under [`SOURCE_DIRS`] that does not open with a `//!` line.
fn check_module_docs(root: &Path, problems: &mut Vec<String>) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for dir in SOURCE_DIRS {
        rust_files(&root.join(dir), &mut files)?;
    }
    for file in files {
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        if !opens_with_module_doc(&text) {
            let shown = file.strip_prefix(root).unwrap_or(&file);
            problems.push(format!(
                "{}: the first line must be a `//!` comment saying what the file is for; add one",
                shown.display()
            ));
        }
    }
    Ok(())
}

/// Whether the first non-empty line of `text` is a `//!` inner doc comment.
fn opens_with_module_doc(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .is_some_and(|line| line.starts_with("//!"))
}

/// Collects the `.rs` files under `dir` into `out`, sorted, skipping `target/` build output.
///
/// A missing `dir` adds nothing: `benches/` may not exist yet in a young workspace.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut entries = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()?;
    // Sorted, so problems come out in the same order on every machine.
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "target") {
                rust_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Fails when `.ci/run` and [`ci::STEPS`] list different commands.
fn check_ci_script(root: &Path, problems: &mut Vec<String>) -> anyhow::Result<()> {
    let path = root.join(".ci/run");
    if !path.is_file() {
        problems.push(
            ".ci/run is missing: write the commands of `cargo xtask ci` (xtask/src/ci.rs) there"
                .to_owned(),
        );
        return Ok(());
    }
    let script = fs::read_to_string(&path).context("reading .ci/run")?;
    let in_script = script_commands(&script);
    let in_xtask: Vec<Vec<String>> = ci::STEPS.iter().map(ci::Step::words).collect();
    if in_script != in_xtask {
        let list = |commands: &[Vec<String>]| -> String {
            commands
                .iter()
                .map(|words| format!("\n    {}", words.join(" ")))
                .collect()
        };
        problems.push(format!(
            ".ci/run and `cargo xtask ci` run different commands; make them the same list in \
             the same order (edit `.ci/run` and `STEPS` in xtask/src/ci.rs together)\n  \
             .ci/run runs:{}\n  xtask ci runs:{}",
            list(&in_script),
            list(&in_xtask),
        ));
    }
    Ok(())
}

/// The commands a `.ci/run`-style bash script runs, each split into words.
///
/// Comments (and the `#!` line), blank lines and the script's own scaffolding (`set`, `cd` and
/// the `echo` headers) are not commands; every other line is, with `\` continuations joined.
fn script_commands(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter(|line| {
            let word = line.split_whitespace().next().unwrap_or_default();
            !matches!(word, "set" | "cd" | "echo")
        })
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}
