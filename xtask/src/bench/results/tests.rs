//! Tests for `results`: a small fake criterion tree written to a temporary directory.

use super::*;
use crate::bench::tests::{TempDir, write_benchmark};

#[test]
fn collects_medians_skips_and_memory() {
    let dir = TempDir::new("collect");
    write_benchmark(&dir.0, "kairo_deep", "stateloom", 1500.0);
    write_benchmark(&dir.0, "kairo_deep", "sycamore", 6000.0);
    write_benchmark(&dir.0, "cellx_1000", "reactive_graph", 9.0e9);
    // Criterion's own saved baselines must be ignored.
    let base = dir.0.join("kairo_deep/stateloom/base");
    fs::create_dir_all(&base).unwrap();
    fs::write(base.join("benchmark.json"), "not json").unwrap();
    fs::write(
        dir.0.join(SKIPPED_FILE),
        concat!(
            r#"{"group":"cellx_1000","library":"reactive_graph","reason":"did not finish in 10 s"}"#,
            "\n\n",
        ),
    )
    .unwrap();
    fs::write(
        dir.0.join(MEMORY_FILE),
        r#"[{"library":"stateloom","signal":128.0,"computed":192.0,"effect":160.0,"link":28.0,"leaked_per_item":0.0},
            {"library":"sycamore","signal":96,"computed":null,"effect":200.5,"link":null,"leaked_per_item":null}]"#,
    )
    .unwrap();

    let results = collect(&dir.0).unwrap();

    assert_eq!(results.median("kairo_deep", "stateloom"), Some(1500.0));
    assert_eq!(results.median("kairo_deep", "sycamore"), Some(6000.0));
    // A skip wins over a stale result left by an earlier run.
    assert_eq!(results.median("cellx_1000", "reactive_graph"), None);
    assert_eq!(
        results.skip_reason("cellx_1000", "reactive_graph"),
        Some("did not finish in 10 s")
    );
    assert_eq!(results.memory.len(), 2);
    assert_eq!(results.memory[0].link, Some(28.0));
    assert_eq!(results.memory[1].signal, Some(96.0));
    assert_eq!(results.memory[1].computed, None);
}

#[test]
fn a_nested_id_with_a_value_is_read_from_benchmark_json() {
    let dir = TempDir::new("nested");
    // The directory names are criterion's business; only benchmark.json says what the ids are.
    let new = dir.0.join("Odd Name/x/10/new");
    fs::create_dir_all(&new).unwrap();
    fs::write(
        new.join("benchmark.json"),
        r#"{"group_id":"odd group","function_id":"lib","value_str":"10","full_id":"odd group/lib/10","directory_name":"Odd Name/x/10"}"#,
    )
    .unwrap();
    fs::write(
        new.join("estimates.json"),
        r#"{"median":{"point_estimate":42.5}}"#,
    )
    .unwrap();
    let results = collect(&dir.0).unwrap();
    assert_eq!(results.median("odd group", "lib/10"), Some(42.5));
}

#[test]
fn an_empty_or_missing_tree_is_an_error() {
    let dir = TempDir::new("empty");
    let error = collect(&dir.0).unwrap_err().to_string();
    assert!(error.contains("no criterion results"), "{error}");
    let error = collect(&dir.0.join("missing")).unwrap_err().to_string();
    assert!(error.contains("no criterion results"), "{error}");
}

#[test]
fn a_broken_skipped_line_names_its_line() {
    let text = "{\"group\":\"a\",\"library\":\"b\",\"reason\":\"c\"}\n{\"group\":1}";
    let error = parse_skipped(text).unwrap_err();
    assert_eq!(format!("{error:#}"), "line 2: `group` is missing");
}

