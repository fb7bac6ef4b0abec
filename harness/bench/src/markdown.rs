//! The report as a document: the processes-versus-threads summary first, then the targets,
//! then every figure with its table (medians with intervals, outliers) and ratios, then notes.

use crate::document::{Document, Section};
use crate::format;
use crate::model::{Figure, Report, Unit};
use crate::summary::{self, Cell};

const GROUPS: [(&str, &str); 5] = [
    ("start", "Starting things"),
    ("ipc", "Messages between processes, and between threads"),
    ("sync", "Locks and thread-local storage"),
    ("cpu", "CPU-bound work"),
    ("manager", "Distributed processes (manager over TCP)"),
];

fn section(id: &str, level: u8, heading: &str, body: String) -> Section {
    Section { id: id.into(), level, heading: heading.into(), body, chart: None }
}

/// The anchor of a figure's section.
pub fn figure_anchor(f: &Figure) -> String {
    f.id.replace('.', "-")
}

pub fn document(r: &Report) -> Document {
    let m = &r.machine;
    let title = format!("Processes and threads on {}-{}", m.os, m.arch);
    let mut sections = vec![section("top", 1, &title, intro(r))];
    sections.push(section("summary", 2, "Processes or threads?", summary_table(r)));
    sections.push(section("targets", 2, "Targets", targets_table(r)));
    for (group, heading) in GROUPS {
        let figs: Vec<&Figure> = r.figures.iter().filter(|f| f.group == group).collect();
        if figs.is_empty() {
            continue;
        }
        sections.push(section(group, 2, heading, String::new()));
        for f in figs {
            let mut s = section(&figure_anchor(f), 3, &f.title, figure_body(f));
            s.chart = f.series.iter().any(|s| s.summary.is_some()).then(|| f.chart_file());
            sections.push(s);
        }
    }
    let notes = notes(r);
    if !notes.is_empty() {
        sections.push(section("notes", 2, "Notes on the measurements", notes));
    }
    sections.push(section("why", 2, "Why some figures differ", EXPLANATIONS.trim_start().into()));
    sections.push(section("method", 2, "How the numbers are made", method(r)));
    Document { title, sections }
}

fn intro(r: &Report) -> String {
    let m = &r.machine;
    let load = |l: Option<[f64; 3]>| l.map_or("—".to_string(), |l| format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2]));
    let dirty = match m.dirty {
        Some(true) => " (with uncommitted changes)",
        Some(false) => "",
        None => " (tree state unknown)",
    };
    format!(
        "{} · {} · {} CPUs · {} · {} · commit {}{dirty} · {}{}\n\n\
         Load average (1, 5, 15 min) before the run {}, after {}.\n\n\
         Every figure is measured side by side in one run: *floor* is the same operation done the most \
         direct way the OS offers, *reference* (or *process-…*, *threads*) is this project's crate, \
         *cpython* is the chapter's own code. Values are medians with their 95 % confidence interval in \
         brackets; ratios are the headline, since absolute times move with the machine. *Pinned* round \
         trips run both ends on one CPU (the software's own cost); *free* ones let the scheduler place \
         them (what a user sees).\n",
        m.kernel,
        m.cpu_model,
        m.cpus,
        m.rustc,
        m.cpython.as_deref().unwrap_or("CPython not measured"),
        m.commit,
        m.timestamp,
        if r.quick { " · quick run" } else { "" },
        load(m.load_before),
        load(m.load_after),
    )
}

fn summary_cell(unit: Unit, c: &Option<Cell>) -> String {
    match c {
        None => "—".into(),
        Some(c) => {
            let v = format::with_interval(unit, c.median, c.ci);
            match c.factor {
                Some((f, ci)) => format!("{v}<br>**{}**", format::factor(f, ci)),
                None => v,
            }
        }
    }
}

fn summary_table(r: &Report) -> String {
    let rows = summary::rows(r);
    if rows.is_empty() {
        return "Not measured in this run.\n".into();
    }
    let mut out = String::from(
        "Each operation done by threads and by processes started by fork and by spawn, in one run; \
         under each process figure, how many times the thread figure it is, with its interval.\n\n\
         | operation | threads | processes by fork | processes by spawn | processes or threads? |\n\
         |---|---|---|---|---|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            row.operation,
            summary_cell(row.unit, &row.thread),
            summary_cell(row.unit, &row.fork),
            summary_cell(row.unit, &row.spawn),
            row.answer
        ));
    }
    out
}

fn targets_table(r: &Report) -> String {
    let mut out = String::from(
        "The project's targets, as ratios measured in this run (a time ratio ≤ the target, or a \
         speed-up ≥ it). *uncertain*: the interval straddles the target.\n\n\
         | figure | ratio | target | measured [95% CI] | |\n|---|---|---|---|---|\n",
    );
    let mut any = false;
    for f in &r.figures {
        for x in f.ratios.iter().filter(|x| x.target.is_some()) {
            any = true;
            let verdict = match (x.met, x.ci, x.target) {
                (None, ..) => "not measured".to_string(),
                (Some(met), Some(ci), Some(t)) if ci.contains(t) => {
                    format!("{} (uncertain)", if met { "met" } else { "**missed**" })
                }
                (Some(true), ..) => "met".into(),
                (Some(false), ..) => "**missed**".into(),
            };
            let v = x.value.map_or("—".into(), |v| format::ratio_interval(v, x.ci));
            out.push_str(&format!(
                "| [{}](#{}) | {} | {} | {v} | {verdict} |\n",
                f.title,
                figure_anchor(f),
                format::ratio_name(&f.id, x),
                format::target(x).unwrap_or_default()
            ));
        }
    }
    if !any {
        return "No figure with a target was measured in this run.\n".into();
    }
    out
}

