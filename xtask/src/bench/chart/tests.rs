//! Tests for `chart`: on a small result set, the bars, legend and labels are in the SVG text.

use super::*;

fn results(pairs: &[(&str, &str, f64)]) -> Results {
    let mut results = Results::default();
    for (group, library, median) in pairs {
        let id = ((*group).to_owned(), (*library).to_owned());
        results.medians.insert(id, *median);
    }
    results
}

#[test]
fn draws_a_bar_per_result_and_a_legend() {
    let mut results = results(&[
        ("kairo_deep", "stateloom", 1_500.0),
        ("kairo_deep", "sycamore", 6_000.0),
        ("cellx_1000", "stateloom", 2.0e6),
        ("cellx_1000", "baseline", 1.0e5),
        ("signal", "get", 20.0),
    ]);
    let id = ("cellx_1000".to_owned(), "reactive_graph".to_owned());
    results.medians.insert(id.clone(), 9.0e9);
    results
        .skipped
        .insert(id, "did not finish in 10 s".to_owned());

    let svg = render(&results).unwrap();

    assert!(svg.starts_with("<svg"), "{svg}");
    for text in [
        "Median time per workload",
        "stateloom",
        "alien_signals",
        "reactive_graph",
        "baseline",
        "kairo_deep",
        "cellx_1000",
        "median time per iteration",
    ] {
        assert!(svg.contains(text), "`{text}` missing from the chart");
    }
    // Workloads without a result take no room, and `signal` has its own table.
    assert!(!svg.contains("kairo_broad"));
    assert!(!svg.contains(">get<"));
    // Four bars (the skipped pair has none), five legend swatches, and the background.
    let filled = |colour: &RGBColor| {
        let RGBColor(r, g, b) = colour;
        format!("fill=\"#{r:02X}{g:02X}{b:02X}\"")
    };
    let bars: usize = PALETTE[..5]
        .iter()
        .map(|colour| svg.matches(&filled(colour)).count() - 1)
        .sum();
    assert_eq!(bars, 4);
}

#[test]
fn no_workload_results_still_draw() {
    let svg = render(&results(&[("signal", "get", 20.0)])).unwrap();
    assert!(svg.contains("no peer-comparison results"));
}
