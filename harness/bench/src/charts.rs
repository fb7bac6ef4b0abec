//! SVG charts (plotters), one per figure: medians as dots with their 95 % interval as a thick
//! whisker and the min–max range as a thin grey one; sweeps as lines through the medians with
//! interval whiskers, ticks at the measured x values. Log axes say so on the axis.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::format;
use crate::model::{Figure, Report, Unit};

/// One color per kind of series, the same in every chart: floors grey, CPython in greens, the
/// reference's processes in blues, its threads orange, rayon purple, pipes red.
fn color(label: &str, i: usize) -> RGBColor {
    match label {
        "floor" => RGBColor(110, 110, 110),
        "floor-threads" => RGBColor(170, 170, 170),
        "reference" | "queue" | "process-spawn" | "process-pool" | "process-shared" | "locked" => {
            RGBColor(31, 119, 180)
        }
        "process-fork" | "unlocked" => RGBColor(100, 170, 225),
        "threads" | "thread-pool" => RGBColor(255, 127, 14),
        "rayon" => RGBColor(148, 103, 189),
        "pipe" => RGBColor(214, 39, 40),
        "cpython" | "cpython-queue" | "cpython-locked" => RGBColor(44, 160, 44),
        "cpython-fork" | "cpython-threads" | "cpython-unlocked" => RGBColor(20, 100, 20),
        "cpython-spawn" | "cpython-processes" | "cpython-pool" | "cpython-pipe" => RGBColor(150, 190, 60),
        "cpython-nodelay" => RGBColor(23, 190, 207),
        _ => [RGBColor(140, 86, 75), RGBColor(227, 119, 194), RGBColor(188, 189, 34)][i % 3],
    }
}

/// An axis whose ticks are exactly the given values (the measured sizes, the series' rows),
/// over any numeric axis, linear or log. (plotters' own `WithKeyPoints` keeps the inner axis'
/// formatting rules, which for `f64` allow no custom tick labels.)
struct Ticked<R: Ranged<ValueType = f64>> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Bold points only: no light mesh lines between the ticks.
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> std::ops::Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

fn ticked<R: Ranged<ValueType = f64>>(inner: impl Into<R>, ticks: Vec<f64>) -> Ticked<R> {
    Ticked { inner: inner.into(), ticks }
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("chart: {e:?}")
}

/// Writes every figure's chart into `dir`; returns their file names.
pub fn write_all(r: &Report, dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for f in r.figures.iter().filter(|f| f.series.iter().any(|s| s.summary.is_some())) {
        let name = f.chart_file();
        let path = dir.join(&name);
        if f.is_sweep() {
            lines(f, &path)?
        } else {
            dots(f, &path)?
        }
        names.push(name);
    }
    Ok(names)
}

fn axis_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Nanos => "time per operation",
        Unit::PerSecond => "messages per second",
        Unit::Relative => "wall time relative to sequential",
        Unit::Percent => "% of runs",
    }
}

/// A row of the dot chart: label, median, interval, range.
struct Dot<'a> {
    label: &'a str,
    median: f64,
    lo: f64,
    hi: f64,
    min: f64,
    max: f64,
}

fn dots(f: &Figure, path: &Path) -> Result<()> {
    let items: Vec<Dot> = f
        .series
        .iter()
        .filter_map(|s| {
            let m = s.summary.as_ref()?;
            Some(Dot { label: &s.label, median: m.median, lo: m.ci.lo, hi: m.ci.hi, min: m.min, max: m.max })
        })
        .collect();
    let n = items.len().max(1);
    let top = items.iter().map(|i| i.max).fold(0.0f64, f64::max);
    let bottom = items.iter().map(|i| i.min).filter(|v| *v > 0.0).fold(f64::MAX, f64::min);
    // Values spanning orders of magnitude (a thread beside CPython's spawn) need a log axis.
    let log = bottom > 0.0 && top / bottom > 30.0;
    let root = SVGBackend::new(path, (640, 90 + 36 * n as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let unit = f.unit;
    let labels: Vec<String> = items.iter().map(|i| i.label.to_string()).collect();
    let y_keys: Vec<f64> = (0..n).map(|i| i as f64 + 0.5).collect();
    let x_desc = format!(
        "{}{}: median, 95% interval (black), min–max (grey)",
        axis_name(unit),
        if log { " (log scale)" } else { "" }
    );
    let mut builder = ChartBuilder::on(&root);
    builder.margin(10).margin_right(30).x_label_area_size(44).y_label_area_size(110);
    // One drawing for both axis kinds.
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .light_line_style(WHITE)
                // The first series on top, as in the table.
                .y_label_formatter(&|y| {
                    labels.get(n - 1 - (y.floor().max(0.0) as usize).min(n - 1)).cloned().unwrap_or_default()
                })
                .x_label_formatter(&|x| format::value(unit, *x))
                .x_desc(x_desc.as_str())
                .axis_desc_style(("sans-serif", 13))
                .label_style(("sans-serif", 12))
                .draw()
                .map_err(err)?;
            for (i, d) in items.iter().enumerate() {
                let y = (n - 1 - i) as f64 + 0.5;
                let c = color(d.label, i);
                let range = PathElement::new(vec![(d.min, y), (d.max, y)], RGBColor(190, 190, 190).stroke_width(2));
                let ci = PathElement::new(vec![(d.lo, y), (d.hi, y)], BLACK.stroke_width(4));
                let caps =
                    [d.lo, d.hi].map(|x| PathElement::new(vec![(x, y - 0.18), (x, y + 0.18)], BLACK.stroke_width(2)));
                chart.draw_series([range, ci]).map_err(err)?;
                chart.draw_series(caps).map_err(err)?;
                chart.draw_series(std::iter::once(Circle::new((d.median, y), 6, c.filled()))).map_err(err)?;
                chart
                    .draw_series(std::iter::once(Circle::new((d.median, y), 6, BLACK.stroke_width(1))))
                    .map_err(err)?;
                let text = Text::new(format::value(unit, d.median), (d.median, y - 0.22), ("sans-serif", 12));
                chart.draw_series(std::iter::once(text)).map_err(err)?;
            }
        }};
    }
    if log {
        let (lo, hi) = (bottom / 1.6, top * 1.6);
        let chart = builder
            .build_cartesian_2d((lo..hi).log_scale(), ticked::<RangedCoordf64>(0.0..n as f64, y_keys))
            .map_err(err)?;
        draw!(chart);
    } else {
        let hi = (top * 1.12).max(1e-9);
        let chart =
            builder.build_cartesian_2d(0.0..hi, ticked::<RangedCoordf64>(0.0..n as f64, y_keys)).map_err(err)?;
        draw!(chart);
    }
    root.present().map_err(err)?;
    Ok(())
}