fn outliers_text(o: &crate::stats::Outliers) -> String {
    match (o.total(), o.severe()) {
        (0, _) => "—".into(),
        (t, 0) => format!("{t}"),
        (t, s) => format!("{t} ({s} severe)"),
    }
}

fn figure_body(f: &Figure) -> String {
    let mut out = String::new();
    if !f.note.is_empty() {
        out.push_str(&format!("{}{}\n\n", f.note, if f.gated { " · gated in CI" } else { "" }));
    }
    if f.is_sweep() {
        out.push_str(&sweep_table(f));
    } else if !f.series.is_empty() {
        out.push_str("| series | median [95% CI] | min–max | n | outliers |\n|---|---|---|---|---|\n");
        for s in &f.series {
            let Some(sum) = &s.summary else {
                out.push_str(&format!("| {} | — | — | 0 | — |\n", s.label));
                continue;
            };
            // Throughput of 16-byte messages also reads as payload bytes per second.
            let mb = if f.id == "queue.throughput" {
                format!(" = {:.1} MB/s", sum.median * 16.0 / 1e6)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "| {} | **{}**{mb} | {}–{} | {} | {} |\n",
                s.label,
                format::with_interval(f.unit, sum.median, sum.ci),
                format::value(f.unit, sum.min),
                format::value(f.unit, sum.max),
                sum.n,
                outliers_text(&sum.outliers)
            ));
        }
    }
    if !f.ratios.is_empty() {
        out.push_str("\n| ratio | value [95% CI] | target |\n|---|---|---|\n");
        for x in &f.ratios {
            let v = x.value.map_or("not measured".into(), |v| format::ratio_interval(v, x.ci));
            let target = match (format::target(x), x.met) {
                (Some(t), Some(true)) => format!("{t}: met"),
                (Some(t), Some(false)) => format!("{t}: **missed**"),
                (Some(t), None) => t,
                (None, _) => String::new(),
            };
            let suspect = if x.suspect { " **SUSPECT**: better than the OS floor" } else { "" };
            out.push_str(&format!("| {} | {v}{suspect} | {target} |\n", format::ratio_name(&f.id, x)));
        }
    }
    for e in &f.errors {
        out.push_str(&format!("\n*{e}*\n"));
    }
    out
}

fn sweep_table(f: &Figure) -> String {
    let labels = f.labels();
    let head = match f.id.as_str() {
        "cpu.split" => "workers",
        "manager.delay_sweep" => "delay (ms)",
        "lock.contended.threads" => "threads",
        _ => "size",
    };
    let mut out = format!("| {head} | {} |\n|---|{}\n", labels.join(" | "), "---|".repeat(labels.len()));
    for x in f.xs() {
        let cells: Vec<String> = labels
            .iter()
            .map(|l| {
                f.find(l, Some(x))
                    .and_then(|s| s.summary.as_ref())
                    .map_or("—".into(), |s| format::with_interval(f.unit, s.median, s.ci))
            })
            .collect();
        out.push_str(&format!("| {} | {} |\n", format::x_value(&f.id, x), cells.join(" | ")));
    }
    out
}

fn notes(r: &Report) -> String {
    let lines: Vec<String> = r
        .figures
        .iter()
        .flat_map(|f| f.warnings.iter().map(move |w| format!("- [{}](#{}): {w}", f.title, figure_anchor(f))))
        .collect();
    if lines.is_empty() { String::new() } else { lines.join("\n") + "\n" }
}

fn method(r: &Report) -> String {
    let a = &r.analysis;
    format!(
        "Each series is a set of samples, each sample the mean time of a batch of calls sized to last a \
         fixed time (20 ms in a quick run, 80 ms in a full one) after a warm-up; series of one figure \
         are sampled in turn (A B C A B C …) so that they see the same machine. Intervals: {}; {} \
         resamples at {:.0} % confidence, from the fixed seed {:#x} mixed with each series' name, so a \
         report re-renders identically (`harness report --render-only`). Outliers are counted, not \
         removed. Every raw sample is in `report.json` (schema: `reports/report.schema.json`). A ratio \
         is *suspect* when it is significantly better than the OS floor: the floor or the measurement \
         is then wrong.\n",
        a.method,
        a.resamples,
        a.confidence * 100.0,
        a.seed
    )
}

const EXPLANATIONS: &str = "
- **Manager set-up.** CPython's manager handshake is several small writes in a row; with
  Nagle's algorithm on, each waits for the peer's delayed ACK (about 40 ms on Linux), which is
  most of its start-to-shutdown time. The reference sets `TCP_NODELAY` on every connection;
  the `cpython-nodelay` series forces the same option on CPython's sockets to show the effect.
- **Two CPU-bound threads.** CPython's threads share one interpreter lock, so splitting CPU work
  over them does not shorten it; Rust threads run on both cores.
- **The balance race.** CPython 3.10 and later switch threads only at certain points of the
  bytecode, so the chapter's unlocked loop practically never loses an update there; the
  reference does the read and the write as separate atomic operations, and two threads lose
  updates in most runs.
- **Free versus pinned round trips.** On a virtual machine, waking a process on the other vCPU
  costs tens of microseconds; free-placement round trips therefore swing from run to run,
  while pinned ones stay close to the software's own cost.
- **Threads versus processes for messages.** The same queue or pipe between two threads of one
  process goes through the same OS pipe as between processes: what differs is the wake-up of
  another process against that of another thread.
";
