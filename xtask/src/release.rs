//! `cargo xtask release --dry-run`: everything a release needs, short of publishing.
//!
//! - Every publishable crate has complete package metadata (description, license, repository,
//!   keywords, categories, a readme that exists) and a `CHANGELOG.md` whose `[Unreleased]`
//!   section lists at least one change.
//! - `cargo package` packs every publishable crate, in dependency order, and (unless
//!   `--no-verify`) builds each from its package, with the crates below it taken from their
//!   packages rather than from crates.io.
//! - The publish order is printed: crates are published, and their versions bumped,
//!   bottom-up, each after every workspace crate it depends on.

use std::{collections::BTreeMap, fs, path::Path};

use anyhow::{Context, bail};
use serde_json::Value;
use xshell::{Shell, cmd};

/// The options of `release`.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// Check and package only; this task never publishes.
    pub(crate) dry_run: bool,
    /// Pack without building each package.
    pub(crate) no_verify: bool,
}

/// A publishable workspace crate, as `cargo metadata` describes it.
#[derive(Debug, Clone)]
pub(crate) struct Krate {
    pub(crate) name: String,
    pub(crate) version: String,
    /// Its folder.
    pub(crate) dir: std::path::PathBuf,
    /// The workspace crates it depends on (normal and build dependencies).
    pub(crate) depends_on: Vec<String>,
    /// Its `[package]` metadata, as JSON.
    pub(crate) metadata: Value,
}

#[allow(
    clippy::print_stdout,
    reason = "the publish order is the task's output"
)]
pub(crate) fn run(root: &Path, options: &Options) -> anyhow::Result<()> {
    if !options.dry_run {
        bail!(
            "only `--dry-run` is supported: crates are published by hand, in the order it prints"
        );
    }
    let sh = Shell::new()?;
    sh.change_dir(root);
    let metadata = cmd!(sh, "cargo metadata --format-version 1 --no-deps")
        .quiet()
        .read()
        .context("`cargo metadata` failed")?;
    let metadata: Value = serde_json::from_str(&metadata)?;
    let crates = publishable(&metadata)?;
    let order = publish_order(&crates)?;
    let mut problems = Vec::new();
    for krate in &crates {
        problems.extend(check_metadata(krate));
        let changelog = fs::read_to_string(krate.dir.join("CHANGELOG.md")).unwrap_or_default();
        if let Err(problem) = check_changelog(&changelog) {
            problems.push(format!("{}: CHANGELOG.md: {problem}", krate.name));
        }
    }
    if !problems.is_empty() {
        bail!("not ready for a release:\n  {}", problems.join("\n  "));
    }
    let mut args: Vec<String> = vec!["package".into(), "--allow-dirty".into()];
    if options.no_verify {
        args.push("--no-verify".into());
    }
    for name in &order {
        args.push("-p".into());
        args.push(name.clone());
    }
    cmd!(sh, "cargo {args...}")
        .run()
        .context("`cargo package` failed")?;
    println!("Every crate is ready. Publish (and bump versions) in this order:");
    for (i, name) in order.iter().enumerate() {
        let version = crates
            .iter()
            .find(|k| &k.name == name)
            .map_or("", |k| k.version.as_str());
        println!("  {}. {name} {version}", i + 1);
    }
    Ok(())
}

/// The workspace crates that may be published (no `publish = false`).
pub(crate) fn publishable(metadata: &Value) -> anyhow::Result<Vec<Krate>> {
    let packages = metadata["packages"]
        .as_array()
        .context("`cargo metadata` has no packages")?;
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut crates = Vec::new();
    for package in packages {
        if package["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let name = package["name"]
            .as_str()
            .context("a package without a name")?;
        let manifest = package["manifest_path"]
            .as_str()
            .context("a package without a manifest")?;
        let depends_on = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].as_str() != Some("dev"))
            .filter_map(|d| d["name"].as_str())
            .filter(|d| names.contains(d))
            .map(str::to_owned)
            .collect();
        crates.push(Krate {
            name: name.to_owned(),
            version: package["version"].as_str().unwrap_or_default().to_owned(),
            dir: Path::new(manifest)
                .parent()
                .context("a manifest without a folder")?
                .to_path_buf(),
            depends_on,
            metadata: package.clone(),
        });
    }
    Ok(crates)
}

