//! The performance subcommands (`report`, `compare`, `gate`, and the hidden `measure`): their
//! arguments; the work is `procthread_bench::cli`'s.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

/// Measure every figure beside the OS floor and CPython; write tables, JSON and charts.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A short run (under a minute on 2 cores) instead of the full one.
    #[arg(long)]
    quick: bool,
    /// Output directory (default: `reports/<os>-<arch>`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only these figures (by id; all by default).
    #[arg(long = "only")]
    only: Vec<String>,
    /// Measure nothing: re-analyse the raw samples of the directory's report.json and re-render.
    #[arg(long)]
    render_only: bool,
    /// Also save the report as a named baseline for `compare` (in target/procthread-baselines/).
    #[arg(long, value_name = "NAME")]
    save_baseline: Option<String>,
}

pub fn report(a: ReportArgs) -> Result<ExitCode> {
    procthread_bench::cli::report(procthread_bench::cli::ReportArgs {
        quick: a.quick,
        out: a.out,
        only: a.only,
        render_only: a.render_only,
        save_baseline: a.save_baseline,
    })
}

/// Compare two reports (paths, report directories or saved baseline names): what changed, with intervals.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The report before (A).
    a: String,
    /// The report after (B).
    b: String,
    /// Changes within this fraction (0.02: 2 %) count as noise.
    #[arg(long, default_value_t = 0.02)]
    noise: f64,
}

pub fn compare(a: CompareArgs) -> Result<ExitCode> {
    procthread_bench::cli::compare(&a.a, &a.b, a.noise)
}

/// Compare a report with a baseline by ratios and intervals; exit 1 on a significant regression or lost target.
#[derive(Debug, clap::Args)]
pub struct GateArgs {
    /// The report to judge (its report.json).
    #[arg(long)]
    report: PathBuf,
    /// The committed baseline of this runner class (`ci/baselines/<os>-<arch>.json`).
    #[arg(long)]
    baseline: PathBuf,
    /// The gate's tolerances and targets.
    #[arg(long, default_value = "ci/gate.toml")]
    config: PathBuf,
    /// Also write the gate table (Markdown) here, e.g. "$GITHUB_STEP_SUMMARY".
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Rewrite the baseline from the report instead of comparing.
    #[arg(long)]
    update: bool,
}

pub fn gate(a: GateArgs) -> Result<ExitCode> {
    procthread_bench::cli::gate(&a.report, &a.baseline, &a.config, a.summary, a.update)
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
