//! The performance subcommands (`report`, `compare`, `gate`, and the hidden `measure`): their
//! arguments; the work is `procthread_bench::cli`'s.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use procthread_harness::workspace;

const REPORT_EXAMPLES: &str = "\
Examples:
  harness report --quick                         a short run into the workspace's reports/<os>-<arch>/
  harness report --only queue-rtt-free --out target/q   one figure, elsewhere
  harness report --render-only                   re-analyse and re-render the last report's samples
  harness report --quick --save-baseline before  then, after a change: `harness compare before after`";

const COMPARE_EXAMPLES: &str = "\
Examples:
  harness compare before after                   two baselines saved by `report --save-baseline`
  harness compare reports/linux-x86_64 target/q  report directories (or their report.json)
  harness compare before target/q --noise 0.05   changes within 5 % count as noise";

const GATE_EXAMPLES: &str = "\
Examples:
  harness gate --report target/ci-report/report.json --baseline ci/baselines/linux-x86_64.json
  harness gate --report r/report.json --baseline b.json --summary \"$GITHUB_STEP_SUMMARY\"
  harness gate --report r/report.json --baseline b.json --update   accept the report as the baseline";

/// Measure every figure beside the OS floor and CPython; write tables, JSON and charts.
#[derive(Debug, clap::Args)]
#[command(after_help = REPORT_EXAMPLES)]
pub struct ReportArgs {
    /// A short run (under a minute on 2 cores) instead of the full one.
    #[arg(long)]
    quick: bool,
    /// Output directory [default: the workspace's `reports/OS-ARCH`, from any folder of it].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Only this figure, by id (repeat for several) [default: every figure].
    #[arg(long = "only", value_name = "ID")]
    only: Vec<String>,
    /// Measure nothing: re-analyse the raw samples of the directory's report.json and re-render.
    #[arg(long)]
    render_only: bool,
    /// Also save the report as a named baseline for `compare` (in the workspace's
    /// target/procthread-baselines/, or under $CARGO_TARGET_DIR).
    #[arg(long, value_name = "NAME")]
    save_baseline: Option<String>,
}

pub fn report(a: ReportArgs) -> Result<ExitCode> {
    procthread_bench::cli::report(procthread_bench::cli::ReportArgs {
        quick: a.quick,
        out: Some(a.out.unwrap_or_else(|| workspace::folder("reports").join(default_name()))),
        only: a.only,
        render_only: a.render_only,
        save_baseline: a.save_baseline,
        target_dir: Some(target_dir()),
    })
}

/// The target directory named baselines go under: `$CARGO_TARGET_DIR`, else the workspace's
/// `target/` (from any folder of it, as cargo's own).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace::folder("target"), PathBuf::from)
}

/// The default report folder's name under `reports/`: `<os>-<arch>`.
fn default_name() -> PathBuf {
    procthread_bench::cli::default_dir().file_name().map(PathBuf::from).unwrap_or_default()
}

/// Compare two reports (paths, report directories or saved baseline names): what changed, with intervals.
#[derive(Debug, clap::Args)]
#[command(after_help = COMPARE_EXAMPLES)]
pub struct CompareArgs {
    /// The report before (A): a report.json, a report directory, or a saved baseline's name.
    #[arg(value_name = "A")]
    a: String,
    /// The report after (B), as A.
    #[arg(value_name = "B")]
    b: String,
    /// Changes within this fraction (0.02: 2 %) count as noise.
    #[arg(long, default_value_t = 0.02, value_name = "FRACTION")]
    noise: f64,
}

pub fn compare(a: CompareArgs) -> Result<ExitCode> {
    procthread_bench::cli::compare(&a.a, &a.b, a.noise, Some(&target_dir()))
}

/// Compare a report with a baseline by ratios and intervals; exit 1 on a significant regression or lost target.
#[derive(Debug, clap::Args)]
#[command(after_help = GATE_EXAMPLES)]
pub struct GateArgs {
    /// The report to judge (its report.json).
    #[arg(long, value_name = "FILE")]
    report: PathBuf,
    /// The committed baseline of this runner class (`ci/baselines/<os>-<arch>.json`).
    #[arg(long, value_name = "FILE")]
    baseline: PathBuf,
    /// The gate's tolerances and targets [default: the workspace's `ci/gate.toml`, from any folder of it].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Also write the gate table (Markdown) here, e.g. "$GITHUB_STEP_SUMMARY".
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Rewrite the baseline from the report instead of comparing.
    #[arg(long)]
    update: bool,
}

pub fn gate(a: GateArgs) -> Result<ExitCode> {
    let config = a.config.unwrap_or_else(|| workspace::folder("ci").join("gate.toml"));
    procthread_bench::cli::gate(&a.report, &a.baseline, &config, a.summary, a.update)
}

/// Measure one figure in this (fresh, single-threaded) process and print JSON (used by report).
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    /// The figure's id.
    id: String,
    /// The short run's sample counts.
    #[arg(long)]
    quick: bool,
    /// Pin this process to one CPU.
    #[arg(long)]
    pinned: bool,
}

pub fn measure(a: MeasureArgs) -> Result<ExitCode> {
    procthread_bench::cli::measure(&a.id, a.quick, a.pinned)
}
