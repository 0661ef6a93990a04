//! `cargo xtask docs`: the documentation builds and holds together.
//!
//! - Every link in `README.md`, `docs/*.md` and the crates' READMEs that points into the
//!   repository resolves: to a file that exists and, for a `#fragment` into a Markdown page, to
//!   one of its headings.
//! - Every page of `docs/` with a `rust` code block is included by a crate as doc tests
//!   (`#[doc = include_str!("../../../docs/<page>")]`), so its examples compile and run.
//! - rustdoc builds every crate with warnings denied, and the doc tests pass.
//!
//! The first two checks also run as the test `docs::tests::pages_link_and_run`, so
//! `cargo test --workspace` catches a broken link.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

/// Runs the checks, then rustdoc and the doc tests.
pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let problems = check_pages(root)?;
    if !problems.is_empty() {
        bail!(
            "the docs do not hold together:\n  {}",
            problems.join("\n  ")
        );
    }
    let sh = Shell::new()?;
    sh.change_dir(root);
    let _flags = sh.push_env("RUSTDOCFLAGS", "-Dwarnings");
    cmd!(sh, "cargo doc --workspace --no-deps --all-features").run()?;
    cmd!(sh, "cargo test --workspace --all-features --doc").run()?;
    Ok(())
}

/// The Markdown pages whose links are checked.
fn pages(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut pages = vec![root.join("README.md")];
    for dir in ["docs", "crates"] {
        for entry in fs::read_dir(root.join(dir)).with_context(|| format!("reading {dir}/"))? {
            let path = entry?.path();
            if dir == "crates" {
                let readme = path.join("README.md");
                if readme.is_file() {
                    pages.push(readme);
                }
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    Ok(pages)
}

/// Every problem found in the pages, as `file: what`.
pub(crate) fn check_pages(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let included = included_guides(root)?;
    for page in pages(root)? {
        let text =
            fs::read_to_string(&page).with_context(|| format!("reading {}", page.display()))?;
        let shown = page
            .strip_prefix(root)
            .unwrap_or(&page)
            .display()
            .to_string();
        for target in links(&text) {
            if let Err(problem) = check_link(root, &page, &text, &target) {
                problems.push(format!("{shown}: link `{target}`: {problem}"));
            }
        }
        let in_docs = page.parent().is_some_and(|p| p == root.join("docs"));
        if in_docs && has_rust_block(&text) {
            let name = page.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_none_or(|n| !included.contains(&n)) {
                problems.push(format!(
                    "{shown}: has Rust examples, but no crate includes it as doc tests"
                ));
            }
        }
    }
    Ok(problems)
}

/// The `docs/` pages some crate includes as doc tests.
fn included_guides(root: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut included = BTreeSet::new();
    for entry in fs::read_dir(root.join("crates"))? {
        let lib = entry?.path().join("src/lib.rs");
        let Ok(text) = fs::read_to_string(&lib) else {
            continue;
        };
        for piece in text.split("include_str!(\"../../../docs/").skip(1) {
            if let Some((name, _)) = piece.split_once('"') {
                included.insert(name.to_owned());
            }
        }
    }
    Ok(included)
}

/// Whether a page has a code block that rustdoc would compile.
fn has_rust_block(text: &str) -> bool {
    text.lines()
        .map(str::trim_start)
        .any(|l| l == "```rust" || l.starts_with("```rust,") && !l.contains("ignore"))
}

/// The targets of the inline links of a page, outside code blocks and code spans.
fn links(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Drop code spans, whose brackets are not links.
        let mut prose = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                prose.push_str(part);
            }
        }
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            if !target.is_empty() {
                targets.push(target.to_owned());
            }
            rest = &rest[end..];
        }
    }
    targets
}

/// Checks one link of `page`; external links are not followed.
fn check_link(root: &Path, page: &Path, text: &str, target: &str) -> Result<(), String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return Ok(());
    }
    let (path, fragment) = match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    };
    let (file, file_text) = if path.is_empty() {
        (page.to_path_buf(), text.to_owned())
    } else {
        let dir = page.parent().unwrap_or(root);
        let file = dir.join(path);
        if !file.exists() {
            return Err(format!(
                "no such file {}",
                file.strip_prefix(root).unwrap_or(&file).display()
            ));
        }
        let file_text = if file.extension().is_some_and(|e| e == "md") {
            fs::read_to_string(&file).map_err(|e| e.to_string())?
        } else {
            String::new()
        };
        (file, file_text)
    };
    if let Some(fragment) = fragment
        && file.extension().is_some_and(|e| e == "md")
        && !headings(&file_text).iter().any(|h| h == fragment)
    {
        return Err(format!("no heading `#{fragment}`"));
    }
    Ok(())
}

/// The anchors of a page's headings, as GitHub makes them.
fn headings(text: &str) -> Vec<String> {
    let mut in_block = false;
    let mut anchors = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block && line.starts_with('#') {
            anchors.push(slug(line.trim_start_matches('#').trim()));
        }
    }
    anchors
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_link_and_run() {
        let problems = check_pages(&crate::project_root()).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn links_outside_code_are_found_and_anchors_made_as_github_does() {
        let page = "See [a](a.md#x-y) and `[not](b.md)`.\n```rust\n[no](c.md)\n```\n[b](#top)";
        assert_eq!(links(page), ["a.md#x-y", "#top"]);
        assert_eq!(
            slug("Worker over TCP: 64 clients"),
            "worker-over-tcp-64-clients"
        );
        assert_eq!(slug("`net` feature"), "net-feature");
    }

    #[test]
    fn a_broken_link_and_a_missing_heading_are_reported() {
        let root = crate::project_root();
        let page = root.join("docs/core.md");
        assert!(check_link(&root, &page, "", "no-such-page.md").is_err());
        assert!(check_link(&root, &page, "", "atom.md#no-such-heading").is_err());
        assert!(check_link(&root, &page, "", "atom.md").is_ok());
        assert!(check_link(&root, &page, "# Here\n", "#here").is_ok());
    }
}
