//! `harness report`: measures every figure in fresh processes, beside the OS floor and CPython,
//! and writes `report.md`, `report.json`, SVG charts and `index.html`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::figures::{SPECS, Spec, Unit};
use super::stats::Stats;
use super::workloads::Series;

pub const SCHEMA: u32 = 1;

/// The machine a report was measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub os: String,
    pub arch: String,
    pub kernel: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub rustc: String,
    pub commit: String,
    /// `None`: python3 was not found, and the CPython columns say "not measured".
    pub cpython: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesStats {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    pub stats: Stats,
}

/// A ratio of two medians, with its target where the project sets one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RatioValue {
    pub name: String,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub at_least: bool,
    /// Whether a larger value is better for the reference (the gate's direction).
    pub higher_is_better: bool,
    /// Whether the target is met (`None` without a target or a value).
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    pub id: String,
    pub group: String,
    pub title: String,
    pub unit: Unit,
    /// Pinned to one CPU as asked (`false` where the OS could not pin).
    pub pinned: bool,
    pub gated: bool,
    pub note: String,
    pub series: Vec<SeriesStats>,
    pub ratios: Vec<RatioValue>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub quick: bool,
    pub machine: Machine,
    pub figures: Vec<Figure>,
}

impl Figure {
    pub fn median(&self, label: &str) -> Option<f64> {
        self.series.iter().find(|s| s.label == label && s.x.is_none()).map(|s| s.stats.median)
    }
    pub fn median_at(&self, label: &str, x: f64) -> Option<f64> {
        self.series.iter().find(|s| s.label == label && s.x == Some(x)).map(|s| s.stats.median)
    }
    pub fn is_sweep(&self) -> bool {
        self.series.iter().any(|s| s.x.is_some())
    }
}

/// The default output directory: `reports/<os>-<arch>`.
pub fn default_dir() -> PathBuf {
    PathBuf::from("reports").join(format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH))
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn machine(python: Option<&str>) -> Machine {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .or_else(|| command_line("sysctl", &["-n", "machdep.cpu.brand_string"]))
        .unwrap_or_else(|| "unknown".into());
    Machine {
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        kernel: command_line("uname", &["-sr"]).unwrap_or_else(|| "unknown".into()),
        cpu_model,
        cpus: std::thread::available_parallelism().map(usize::from).unwrap_or(1),
        rustc: command_line("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        commit: command_line("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into()),
        cpython: python.and_then(|p| command_line(p, &["--version"])),
    }
}

fn python() -> Option<&'static str> {
    ["python3", "python"]
        .into_iter()
        .find(|p| command_line(p, &["--version"]).is_some_and(|v| v.starts_with("Python 3")))
}

fn cpython_script() -> PathBuf {
    let here = PathBuf::from("reports/cpython/bench.py");
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/cpython/bench.py")
}

#[derive(Debug, Clone)]
pub struct Options {
    pub quick: bool,
    pub out: PathBuf,
    /// Only these figures (all when empty).
    pub only: Vec<String>,
}

