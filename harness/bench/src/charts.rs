//! SVG charts (plotters): one bar chart per figure, lines for the sweeps, and `index.html`.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use super::figures::Unit;
use super::report::{Figure, Report, fmt, markdown};

/// One color per kind of series, the same in every chart: the floor grey, CPython in greens,
/// the reference's processes in blues, its threads orange, rayon purple, pipes red.
fn color(label: &str, i: usize) -> RGBColor {
    match label {
        "floor" => RGBColor(120, 120, 120),
        "reference" | "queue" | "process-spawn" | "process-pool" => RGBColor(31, 119, 180),
        "process-fork" => RGBColor(120, 180, 230),
        "thread-pool" => RGBColor(255, 127, 14),
        "rayon" => RGBColor(148, 103, 189),
        "pipe" => RGBColor(214, 39, 40),
        "cpython" => RGBColor(44, 160, 44),
        "cpython-fork" | "cpython-threads" => RGBColor(20, 100, 20),
        "cpython-spawn" | "cpython-processes" | "cpython-pool" => RGBColor(150, 190, 60),
        "cpython-nodelay" => RGBColor(23, 190, 207),
        _ => [RGBColor(140, 86, 75), RGBColor(227, 119, 194), RGBColor(188, 189, 34)][i % 3],
    }
}

fn file_name(f: &Figure) -> String {
    format!("{}.svg", f.id.replace('.', "-"))
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("chart: {e:?}")
}

/// Writes every chart into `dir`; returns their file names.
pub fn write_all(r: &Report, dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for f in &r.figures {
        if f.series.is_empty() {
            continue;
        }
        let name = file_name(f);
        let path = dir.join(&name);
        if f.is_sweep() {
            lines(f, &path)?
        } else {
            bars(f, &path)?
        }
        names.push(name);
    }
    Ok(names)
}

fn bars(f: &Figure, path: &Path) -> Result<()> {
    let items: Vec<(&str, f64, f64, f64)> = f
        .series
        .iter()
        .filter(|s| s.stats.median.is_finite())
        .map(|s| (s.label.as_str(), s.stats.median, s.stats.min, s.stats.max))
        .collect();
    let n = items.len().max(1);
    let top = items.iter().map(|i| i.3).fold(0.0f64, f64::max);
    let bottom = items.iter().map(|i| i.2).filter(|v| *v > 0.0).fold(f64::MAX, f64::min);
    // Values spanning orders of magnitude (a thread pool beside CPython's spawn) need a log axis.
    let log = bottom > 0.0 && top / bottom > 100.0;
    let root = SVGBackend::new(path, (760, 90 + 46 * n as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let labels: Vec<String> = items.iter().map(|i| i.0.to_string()).collect();
    let unit = f.unit;
    let mut builder = ChartBuilder::on(&root);
    let title = if log { format!("{} (log scale)", f.title) } else { f.title.clone() };
    builder.caption(title, ("sans-serif", 18)).margin(12).x_label_area_size(36).y_label_area_size(130);
    // One drawing for both axis kinds: `$lo` is where bars start, `$label_at` places the value.
    macro_rules! draw {
        ($chart:expr, $lo:expr, $label_at:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n * 2 + 1)
                .y_label_formatter(&|y| {
                    let i = *y - 0.5;
                    let whole = (i - i.round()).abs() < 1e-6 && i >= 0.0;
                    if whole { labels.get(i.round() as usize).cloned().unwrap_or_default() } else { String::new() }
                })
                .x_label_formatter(&|x| fmt(unit, *x))
                .x_desc(format!("{}; whisker: min–max", axis_name(unit)))
                .draw()
                .map_err(err)?;
            for (i, (label, median, min, max)) in items.iter().enumerate() {
                let y = i as f64;
                let bar = Rectangle::new([($lo, y + 0.2), (*median, y + 0.8)], color(label, i).filled());
                chart.draw_series(std::iter::once(bar)).map_err(err)?;
                // The min–max range as a whisker.
                let whisker = PathElement::new(vec![(*min, y + 0.5), (*max, y + 0.5)], BLACK.stroke_width(2));
                chart.draw_series(std::iter::once(whisker)).map_err(err)?;
                let text = Text::new(fmt(unit, *median), ($label_at(*max), y + 0.35), ("sans-serif", 13));
                chart.draw_series(std::iter::once(text)).map_err(err)?;
            }
        }};
    }
    if log {
        let (lo, hi) = (bottom * 0.5, top * 2.5);
        let chart = builder.build_cartesian_2d((lo..hi).log_scale(), 0.0..n as f64).map_err(err)?;
        draw!(chart, lo, |max: f64| max * 1.1);
    } else {
        let hi = (top * 1.25).max(1e-9);
        let chart = builder.build_cartesian_2d(0.0..hi, 0.0..n as f64).map_err(err)?;
        draw!(chart, 0.0, |max: f64| max + hi * 0.01);
    }
    root.present().map_err(err)?;
    Ok(())
}

fn bytes(x: f64) -> String {
    match x {
        x if x >= 1048576.0 => format!("{:.0} MiB", x / 1048576.0),
        x if x >= 1024.0 => format!("{:.0} KiB", x / 1024.0),
        x => format!("{x:.0} B"),
    }
}

