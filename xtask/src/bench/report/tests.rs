//! Tests for `report`: number formatting, the tables on a small result set, and the rewrite
//! that keeps the hand-written text around the markers.

use super::*;
use crate::bench::results::{InstructionCount, JsVersions};
use crate::bench::tests::machine;

/// A result set with a bit of everything: ratios above and below 1, a skipped pair, a missing
/// pair, an unknown workload and library, the `signal` group, memory rows out of order, and
/// instruction counts with a pair skipped by the benches and one that failed under callgrind.
fn results() -> Results {
    let mut results = Results::default();
    let medians = [
        ("kairo_deep", "stateloom", 1_234.5),
        ("kairo_deep", "alien_signals", 5_061.0),
        ("kairo_deep", "sycamore", 12_345.0),
        ("kairo_deep", "reactive_graph", 41_000.0),
        ("kairo_deep", "baseline", 24.7),
        ("cellx_1000", "stateloom", 2.5e6),
        ("cellx_1000", "alien_signals", 1.9e6),
        ("cellx_1000", "baseline", 4.0e5),
        ("zz_new_workload", "stateloom", 999.7),
        ("zz_new_workload", "newlib", 3_000.0),
        ("signal", "get", 24.2),
        ("signal", "set", 60.7),
        ("signal", "set_chain10_effect", 901.0),
        ("atom_base_derived_sub_100k", "stateloom", 2.0e6),
        ("atom_base_derived_sub_100k", "jotai", 5.1e8),
        ("store_set_state_100k", "stateloom", 5.0e6),
        ("store_set_state_100k", "zustand", 7.5e6),
        ("atom_overhead", "atom_get", 6.25),
        ("atom_overhead", "core_get", 5.0),
    ];
    for (group, function, median) in medians {
        let id = (group.to_owned(), function.to_owned());
        results.medians.insert(id, median);
    }
    let skipped = [
        ("cellx_1000", "reactive_graph", "did not finish in 10 s"),
        (
            "cellx_1000",
            "sycamore",
            "stack overflow | the graph is deeper than sycamore's recursion allows",
        ),
    ];
    for (group, library, reason) in skipped {
        let id = (group.to_owned(), library.to_owned());
        results.skipped.insert(id, reason.to_owned());
    }
    let memory = |library: &str, signal, computed| Memory {
        library: library.to_owned(),
        signal,
        computed,
        effect: Some(160.0),
        link: Some(28.5),
        leaked_per_item: Some(0.0),
    };
    results.js = Some(JsVersions {
        node: "v20.20.2".to_owned(),
        libraries: vec![
            ("jotai".to_owned(), "3.0.1".to_owned()),
            ("zustand".to_owned(), "5.1.0".to_owned()),
        ],
    });
    results.memory = vec![
        memory("sycamore", Some(96.0), None),
        memory("stateloom", Some(128.0), Some(192.0)),
    ];
    let counted = [
        ("kairo_deep", "stateloom", 925_062),
        ("kairo_deep", "alien_signals", 1_267_000),
        ("kairo_deep", "sycamore", 3_402_110),
        ("kairo_deep", "reactive_graph", 12_480_000),
        ("kairo_deep", "baseline", 8_417),
        ("kairo_broad", "stateloom", 999_700),
        ("cellx_1000", "stateloom", 9_768_785),
        ("cellx_1000", "alien_signals", 8_100_000),
    ];
    for (group, library, count) in counted {
        let id = (group.to_owned(), library.to_owned());
        results
            .instructions
            .insert(id, InstructionCount::Counted(count));
    }
    let not_counted = [
        (
            "cellx_1000",
            "sycamore",
            "stack overflow | the graph is deeper than sycamore's recursion allows",
        ),
        (
            "cellx_1000",
            "baseline",
            "failed under callgrind (exit status: 2): no pair cellx_1000/baseline in this binary",
        ),
    ];
    for (group, library, reason) in not_counted {
        let id = (group.to_owned(), library.to_owned());
        let count = InstructionCount::NotCounted(reason.to_owned());
        results.instructions.insert(id, count);
    }
    results
}

#[test]
fn durations_keep_three_significant_digits() {
    let cases = [
        (0.5, "0.500 ns"),
        (24.24, "24.2 ns"),
        (901.0, "901 ns"),
        (999.7, "1.00 µs"),
        (1_234.5, "1.23 µs"),
        (12_345.0, "12.3 µs"),
        (1.2345e6, "1.23 ms"),
        (123_456_789.0, "123 ms"),
        (12.0e9, "12.0 s"),
    ];
    for (nanos, expected) in cases {
        assert_eq!(format_duration(nanos), expected, "{nanos} ns");
    }
}