#[test]
fn unknown_groups_and_libraries_come_last_sorted() {
    let mut results = Results::default();
    for (group, function) in [
        ("zeta", "stateloom"),
        ("alpha", "newlib"),
        ("kairo_deep", "another"),
        ("signal", "get"),
        ("signal", "aaa"),
        ("signal", "set"),
    ] {
        let id = (group.to_owned(), function.to_owned());
        results.medians.insert(id, 1.0);
    }
    let workloads = results.workloads();
    assert_eq!(workloads[..WORKLOADS.len()], *WORKLOADS);
    assert_eq!(workloads[WORKLOADS.len()..], ["alpha", "zeta"]);
    let libraries = results.libraries();
    assert_eq!(libraries[..LIBRARIES.len()], *LIBRARIES);
    assert_eq!(libraries[LIBRARIES.len()..], ["another", "newlib"]);
    assert_eq!(results.signal_benches(), ["get", "set", "aaa"]);
}

#[test]
fn javascript_results_join_the_medians_with_their_versions() {
    let dir = TempDir::new("js");
    write_benchmark(&dir.0, "atom_fanout_1000", "stateloom", 1.0e4);
    fs::write(
        dir.0.join(JS_FILE),
        r#"{"node":"v20.20.2","jotai":"3.0.1","zustand":"5.1.0","results":[
            {"group":"atom_fanout_1000","library":"jotai","median_ns":3875355,"samples":567}]}"#,
    )
    .unwrap();

    let results = collect(&dir.0).unwrap();

    assert_eq!(
        results.median("atom_fanout_1000", "jotai"),
        Some(3_875_355.0)
    );
    let js = results.js.unwrap();
    assert_eq!(js.node, "v20.20.2");
    assert_eq!(
        js.libraries,
        [
            ("jotai".to_owned(), "3.0.1".to_owned()),
            ("zustand".to_owned(), "5.1.0".to_owned())
        ]
    );
}

#[test]
fn the_kernel_peers_on_v8_join_every_workload_as_their_own_columns() {
    let dir = TempDir::new("js-kernel");
    write_benchmark(&dir.0, "kairo_deep", "stateloom", 1.0e4);
    // The shape `benches/js/peers/kernel.mjs` writes: every kernel group for both libraries.
    let v8 = ["alien_signals_v8", "preact_signals_v8"];
    let rows: Vec<String> = WORKLOADS
        .iter()
        .flat_map(|group| {
            v8.map(|library| {
                format!(
                    r#"{{"group":"{group}","library":"{library}","median_ns":1234.5,"samples":5}}"#
                )
            })
        })
        .collect();
    fs::write(
        dir.0.join(JS_FILE),
        format!(
            r#"{{"node":"v20.20.2","alienSignals":"3.2.1","preactSignalsCore":"1.14.5","results":[{}]}}"#,
            rows.join(",")
        ),
    )
    .unwrap();

    let results = collect(&dir.0).unwrap();

    for group in WORKLOADS {
        for library in v8 {
            assert_eq!(
                results.median(group, library),
                Some(1234.5),
                "{group}/{library}"
            );
        }
    }
    assert_eq!(results.workloads(), *WORKLOADS);
    let libraries = results.libraries();
    assert_eq!(libraries[..LIBRARIES.len()], *LIBRARIES);
    assert_eq!(libraries[LIBRARIES.len()..], v8);
}

#[test]
fn a_javascript_result_without_a_median_is_an_error() {
    let dir = TempDir::new("js-broken");
    write_benchmark(&dir.0, "kairo_deep", "stateloom", 1.0);
    fs::write(
        dir.0.join(JS_FILE),
        r#"{"node":"v20","results":[{"group":"atom_fanout_1000","library":"jotai"}]}"#,
    )
    .unwrap();
    let error = format!("{:#}", collect(&dir.0).unwrap_err());
    assert!(error.contains("`median_ns` is missing"), "{error}");
}

#[test]
fn crate_groups_stay_out_of_the_kernel_comparison() {
    let mut results = Results::default();
    for (group, function) in [
        ("kairo_deep", "stateloom"),
        ("atom_overhead", "atom_get"),
        ("atom_overhead", "core_get"),
        ("atom_fanout_1000", "stateloom"),
        ("store_persist_debounced", "stateloom"),
    ] {
        results
            .medians
            .insert((group.to_owned(), function.to_owned()), 1.0);
    }
    assert!(
        !results
            .workloads()
            .iter()
            .any(|w| w.starts_with("atom_") || w.starts_with("store_"))
    );
    let groups = results.crate_groups();
    assert_eq!(
        groups,
        [
            (
                "atom_overhead".to_owned(),
                vec!["atom_get".to_owned(), "core_get".to_owned()]
            ),
            (
                "store_persist_debounced".to_owned(),
                vec!["stateloom".to_owned()]
            ),
        ]
    );
}