fn axis_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Nanos => "time per operation (median)",
        Unit::PerSecond => "messages per second",
        Unit::Relative => "wall time relative to sequential",
        Unit::Percent => "% of runs",
    }
}

fn lines(f: &Figure, path: &Path) -> Result<()> {
    let mut labels: Vec<&str> = Vec::new();
    for s in &f.series {
        if !labels.contains(&s.label.as_str()) {
            labels.push(&s.label);
        }
    }
    let xs: Vec<f64> = f.series.iter().filter_map(|s| s.x).collect();
    let ys: Vec<f64> = f.series.iter().map(|s| s.stats.median).filter(|v| v.is_finite() && *v > 0.0).collect();
    let (x0, x1) = (xs.iter().copied().fold(f64::MAX, f64::min), xs.iter().copied().fold(0.0, f64::max));
    let (y0, y1) = (ys.iter().copied().fold(f64::MAX, f64::min), ys.iter().copied().fold(0.0, f64::max));
    let root = SVGBackend::new(path, (760, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let unit = f.unit;
    // Message sizes span five orders of magnitude; worker and thread counts do not.
    let log_x = f.id == "ipc.size_sweep";
    let mut builder = ChartBuilder::on(&root);
    builder.caption(&f.title, ("sans-serif", 18)).margin(12).x_label_area_size(40).y_label_area_size(80);
    let series_for = |label: &str| -> Vec<(f64, f64)> {
        let mut pts: Vec<(f64, f64)> =
            f.series.iter().filter(|s| s.label == label).filter_map(|s| Some((s.x?, s.stats.median))).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts
    };
    macro_rules! draw {
        ($chart:expr, $xdesc:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc($xdesc)
                .x_label_formatter(&|x| if log_x { bytes(*x) } else { format!("{x}") })
                .y_desc(axis_name(unit))
                .y_label_formatter(&|y| fmt(unit, *y))
                .draw()
                .map_err(err)?;
            for (i, label) in labels.iter().enumerate() {
                let c = color(label, i);
                let pts = series_for(label);
                chart
                    .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                    .map_err(err)?
                    .label(label.to_string())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
                chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled()))).map_err(err)?;
            }
            chart
                .configure_series_labels()
                .position(if log_x { SeriesLabelPosition::UpperLeft } else { SeriesLabelPosition::LowerLeft })
                .border_style(BLACK)
                .background_style(WHITE.mix(0.9))
                .draw()
                .map_err(err)?;
        }};
    }
    if log_x {
        let chart =
            builder.build_cartesian_2d((x0..x1 * 1.2).log_scale(), (y0 * 0.8..y1 * 1.25).log_scale()).map_err(err)?;
        draw!(chart, "message size (bytes)");
    } else {
        let chart = builder.build_cartesian_2d(0.5..x1 + 0.5, 0.0..y1.max(1.0) * 1.15).map_err(err)?;
        draw!(chart, if f.id == "cpu.split" { "workers" } else { "threads" });
    }
    root.present().map_err(err)?;
    Ok(())
}

/// The tables and charts on one page.
pub fn html(r: &Report, charts: &[String]) -> String {
    let md = markdown(r);
    let mut body = String::new();
    let mut in_table = false;
    for line in md.lines() {
        if line.starts_with('|') {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if cells.iter().all(|c| c.chars().all(|ch| ch == '-')) {
                continue;
            }
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                body.push_str("<table>\n");
                in_table = true;
            }
            body.push_str("<tr>");
            for c in cells {
                body.push_str(&format!("<{tag}>{}</{tag}>", inline(c)));
            }
            body.push_str("</tr>\n");
            continue;
        }
        if in_table {
            body.push_str("</table>\n");
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("## ") {
            body.push_str(&format!("<h2>{}</h2>\n", escape(h)));
        } else if let Some(h) = line.strip_prefix("# ") {
            body.push_str(&format!("<h1>{}</h1>\n", escape(h)));
        } else if let Some(item) = line.strip_prefix("- ") {
            body.push_str(&format!("<p>• {}</p>\n", inline(item)));
        } else if !line.trim().is_empty() {
            body.push_str(&format!("<p>{}</p>\n", inline(line)));
        }
    }
    if in_table {
        body.push_str("</table>\n");
    }
    body.push_str("<h2>Charts</h2>\n");
    for c in charts {
        body.push_str(&format!("<p><img src=\"{c}\" alt=\"{c}\"></p>\n"));
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Processes and threads: report</title>\n<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}</style></head>\n<body>\n{body}</body></html>\n"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Markdown's `**bold**`, `*em*`, `` `code` `` and `<br>` in table cells, nothing more.
fn inline(s: &str) -> String {
    let mut out = escape(s).replace("&lt;br&gt;", "<br>");
    for (mark, open, close) in [("**", "<b>", "</b>"), ("`", "<code>", "</code>"), ("*", "<i>", "</i>")] {
        let mut parts = out.split(mark);
        let mut rebuilt = parts.next().unwrap_or_default().to_string();
        for (i, p) in parts.enumerate() {
            rebuilt.push_str(if i % 2 == 0 { open } else { close });
            rebuilt.push_str(p);
        }
        out = rebuilt;
    }
    out
}