#[test]
fn instruction_counts_keep_three_significant_digits() {
    let cases = [
        (0, "0"),
        (812, "812"),
        (999, "999"),
        (1_000, "1.00 k"),
        (12_345, "12.3 k"),
        (925_062, "925 k"),
        (999_700, "1.00 M"),
        (1_840_000, "1.84 M"),
        (123_456_789, "123 M"),
        (2_104_000_000, "2.10 G"),
    ];
    for (count, expected) in cases {
        assert_eq!(format_count(count), expected, "{count}");
    }
}

#[test]
fn instruction_ratios_keep_three_significant_digits() {
    let cases = [
        (0.009_099, "0.00910x"),
        (0.8341, "0.834x"),
        (0.9996, "1.00x"),
        (1.3697, "1.37x"),
        (13.49, "13.5x"),
        (340.4, "340x"),
        (1234.5, "1230x"),
    ];
    for (ratio, expected) in cases {
        assert_eq!(format_fine_ratio(ratio), expected, "{ratio}");
    }
}

#[test]
fn ratios_show_two_digits_or_the_first_significant_one() {
    let cases = [
        (0.004, "0.004x"),
        (0.0234, "0.02x"),
        (0.95, "0.95x"),
        (1.0, "1.0x"),
        (4.1, "4.1x"),
        (12.3, "12x"),
        (340.0, "340x"),
    ];
    for (ratio, expected) in cases {
        assert_eq!(format_ratio(ratio), expected, "{ratio}");
    }
}

#[test]
fn dates_are_utc_calendar_dates() {
    assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
    assert_eq!(utc_date(951_868_740), "2000-02-29 23:59 UTC");
    assert_eq!(utc_date(1_738_332_300), "2025-01-31 14:05 UTC");
    assert_eq!(utc_date(4_107_542_400), "2100-03-01 00:00 UTC");
}

#[test]
fn the_cpu_model_is_the_first_model_name() {
    let cpuinfo = "processor\t: 0\nvendor_id\t: X\nmodel name\t: Test CPU @ 3.00GHz\n\nprocessor\t: 1\nmodel name\t: Other\n";
    assert_eq!(cpu_model(cpuinfo).as_deref(), Some("Test CPU @ 3.00GHz"));
    assert_eq!(cpu_model("processor\t: 0\n"), None);
}

#[test]
fn a_skipped_pair_shows_its_reason_shortened() {
    let table = comparison_table(&results());
    let cellx = table
        .lines()
        .find(|l| l.starts_with("| `cellx_1000`"))
        .unwrap();
    assert!(cellx.contains("| did not finish in 10 s |"), "{cellx}");
    // No `|` may leak into a cell, and long reasons are cut.
    assert!(
        cellx.contains("| stack overflow / the graph is deeper… |"),
        "{cellx}"
    );
}