/// Runs `harness measure` (and CPython's script) for every figure, with a progress bar.
pub fn build(opts: &Options) -> Result<Report> {
    let harness = std::env::current_exe()?;
    let py = python();
    let specs: Vec<&Spec> =
        SPECS.iter().filter(|s| opts.only.is_empty() || opts.only.iter().any(|o| o == s.id)).collect();
    let bar = indicatif::ProgressBar::new(specs.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut figures = Vec::new();
    for spec in specs {
        bar.set_message(spec.title);
        let mut warnings = Vec::new();
        let mut series = Vec::new();
        let mut args = vec!["measure".to_string(), spec.id.to_string()];
        if opts.quick {
            args.push("--quick".into());
        }
        if spec.pinned {
            args.push("--pinned".into());
        }
        let mut argv: Vec<OsString> = vec![harness.clone().into()];
        argv.extend(args.iter().map(OsString::from));
        match run_json(&argv) {
            Ok(s) => series.extend(s),
            Err(e) => warnings.push(format!("reference not measured: {e}")),
        }
        match (py, spec.cpython) {
            (Some(py), Some(op)) => {
                let mut argv: Vec<OsString> =
                    vec![py.into(), cpython_script().into(), op.into(), "--exe".into(), harness.clone().into()];
                if opts.quick {
                    argv.push("--quick".into());
                }
                if spec.pinned {
                    argv.push("--pinned".into());
                }
                match run_json(&argv) {
                    Ok(s) => series.extend(s),
                    Err(e) => warnings.push(format!("CPython not measured: {e}")),
                }
            }
            (None, Some(_)) => warnings.push("CPython not measured: python3 not found".into()),
            _ => {}
        }
        figures.push(summarize(spec, series, warnings));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(Report { schema: SCHEMA, quick: opts.quick, machine: machine(py), figures })
}

/// One measurement may take this long before it is killed (with whatever it started).
const MEASURE_TIMEOUT: Duration = Duration::from_secs(300);

fn run_json(argv: &[OsString]) -> Result<Vec<Series>> {
    let out = procthread::subprocess::run(argv, None, Some(MEASURE_TIMEOUT))?;
    if out.code != 0 {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
        anyhow::bail!("exit {}: {tail}", out.code);
    }
    serde_json::from_slice(&out.stdout).context("unreadable measurement")
}

pub fn summarize(spec: &Spec, series: Vec<Series>, mut warnings: Vec<String>) -> Figure {
    let series: Vec<SeriesStats> =
        series.into_iter().map(|s| SeriesStats { label: s.label, x: s.x, stats: Stats::of(&s.samples) }).collect();
    for s in &series {
        if s.stats.samples > 2 && s.stats.spread() > 0.5 {
            let at = s.x.map_or(String::new(), |x| format!(" at {x}"));
            warnings.push(format!(
                "wide spread for {}{at}: min {} to max {}",
                s.label,
                fmt(spec.unit, s.stats.min),
                fmt(spec.unit, s.stats.max)
            ));
        }
    }
    let mut fig = Figure {
        id: spec.id.into(),
        group: spec.group.into(),
        title: spec.title.into(),
        unit: spec.unit,
        pinned: spec.pinned && cfg!(target_os = "linux"),
        gated: spec.gated,
        note: spec.note.into(),
        series,
        ratios: Vec::new(),
        warnings,
    };
    let mut ratios: Vec<RatioValue> = spec
        .ratios
        .iter()
        .map(|r| {
            let value = match (fig.median(r.num), fig.median(r.den)) {
                (Some(n), Some(d)) if d > 0.0 => Some(n / d),
                _ => None,
            };
            // Ours in the numerator of a time: lower is better; CPython's, or a throughput: higher.
            let higher_is_better = r.at_least || (r.num.starts_with("cpython") != (spec.unit == Unit::PerSecond));
            RatioValue {
                name: format!("{}/{}", r.num, r.den),
                value,
                target: r.target,
                at_least: r.at_least,
                higher_is_better,
                met: None,
            }
        })
        .collect();
    if spec.id == "cpu.split" {
        // The chapter's contrast: two CPU-bound threads, without a GIL, take about half the time.
        for label in ["thread-pool", "cpython-threads"] {
            let target = (label == "thread-pool").then_some(0.55);
            ratios.push(RatioValue {
                name: format!("{label}@2"),
                value: fig.median_at(label, 2.0),
                target,
                at_least: false,
                higher_is_better: false,
                met: None,
            });
        }
    }
    for r in &mut ratios {
        r.met = match (r.value, r.target) {
            (Some(v), Some(t)) => Some(if r.at_least { v >= t } else { v <= t }),
            _ => None,
        };
    }
    fig.ratios = ratios;
    fig
}

/// A value in its unit, for people.
pub fn fmt(unit: Unit, v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    match unit {
        Unit::Nanos if v >= 1e9 => format!("{:.2} s", v / 1e9),
        Unit::Nanos if v >= 1e6 => format!("{:.2} ms", v / 1e6),
        Unit::Nanos if v >= 1e3 => format!("{:.1} µs", v / 1e3),
        Unit::Nanos => format!("{v:.0} ns"),
        Unit::PerSecond if v >= 1e6 => format!("{:.2}M/s", v / 1e6),
        Unit::PerSecond => format!("{:.0}k/s", v / 1e3),
        Unit::Relative => format!("{v:.2}"),
        Unit::Percent => format!("{v:.0}%"),
    }
}

fn ratio_text(r: &RatioValue) -> String {
    let v = r.value.map_or("—".to_string(), |v| format!("{v:.2}"));
    match (r.target, r.met) {
        (Some(t), Some(met)) => {
            let op = if r.at_least { "≥" } else { "≤" };
            format!("{} {v} ({op} {t}: {})", r.name, if met { "met" } else { "MISSED" })
        }
        (Some(t), None) => format!("{} — (target {t}: not measured)", r.name),
        _ => format!("{} {v}", r.name),
    }
}

const GROUPS: [(&str, &str); 5] = [
    ("start", "Starting things"),
    ("ipc", "Messages between processes"),
    ("sync", "Locks and thread-local storage"),
    ("cpu", "CPU-bound work"),
    ("manager", "Distributed processes (manager over TCP)"),
];

pub fn markdown(r: &Report) -> String {
    let m = &r.machine;
    let mut out = String::new();
    out.push_str(&format!("# Processes and threads on {}-{}\n\n", m.os, m.arch));
    out.push_str(&format!(
        "{} · {} · {} CPUs · {} · {} · commit {}{}\n\n",
        m.kernel,
        m.cpu_model,
        m.cpus,
        m.rustc,
        m.cpython.as_deref().unwrap_or("CPython not measured"),
        m.commit,
        if r.quick { " · quick run" } else { "" }
    ));
    out.push_str(
        "Medians with min–max over repeated samples, measured side by side in one run. Ratios are the \
         headline: absolute times move with the machine. *floor* is the same operation done the most \
         direct way the OS offers; *reference* is this project's crate; *cpython* is the chapter's own \
         code. *Pinned* round trips run both ends on one CPU (the software's own cost); *free* ones let \
         the scheduler place them (what a user sees, which on a VM swings with cross-CPU wake-ups).\n",
    );
    for (group, heading) in GROUPS {
        let figs: Vec<&Figure> = r.figures.iter().filter(|f| f.group == group).collect();
        if figs.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {heading}\n\n| figure | measured | ratios |\n|---|---|---|\n"));
        for f in figs.iter().filter(|f| !f.is_sweep()) {
            let measured: Vec<String> = f
                .series
                .iter()
                .map(|s| {
                    let (m, lo, hi) = (fmt(f.unit, s.stats.median), fmt(f.unit, s.stats.min), fmt(f.unit, s.stats.max));
                    // Throughput of 16-byte messages also reads as payload bytes per second.
                    let mb = if f.id == "queue.throughput" {
                        format!(" = {:.1} MB/s", s.stats.median * 16.0 / 1e6)
                    } else {
                        String::new()
                    };
                    format!("{} **{m}**{mb} ({lo}–{hi})", s.label)
                })
                .collect();
            let ratios: Vec<String> = f.ratios.iter().map(ratio_text).collect();
            out.push_str(&format!("| {} | {} | {} |\n", f.title, measured.join("<br>"), ratios.join("<br>")));
        }
        for f in figs.iter().filter(|f| f.is_sweep()) {
            out.push_str(&sweep_table(f));
        }
    }
    let targets: Vec<(&Figure, &RatioValue)> =
        r.figures.iter().flat_map(|f| f.ratios.iter().filter(|x| x.target.is_some()).map(move |x| (f, x))).collect();
    out.push_str("\n## Targets\n\n| figure | ratio | target | measured | |\n|---|---|---|---|---|\n");
    for (f, x) in targets {
        let op = if x.at_least { "≥" } else { "≤" };
        let verdict = match x.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        };
        let v = x.value.map_or("—".into(), |v| format!("{v:.2}"));
        out.push_str(&format!(
            "| {} | {} | {op} {} | {v} | {verdict} |\n",
            f.title,
            x.name,
            x.target.unwrap_or_default()
        ));
    }
    let notes: Vec<String> =
        r.figures.iter().flat_map(|f| f.warnings.iter().map(move |w| format!("- {}: {w}", f.title))).collect();
    if !notes.is_empty() {
        out.push_str("\n## Notes on the measurements\n\n");
        out.push_str(&notes.join("\n"));
        out.push('\n');
    }
    out.push_str(EXPLANATIONS);
    out
}

const EXPLANATIONS: &str = "
## Why some figures differ

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
";

fn sweep_table(f: &Figure) -> String {
    let mut labels: Vec<&str> = Vec::new();
    let mut xs: Vec<f64> = Vec::new();
    for s in &f.series {
        if !labels.contains(&s.label.as_str()) {
            labels.push(&s.label);
        }
        if let Some(x) = s.x
            && !xs.contains(&x)
        {
            xs.push(x);
        }
    }
    xs.sort_by(f64::total_cmp);
    let head = match f.id.as_str() {
        "cpu.split" => "workers",
        "lock.contended.threads" => "threads",
        _ => "bytes",
    };
    let mut out = format!(
        "\n**{}** ({})\n\n| {head} | {} |\n|---|{}\n",
        f.title,
        f.note,
        labels.join(" | "),
        "---|".repeat(labels.len())
    );
    for x in xs {
        let cells: Vec<String> =
            labels.iter().map(|l| f.median_at(l, x).map_or("—".into(), |v| fmt(f.unit, v))).collect();
        out.push_str(&format!("| {x} | {} |\n", cells.join(" | ")));
    }
    for r in &f.ratios {
        out.push_str(&format!("\n{}\n", ratio_text(r)));
    }
    out
}

/// Writes the report's files into `dir`.
pub fn write(r: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let md = dir.join("report.md");
    std::fs::write(&md, markdown(r))?;
    let json = dir.join("report.json");
    std::fs::write(&json, serde_json::to_string_pretty(r)?)?;
    let charts = super::charts::write_all(r, dir)?;
    let html = dir.join("index.html");
    std::fs::write(&html, super::charts::html(r, &charts))?;
    let mut files = vec![md, json, html];
    files.extend(charts.into_iter().map(|c| dir.join(c)));
    Ok(files)
}