#[test]
fn instruction_counts_and_their_reasons_are_read() {
    let dir = TempDir::new("instructions");
    write_benchmark(&dir.0, "kairo_deep", "stateloom", 1.0);
    fs::write(
        dir.0.join(SKIPPED_FILE),
        r#"{"group":"cellx_1000","library":"reactive_graph","reason":"did not finish in 10 s"}"#,
    )
    .unwrap();
    fs::write(
        dir.0.join(INSTRUCTIONS_FILE),
        r#"[
  {"group":"kairo_deep","library":"stateloom","instructions":925062},
  {"group":"kairo_deep","library":"sycamore","skipped":"did not finish in 180 s under callgrind"},
  {"group":"cellx_1000","library":"reactive_graph","instructions":5}
]"#,
    )
    .unwrap();

    let results = collect(&dir.0).unwrap();

    assert_eq!(results.instructions.len(), 3);
    assert_eq!(
        results.instructions("kairo_deep", "stateloom"),
        Some(925_062)
    );
    assert_eq!(results.instructions("kairo_deep", "sycamore"), None);
    assert_eq!(
        results.instructions_skip_reason("kairo_deep", "sycamore"),
        Some("did not finish in 180 s under callgrind")
    );
    // A pair the benches skipped has no count, even if the file has one, and shows the skip.
    assert_eq!(results.instructions("cellx_1000", "reactive_graph"), None);
    assert_eq!(
        results.instructions_skip_reason("cellx_1000", "reactive_graph"),
        Some("did not finish in 10 s")
    );
    assert_eq!(results.instructions("kairo_broad", "stateloom"), None);
    assert_eq!(
        results.instructions_skip_reason("kairo_broad", "stateloom"),
        None
    );
}

#[test]
fn without_an_instructions_file_there_are_no_counts() {
    let dir = TempDir::new("no-instructions");
    write_benchmark(&dir.0, "kairo_deep", "stateloom", 1.0);
    let results = collect(&dir.0).unwrap();
    assert!(results.instructions.is_empty());
}

#[test]
fn a_malformed_instructions_file_is_an_error_naming_it() {
    let cases = [
        ("not json", "expected ident"),
        (r#"{"group":"a"}"#, "expected a JSON array"),
        (
            r#"[{"library":"b","instructions":1}]"#,
            "entry 0: `group` is missing",
        ),
        (
            r#"[{"group":"a","library":"b","instructions":1},{"group":"a","library":"c","instructions":-3}]"#,
            "entry 1: `instructions` is not a whole number: -3",
        ),
        (
            r#"[{"group":"a","library":"b","instructions":"many"}]"#,
            "entry 0: `instructions` is not a whole number",
        ),
        (
            r#"[{"group":"a","library":"b","skipped":false}]"#,
            "entry 0: `skipped` is missing",
        ),
        (
            r#"[{"group":"a","library":"b"}]"#,
            "neither `instructions` nor `skipped`",
        ),
        (
            r#"[{"group":"a","library":"b","instructions":1,"skipped":"x"}]"#,
            "both `instructions` and `skipped`",
        ),
    ];
    for (text, expected) in cases {
        let dir = TempDir::new("bad-instructions");
        write_benchmark(&dir.0, "kairo_deep", "stateloom", 1.0);
        fs::write(dir.0.join(INSTRUCTIONS_FILE), text).unwrap();
        let error = format!("{:#}", collect(&dir.0).unwrap_err());
        assert!(
            error.starts_with("stateloom-instructions.json: "),
            "{text}: {error}"
        );
        assert!(error.contains(expected), "{text}: {error}");
    }
}