#[test]
fn the_whole_generated_part() {
    insta::assert_snapshot!(render(&results(), &[], &machine()), @r"
    Command: `cargo xtask bench`

    Measured 2025-01-31 14:05 UTC.
    Machine: Test CPU @ 3.00GHz, 2 cores, rustc 1.95.0 (59807616e 2026-04-14).

    ## Peer comparison

    Each cell is criterion's median time per iteration; in brackets, that median divided by stateloom's in the same row, so above 1x is slower than stateloom.
    The last column divides the fastest peer's median (baseline excluded) by stateloom's: above 1x, stateloom is the fastest library.
    A pair the benches gave up on shows why; `—` means no result.

    | workload | stateloom | alien_signals | sycamore | reactive_graph | baseline | newlib | fastest peer / stateloom |
    |---|--:|--:|--:|--:|--:|--:|--:|
    | `kairo_avoidable` | — | — | — | — | — | — | — |
    | `kairo_broad` | — | — | — | — | — | — | — |
    | `kairo_deep` | 1.23 µs | 5.06 µs (4.1x) | 12.3 µs (10x) | 41.0 µs (33x) | 24.7 ns (0.02x) | — | 4.1x (alien_signals) |
    | `kairo_diamond` | — | — | — | — | — | — | — |
    | `kairo_mux` | — | — | — | — | — | — | — |
    | `kairo_repeated` | — | — | — | — | — | — | — |
    | `kairo_triangle` | — | — | — | — | — | — | — |
    | `kairo_unstable` | — | — | — | — | — | — | — |
    | `cellx_1000` | 2.50 ms | 1.90 ms (0.76x) | stack overflow / the graph is deeper… | did not finish in 10 s | 400 µs (0.16x) | — | 0.76x (alien_signals) |
    | `cellx_2500` | — | — | — | — | — | — | — |
    | `create_signals_1k` | — | — | — | — | — | — | — |
    | `create_signals_10k` | — | — | — | — | — | — | — |
    | `create_computeds_10k_1src` | — | — | — | — | — | — | — |
    | `create_computeds_8src` | — | — | — | — | — | — | — |
    | `create_dispose` | — | — | — | — | — | — | — |
    | `dyn_simple_component` | — | — | — | — | — | — | — |
    | `dyn_dynamic_component` | — | — | — | — | — | — | — |
    | `dyn_large_web_app` | — | — | — | — | — | — | — |
    | `dyn_wide_dense` | — | — | — | — | — | — | — |
    | `dyn_very_dynamic` | — | — | — | — | — | — | — |
    | `zz_new_workload` | 1.00 µs | — | — | — | — | 3.00 µs (3.0x) | 3.0x (newlib) |

    ## Rounds

    One round was measured, so the ratios above have no spread: `cargo xtask bench --rounds 3` runs the suite three times and reports each ratio's spread here.

    ## Instruction counts

    Each cell counts the instructions of one timed run with valgrind's callgrind: the code criterion times, without the setup, the graph's build or the correctness check; in brackets, that count over stateloom's.
    Unlike the medians, counts repeat to well under 1 % between runs, but they are blind to cache misses and the allocator's page faults, so they complement the medians rather than replace them.
    The last column divides the lowest peer count (baseline excluded) by stateloom's: above 1x, stateloom executes the fewest instructions.

    | workload | stateloom | alien_signals | sycamore | reactive_graph | baseline | fewest peer / stateloom |
    |---|--:|--:|--:|--:|--:|--:|
    | `kairo_avoidable` | — | — | — | — | — | — |
    | `kairo_broad` | 1.00 M | — | — | — | — | — |
    | `kairo_deep` | 925 k | 1.27 M (1.37x) | 3.40 M (3.68x) | 12.5 M (13.5x) | 8.42 k (0.00910x) | 1.37x (alien_signals) |
    | `kairo_diamond` | — | — | — | — | — | — |
    | `kairo_mux` | — | — | — | — | — | — |
    | `kairo_repeated` | — | — | — | — | — | — |
    | `kairo_triangle` | — | — | — | — | — | — |
    | `kairo_unstable` | — | — | — | — | — | — |
    | `cellx_1000` | 9.77 M | 8.10 M (0.829x) | stack overflow / the graph is deeper… | did not finish in 10 s | failed under callgrind (exit status:… | 0.829x (alien_signals) |
    | `cellx_2500` | — | — | — | — | — | — |
    | `create_signals_1k` | — | — | — | — | — | — |
    | `create_signals_10k` | — | — | — | — | — | — |
    | `create_computeds_10k_1src` | — | — | — | — | — | — |
    | `create_computeds_8src` | — | — | — | — | — | — |
    | `create_dispose` | — | — | — | — | — | — |
    | `dyn_simple_component` | — | — | — | — | — | — |
    | `dyn_dynamic_component` | — | — | — | — | — | — |
    | `dyn_large_web_app` | — | — | — | — | — | — |
    | `dyn_wide_dense` | — | — | — | — | — | — |
    | `dyn_very_dynamic` | — | — | — | — | — | — |
    | `zz_new_workload` | — | — | — | — | — | — |

    ## Single operations

    | benchmark | median |
    |---|--:|
    | `signal/get` | 24.2 ns |
    | `signal/set` | 60.7 ns |
    | `signal/set_chain10_effect` | 901 ns |

    ## Atoms and stores against JavaScript peers

    The peers ran in Node v20.20.2 (jotai 3.0.1, zustand 5.1.0) in the same run, through `benches/js/run.mjs`.
    The ratio is the peer's median over stateloom's: above 1x, stateloom is faster.

    | workload | stateloom | peer | peer / stateloom | target |
    |---|--:|--:|--:|--:|
    | `atom_base_derived_sub_100k` | 2.00 ms | 510 ms (jotai) | 255x (met) | 10x |
    | `atom_fanout_1000` | — | — (jotai) | — | 10x |
    | `atom_family_lookup_10k` | — | — (jotai) | — | 10x |
    | `atom_family_create_10k` | — | — (jotai) | — | 10x |
    | `store_set_state_100k` | 5.00 ms | 7.50 ms (zustand) | 1.5x (not met) | 2.0x |
    | `store_selectors_1000` | — | — (zustand) | — | 10x |
    | `optimistic_updates_10k` | — | — (effect_atom) | — | 20x |
    | `optimistic_stack_1k` | — | — (effect_atom) | — | 20x |
    | `optimistic_stack_10k` | — | — (effect_atom) | — | 20x |
    | `optimistic_query_refresh_1k` | — | — (effect_atom) | — | 20x |
    | `worker_call_round_trip_memory` | — | — (coaction) | — | 9.7x |
    | `worker_toggle_10k` | — | — (coaction) | — | 9.8x |
    | `worker_resync_10k` | — | — (coaction) | — | 8.5x |
    | `worker_snapshot_10k` | — | — (coaction) | — | 8.5x |
    | `worker_fanout_8` | — | — (coaction) | — | 7.1x |
    | `bridge_commit_1` | — | — (livestore) | — | 50x |
    | `bridge_commit_batch_10k` | — | — (livestore) | — | 188x |
    | `bridge_commit_to_callback` | — | — (livestore) | — | 36x |
    | `bridge_queries_100` | — | — (livestore) | — | 10x |

    ## Atom and store operations

    | benchmark | median |
    |---|--:|
    | `atom_overhead/atom_get` | 6.25 ns |
    | `atom_overhead/core_get` | 5.00 ns |

    ## Memory

    Bytes per node, and bytes still allocated per item once everything is disposed.

    | library | signal | computed | effect | link | leaked per item |
    |---|--:|--:|--:|--:|--:|
    | stateloom | 128 | 192 | 160 | 28.5 | 0 |
    | sycamore | 96 | — | 160 | 28.5 | 0 |

    ## Chart

    ![Median time per workload and library, log scale](benchmarks.svg)

    A missing bar is a skipped pair or a missing result; the table says which.
    
    ");
}

#[test]
fn instruction_counts_have_the_comparison_rows_and_a_column_per_counted_library() {
    let results = results();
    let counts = instruction_table(&results);
    let comparison = comparison_table(&results);
    let rows = |table: &str| -> Vec<String> {
        table
            .lines()
            .filter(|line| line.starts_with("| `"))
            .map(|line| line.split('`').nth(1).unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(rows(&counts), rows(&comparison));
    let header = |table: &str| -> String {
        table
            .lines()
            .find(|line| line.starts_with("| workload |"))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        header(&comparison).contains(" newlib |"),
        "the comparison has a column for every library timed"
    );
    assert_eq!(
        header(&counts),
        "| workload | stateloom | alien_signals | sycamore | reactive_graph | baseline | fewest peer / stateloom |",
        "a library without any count (newlib) gets no column"
    );
}

#[test]
fn without_instruction_counts_the_section_says_they_were_not_measured() {
    let mut results = results();
    results.instructions.clear();
    assert_eq!(
        instruction_table(&results),
        "Not measured: `stateloom-instructions.json` is missing (valgrind was not installed, or the benches ran with `--no-instructions`).\n"
    );
}

#[test]
fn no_memory_results_say_so() {
    assert_eq!(
        memory_table(&[]),
        "No memory results (`stateloom-memory.json` is missing; the `core_memory` bench writes it).\n"
    );
}

#[test]
fn a_new_report_gets_a_heading_and_the_markers() {
    let text = splice(None, "generated\n").unwrap();
    assert!(text.starts_with("# Benchmarks\n"), "{text}");
    assert!(
        text.ends_with("\n<!-- bench:begin -->\n\ngenerated\n<!-- bench:end -->\n"),
        "{text}"
    );
}

#[test]
fn a_report_without_markers_gets_them_appended() {
    let hand_written = "# Benchmarks\n\nBy hand.";
    let text = splice(Some(hand_written), "generated").unwrap();
    assert_eq!(
        text,
        "# Benchmarks\n\nBy hand.\n\n<!-- bench:begin -->\n\ngenerated\n<!-- bench:end -->\n"
    );
    let text = splice(Some("By hand.\n"), "generated").unwrap();
    assert_eq!(
        text,
        "By hand.\n\n<!-- bench:begin -->\n\ngenerated\n<!-- bench:end -->\n"
    );
}

#[test]
fn only_the_text_between_the_markers_changes() {
    let before = "# Title\r\n\nIntro  \n<!-- bench:begin -->\nold\ntable\n<!-- bench:end -->\n\n## What each optimisation bought\n\nText.";
    let text = splice(Some(before), "new\n").unwrap();
    assert_eq!(
        text,
        "# Title\r\n\nIntro  \n<!-- bench:begin -->\n\nnew\n<!-- bench:end -->\n\n## What each optimisation bought\n\nText."
    );
    // Splicing again with the same text changes nothing.
    assert_eq!(splice(Some(&text), "new\n").unwrap(), text);
}

#[test]
fn broken_markers_are_an_error() {
    let cases = [
        ("<!-- bench:begin -->\n", "has no matching"),
        ("<!-- bench:end -->\n", "has no matching"),
        ("<!-- bench:end -->\n<!-- bench:begin -->\n", "comes before"),
        (
            "<!-- bench:begin -->\n<!-- bench:end -->\n<!-- bench:begin -->\n",
            "more than once",
        ),
    ];
    for (text, expected) in cases {
        let error = splice(Some(text), "new").unwrap_err().to_string();
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}

#[test]
fn without_javascript_results_the_peer_table_says_why() {
    let mut results = results();
    results.js = None;
    let table = js_peer_table(&results);
    assert!(
        table.starts_with("The JavaScript peers did not run"),
        "{table}"
    );
}