/// The crates in an order where each comes after every workspace crate it depends on; among
/// crates free at the same time, by name.
pub(crate) fn publish_order(crates: &[Krate]) -> anyhow::Result<Vec<String>> {
    let mut waiting: BTreeMap<&str, Vec<&str>> = crates
        .iter()
        .map(|k| {
            let deps = k.depends_on.iter().map(String::as_str).collect();
            (k.name.as_str(), deps)
        })
        .collect();
    let mut order: Vec<String> = Vec::new();
    while !waiting.is_empty() {
        let ready: Vec<&str> = waiting
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| order.iter().any(|o| o == d)))
            .map(|(name, _)| *name)
            .collect();
        if ready.is_empty() {
            bail!("the workspace crates depend on each other in a cycle: {waiting:?}");
        }
        for name in ready {
            waiting.remove(name);
            order.push(name.to_owned());
        }
    }
    Ok(order)
}

/// What is missing from a crate's package metadata.
pub(crate) fn check_metadata(krate: &Krate) -> Vec<String> {
    let m = &krate.metadata;
    let mut problems = Vec::new();
    for field in ["description", "license", "repository"] {
        if m[field].as_str().is_none_or(|v| v.trim().is_empty()) {
            problems.push(format!("{}: no `{field}`", krate.name));
        }
    }
    for field in ["keywords", "categories"] {
        if m[field].as_array().is_none_or(Vec::is_empty) {
            problems.push(format!("{}: no `{field}`", krate.name));
        }
    }
    match m["readme"].as_str() {
        None => problems.push(format!("{}: no `readme`", krate.name)),
        Some(readme) if !krate.dir.join(readme).is_file() => {
            problems.push(format!(
                "{}: the readme `{readme}` does not exist",
                krate.name
            ));
        }
        Some(_) => {}
    }
    problems
}

/// Checks that a changelog has an `[Unreleased]` section listing at least one change.
pub(crate) fn check_changelog(text: &str) -> Result<(), String> {
    let Some(at) = text.find("## [Unreleased]") else {
        return Err("no `## [Unreleased]` section".into());
    };
    let section = &text[at + "## [Unreleased]".len()..];
    let section = section.split("\n## ").next().unwrap_or("");
    if section.lines().any(|l| l.trim_start().starts_with("- ")) {
        Ok(())
    } else {
        Err("the `[Unreleased]` section lists no change".into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn krate(name: &str, deps: &[&str]) -> Krate {
        Krate {
            name: name.into(),
            version: "0.1.0".into(),
            dir: crate::project_root().join("crates").join(name),
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
            metadata: Value::Null,
        }
    }

    #[test]
    fn crates_come_after_what_they_depend_on() {
        let crates = [
            krate("c", &["a", "b"]),
            krate("b", &["a"]),
            krate("a", &[]),
            krate("d", &[]),
        ];
        assert_eq!(publish_order(&crates).unwrap(), ["a", "d", "b", "c"]);
        let cycle = [krate("x", &["y"]), krate("y", &["x"])];
        assert!(publish_order(&cycle).is_err());
    }

    #[test]
    fn changelogs_need_an_unreleased_change() {
        assert!(check_changelog("# C\n\n## [Unreleased]\n\n### Added\n- a thing\n").is_ok());
        assert!(check_changelog("# C\n\n## [Unreleased]\n\n## [0.1.0]\n- old\n").is_err());
        assert!(check_changelog("# C\n\n## [0.1.0]\n- old\n").is_err());
    }

    #[test]
    fn missing_metadata_is_named() {
        let mut k = krate("stateloom-core", &[]);
        k.metadata = json!({"description": "x", "license": "MIT", "keywords": ["a"],
                            "categories": [], "readme": "no-such-file.md"});
        let problems = check_metadata(&k);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn the_workspace_is_ready_for_a_release() {
        let root = crate::project_root();
        let metadata = std::process::Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(&root)
            .output()
            .unwrap();
        let metadata: Value = serde_json::from_slice(&metadata.stdout).unwrap();
        let crates = publishable(&metadata).unwrap();
        let order = publish_order(&crates).unwrap();
        assert_eq!(order.first().map(String::as_str), Some("stateloom-core"));
        assert_eq!(order.last().map(String::as_str), Some("stateloom"));
        assert!(
            !order
                .iter()
                .any(|n| n == "xtask" || n == "stateloom-benches")
        );
        for krate in &crates {
            assert_eq!(check_metadata(krate), Vec::<String>::new());
            let changelog = fs::read_to_string(krate.dir.join("CHANGELOG.md")).unwrap();
            check_changelog(&changelog).unwrap_or_else(|e| panic!("{}: {e}", krate.name));
        }
    }
}
