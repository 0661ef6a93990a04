//! Draws `docs/benchmarks.svg`: one group of bars per workload, one bar per library, on a log
//! scale.
//!
//! plotters' SVG backend writes `<text>` elements and leaves the fonts to the viewer, so drawing
//! needs no font files or system library.

#[cfg(test)]
mod tests;

use anyhow::Context;
use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{report::format_duration, results::Results};

/// The chart's width in pixels.
const WIDTH: u32 = 1200;

/// The chart's height in pixels.
const HEIGHT: u32 = 600;

/// The horizontal middle of the chart, where the title and legend are centred.
const CENTRE: i32 = WIDTH as i32 / 2;

/// The font family of every label; the viewer picks the actual font.
const FONT: &str = "sans-serif";

/// One colour per library column, in the report's library order, so a library keeps its colour
/// in every run; libraries past the end reuse the palette.
const PALETTE: &[RGBColor] = &[
    RGBColor(31, 119, 180),  // stateloom: blue
    RGBColor(255, 127, 14),  // alien_signals: orange
    RGBColor(44, 160, 44),   // sycamore: green
    RGBColor(214, 39, 40),   // reactive_graph: red
    RGBColor(127, 127, 127), // baseline: grey
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The width of one workload's slot in x units; the x axis is integer, as plotters only takes
/// custom tick positions on an axis with default label formatting.
const SLOT: i32 = 100;

/// The width of a slot that its bars fill, in x units; the rest separates neighbouring groups.
const GROUP_WIDTH: i32 = 80;

/// The chart as SVG text.
///
/// Workloads without any result are left out; a skipped pair simply has no bar.
///
/// # Errors
///
/// Fails only if plotters does; with a string backend that means a bug in the layout.
pub(crate) fn render(results: &Results) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, results)?;
        root.present()?;
    }
    Ok(svg)
}

/// Draws the whole chart on `root`.
fn draw(root: &DrawingArea<SVGBackend<'_>, Shift>, results: &Results) -> anyhow::Result<()> {
    let libraries = results.libraries();
    let workloads: Vec<String> = results
        .workloads()
        .into_iter()
        .filter(|w| libraries.iter().any(|l| results.median(w, l).is_some()))
        .collect();

    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(72);
    draw_title_and_legend(&top, &libraries)?;
    if workloads.is_empty() {
        let style = TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        body.draw(&Text::new(
            "no peer-comparison results",
            (CENTRE, 100),
            style,
        ))?;
        return Ok(());
    }

    let medians = workloads
        .iter()
        .flat_map(|w| libraries.iter().filter_map(|l| results.median(w, l)));
    let (min, max) = medians.fold((f64::INFINITY, 0f64), |(lo, hi), m| (lo.min(m), hi.max(m)));
    // Whole decades, so the axis starts and ends on a labelled power of ten.
    let low = 10f64.powf(min.log10().floor());
    let high = 10f64.powf(max.log10().ceil()).max(low * 10.0);
    let slots = i32::try_from(workloads.len()).context("too many workloads to draw")?;
    let mut chart = ChartBuilder::on(&body)
        .margin(10)
        .margin_right(20)
        .x_label_area_size(190)
        .y_label_area_size(90)
        .build_cartesian_2d(
            // No ticks: the names are drawn below, as plotters centres rotated labels on their
            // tick and so pushes long names into the plot.
            (0..slots * SLOT).with_key_points(Vec::new()),
            (low..high).log_scale(),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("workload")
        .y_label_formatter(&|y: &f64| axis_label(*y))
        .y_label_style((FONT, 15))
        .y_desc("median time per iteration (log scale)")
        .axis_desc_style((FONT, 16))
        .draw()?;

    // Rotated to read upwards and anchored at their end, so each name hangs below its slot.
    let name_style = TextStyle::from((FONT, 14).into_font())
        .transform(FontTransform::Rotate270)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (slot, workload) in (0..).zip(&workloads) {
        let (x, y) = chart.backend_coord(&(slot * SLOT + SLOT / 2, low));
        root.draw(&Text::new(
            workload.as_str(),
            (x, y + 8),
            name_style.clone(),
        ))?;
    }

    let columns = i32::try_from(libraries.len()).context("too many libraries to draw")?;
    let bar_width = GROUP_WIDTH / columns;
    let first_bar = (SLOT - bar_width * columns) / 2;
    for ((column, library), colour) in (0..).zip(&libraries).zip(PALETTE.iter().cycle()) {
        let bars = (0..).zip(&workloads).filter_map(|(slot, workload)| {
            let median = results.median(workload, library)?;
            let left = slot * SLOT + first_bar + column * bar_width;
            let corners = [(left, low), (left + bar_width, median)];
            Some(Rectangle::new(corners, colour.filled()))
        });
        chart.draw_series(bars)?;
    }
    Ok(())
}

/// A tick label of the time axis: like [`format_duration`], without trailing zeros, so the
/// decades read `10 ns`, `1 µs`.
fn axis_label(nanos: f64) -> String {
    let label = format_duration(nanos);
    let Some((number, unit)) = label.split_once(' ') else {
        return label;
    };
    let number = if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    };
    format!("{number} {unit}")
}

/// The title, then one swatch and name per library on a single centred line.
fn draw_title_and_legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    libraries: &[String],
) -> anyhow::Result<()> {
    area.draw(&Text::new(
        "Median time per workload (lower is better)",
        (CENTRE, 8),
        TextStyle::from((FONT, 26).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    // A fixed slot per entry keeps the line centred without measuring text.
    let slot = 170;
    let left = CENTRE - slot * libraries.len() as i32 / 2;
    let label_style =
        TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (column, library) in libraries.iter().enumerate() {
        let x = left + slot * column as i32 + 20;
        let y = 52;
        let colour = PALETTE[column % PALETTE.len()];
        area.draw(&Rectangle::new(
            [(x, y - 8), (x + 16, y + 8)],
            colour.filled(),
        ))?;
        area.draw(&Text::new(
            library.as_str(),
            (x + 24, y),
            label_style.clone(),
        ))?;
    }
    Ok(())
}