fn lines(f: &Figure, path: &Path) -> Result<()> {
    let labels = f.labels();
    let xs = f.xs();
    let summaries: Vec<(&str, f64, f64, f64, f64)> = f
        .series
        .iter()
        .filter_map(|s| Some((s.label.as_str(), s.x?, s.summary.as_ref()?)))
        .map(|(l, x, m)| (l, x, m.median, m.ci.lo, m.ci.hi))
        .collect();
    let ys: Vec<f64> = summaries.iter().flat_map(|s| [s.3, s.4]).filter(|v| v.is_finite() && *v > 0.0).collect();
    let (x0, x1) = (xs.first().copied().unwrap_or(1.0), xs.last().copied().unwrap_or(1.0));
    let (y0, y1) = (ys.iter().copied().fold(f64::MAX, f64::min), ys.iter().copied().fold(0.0, f64::max));
    let root = SVGBackend::new(path, (640, 430)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let unit = f.unit;
    // Message sizes span five orders of magnitude, and so do their times; counts do not.
    let log = f.id == "ipc.size_sweep";
    // Throughput over a link's delay falls from thousands a second to a few: a log y keeps the
    // slow end readable (the delays themselves start at 0, so x stays linear).
    let log_y = f.id == "manager.delay_sweep";
    let id = f.id.clone();
    let x_desc = match f.id.as_str() {
        "ipc.size_sweep" => "message size (log scale)",
        "cpu.split" => "workers",
        "manager.delay_sweep" => "link delay each way (ms)",
        _ => "threads",
    };
    let y_desc = format!("{}{}: median, 95% interval", axis_name(unit), if log || log_y { " (log scale)" } else { "" });
    let mut builder = ChartBuilder::on(&root);
    builder.margin(10).margin_right(20).x_label_area_size(44).y_label_area_size(80);
    let points = |label: &str| -> Vec<(f64, f64, f64, f64)> {
        let mut pts: Vec<(f64, f64, f64, f64)> =
            summaries.iter().filter(|s| s.0 == label).map(|s| (s.1, s.2, s.3, s.4)).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    };
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .x_desc(x_desc)
                .x_label_formatter(&|x| format::x_value(&id, *x))
                .y_desc(y_desc.as_str())
                .y_label_formatter(&|y| format::value(unit, *y))
                .axis_desc_style(("sans-serif", 13))
                .label_style(("sans-serif", 12))
                .draw()
                .map_err(err)?;
            for (i, label) in labels.iter().enumerate() {
                let c = color(label, i);
                let pts = points(label);
                chart
                    .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), c.stroke_width(2)))
                    .map_err(err)?
                    .label(label.to_string())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
                chart
                    .draw_series(
                        pts.iter().map(|p| PathElement::new(vec![(p.0, p.2), (p.0, p.3)], BLACK.stroke_width(2))),
                    )
                    .map_err(err)?;
                chart.draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 4, c.filled()))).map_err(err)?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .border_style(BLACK)
                .background_style(WHITE.mix(0.9))
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(err)?;
        }};
    }
    if log {
        let chart = builder
            .build_cartesian_2d(
                ticked::<LogCoord<f64>>((x0 / 1.5..x1 * 1.5).log_scale(), xs.clone()),
                (y0 / 1.3..y1 * 1.3).log_scale(),
            )
            .map_err(err)?;
        draw!(chart);
    } else if log_y {
        let span = (x1 - x0).max(1.0);
        let chart = builder
            .build_cartesian_2d(
                ticked::<RangedCoordf64>(x0 - span * 0.08..x1 + span * 0.08, xs.clone()),
                (y0.max(1e-9) / 1.3..y1.max(1e-9) * 1.3).log_scale(),
            )
            .map_err(err)?;
        draw!(chart);
    } else {
        let span = (x1 - x0).max(1.0);
        let chart = builder
            .build_cartesian_2d(
                ticked::<RangedCoordf64>(x0 - span * 0.08..x1 + span * 0.08, xs.clone()),
                0.0..y1.max(1e-9) * 1.15,
            )
            .map_err(err)?;
        draw!(chart);
    }
    root.present().map_err(err)?;
    Ok(())
}
