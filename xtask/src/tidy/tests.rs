//! Tests for `tidy`: the real workspace, then each check on small in-memory inputs.

use serde_json::json;

use super::*;

/// Runs every tidy check on this workspace, so `cargo test --workspace` fails on a violation.
#[test]
fn tidy() {
    let problems = check(&crate::project_root()).expect("tidy could not run");
    assert!(
        problems.is_empty(),
        "run `cargo xtask tidy`:\n{}",
        problems.join("\n")
    );
}

/// A dependency as `(name, kind, optional)`; kind `None` is a normal dependency, as cargo writes it.
type Dep = (&'static str, Option<&'static str>, bool);

/// A `cargo metadata` document with one package per `(name, dependencies)`.
fn metadata(packages: &[(&str, &[Dep])]) -> Value {
    let packages: Vec<Value> = packages
        .iter()
        .map(|(name, deps)| {
            let deps: Vec<Value> = deps
                .iter()
                .map(|(dep, kind, optional)| json!({"name": dep, "kind": kind, "optional": optional}))
                .collect();
            json!({
                "name": name,
                "manifest_path": format!("/ws/crates/{name}/Cargo.toml"),
                "dependencies": deps,
            })
        })
        .collect();
    json!({"packages": packages, "workspace_root": "/ws"})
}

fn layering_problems(metadata: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check_layering(metadata, &mut problems);
    problems
}

fn core_problems(metadata: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check_core_dependencies(metadata, &mut problems);
    problems
}

#[test]
fn layering_accepts_downward_edges_and_ignores_outside_crates() {
    let metadata = metadata(&[
        ("stateloom-core", &[("thiserror", None, false)]),
        (
            "stateloom-atom",
            &[("stateloom-core", None, false), ("serde", None, true)],
        ),
        (
            "stateloom-worker",
            &[
                ("stateloom-core", None, false),
                ("stateloom-store", None, false),
            ],
        ),
        ("stateloom-store", &[("stateloom-core", None, false)]),
        ("xtask", &[("stateloom", Some("dev"), false)]),
    ]);
    assert_eq!(layering_problems(&metadata), Vec::<String>::new());
}

#[test]
fn layering_rejects_an_upward_dev_dependency() {
    let metadata = metadata(&[
        ("stateloom-core", &[("stateloom-atom", Some("dev"), false)]),
        ("stateloom-atom", &[("stateloom-core", None, false)]),
    ]);
    let problems = layering_problems(&metadata);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("crates/stateloom-core/Cargo.toml (dev dependency): crate `stateloom-core` depends on `stateloom-atom`"),
        "{problems:?}"
    );
}

#[test]
fn layering_rejects_worker_on_atom() {
    let metadata = metadata(&[
        ("stateloom-atom", &[]),
        ("stateloom-worker", &[("stateloom-atom", None, false)]),
    ]);
    let problems = layering_problems(&metadata);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("`stateloom-worker` depends on `stateloom-atom`"));
}

#[test]
fn layering_reports_an_unknown_crate_once() {
    let metadata = metadata(&[
        ("stateloom-core", &[]),
        (
            "stateloom-extra",
            &[
                ("stateloom-core", None, false),
                ("stateloom-core", Some("dev"), false),
            ],
        ),
    ]);
    let problems = layering_problems(&metadata);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("`stateloom-extra` is not in the layering table"));
}

#[test]
fn core_may_only_add_optional_dependencies() {
    let metadata = metadata(&[(
        "stateloom-core",
        &[
            ("stacker", None, false),
            ("thiserror", None, false),
            ("serde", None, true),
            ("tracing", None, true),
            ("proptest", Some("dev"), false),
            ("slotmap", None, false),
        ],
    )]);
    let problems = core_problems(&metadata);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with(
        "crates/stateloom-core/Cargo.toml: stateloom-core has a non-optional dependency `slotmap`"
    ));
}

#[test]
fn core_rule_applies_to_core_only() {
    let metadata = metadata(&[("stateloom-atom", &[("slotmap", None, false)])]);
    assert_eq!(core_problems(&metadata), Vec::<String>::new());
}

#[test]
fn module_doc_must_be_the_first_non_empty_line() {
    assert!(opens_with_module_doc("//! Signals.\n\nuse std::fmt;\n"));
    assert!(opens_with_module_doc(
        "\n\n  //! Indented, after blank lines.\n"
    ));
    assert!(!opens_with_module_doc("use std::fmt;\n//! Too late.\n"));
    assert!(!opens_with_module_doc("// A plain comment.\n"));
    assert!(!opens_with_module_doc(
        "/// An outer doc comment documents the next item.\nfn f() {}\n"
    ));
    assert!(!opens_with_module_doc(
        "#![allow(unused)]\n//! After an attribute.\n"
    ));
    assert!(!opens_with_module_doc(""));
}

#[test]
fn script_commands_skip_comments_and_scaffolding() {
    let script = "#!/usr/bin/env bash\n\
                  set -euo pipefail\n\
                  cd \"$(dirname \"$0\")/..\"\n\
                  \n\
                  # Formatting first: it is the cheapest.\n\
                  echo \"==> cargo fmt\"\n\
                  cargo fmt --all -- --check\n\
                  RUSTDOCFLAGS=-Dwarnings cargo doc \\\n  --workspace\n";
    assert_eq!(
        script_commands(script),
        vec![
            vec!["cargo", "fmt", "--all", "--", "--check"],
            vec!["RUSTDOCFLAGS=-Dwarnings", "cargo", "doc", "--workspace"],
        ]
    );
}

#[test]
fn ci_script_drift_is_reported() {
    let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
    fs::create_dir_all(dir.join(".ci")).unwrap();

    // The same commands as `STEPS`, written the way `.ci/run` writes them.
    let good: String = ci::STEPS
        .iter()
        .map(|step| step.words().join(" ") + "\n")
        .collect();
    fs::write(
        dir.join(".ci/run"),
        format!("#!/usr/bin/env bash\nset -euo pipefail\n{good}"),
    )
    .unwrap();
    let mut problems = Vec::new();
    check_ci_script(&dir, &mut problems).unwrap();
    assert_eq!(problems, Vec::<String>::new());

    // Dropping the last step is drift.
    let short: String = good
        .lines()
        .take(ci::STEPS.len() - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(dir.join(".ci/run"), short).unwrap();
    check_ci_script(&dir, &mut problems).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("run different commands"),
        "{problems:?}"
    );

    fs::remove_dir_all(&dir).unwrap();
}
