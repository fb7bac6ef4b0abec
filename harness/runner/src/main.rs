//! `harness`: list, check, run and show scenarios; `exec` and `tool` are used by the harness itself.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use procthread_harness::conformance::{self, Matrix, Status};
use procthread_harness::implementation::{self, Availability, Executor};
use procthread_harness::{run, tool};
use procthread_scenario::{Applicability, Backend, Implementation, Scenario, applicability};

#[derive(Parser)]
#[command(name = "harness", version, about = "Conformance and benchmark harness for the processes and threads chapter")]
struct Cli {
    /// Directory of scenario files.
    #[arg(long, global = true, default_value = "scenarios")]
    dir: PathBuf,
    /// Directory of snapshots.
    #[arg(long, global = true, default_value = "snapshots")]
    snapshots: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List scenarios and the backends each runs on (with the reason where one does not).
    List,
    /// Validate scenario files (all of them by default); exits non-zero on any error.
    Check { files: Vec<PathBuf> },
    /// Run scenarios on their backends and print a table of results.
    Run {
        #[arg(long = "scenario")]
        scenarios: Vec<String>,
        #[arg(long = "backend")]
        backends: Vec<String>,
        /// The implementation(s) to run; `all` ends with the conformance matrix.
        #[arg(long = "impl", value_enum, default_value_t = ImplChoice::Reference)]
        implementation: ImplChoice,
        /// The Python of CPython runs (default: $PROCTHREAD_PYTHON, else python3 on the PATH).
        #[arg(long)]
        python: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Run one scenario on one backend and print its normalized trace.
    Show {
        name: String,
        #[arg(long)]
        backend: String,
        /// The implementation to run it on.
        #[arg(long = "impl", value_enum, default_value_t = OneImpl::Reference)]
        implementation: OneImpl,
        /// The Python of CPython runs (default: $PROCTHREAD_PYTHON, else python3 on the PATH).
        #[arg(long)]
        python: Option<PathBuf>,
        /// Print the raw events instead (real pids and timings).
        #[arg(long)]
        raw: bool,
    },
    /// Execute one scenario in this process (used by the runner; not for direct use).
    #[command(hide = true)]
    Exec {
        #[arg(long)]
        backend: String,
        #[arg(long)]
        events: PathBuf,
        scenario: PathBuf,
    },
    /// Measure every figure beside the OS floor and CPython; write tables, JSON and charts.
    Report {
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
    },
    /// Compare two reports (paths, report directories or saved baseline names): what changed, with intervals.
    Compare {
        /// The report before (A).
        a: String,
        /// The report after (B).
        b: String,
        /// Changes within this fraction (0.02: 2 %) count as noise.
        #[arg(long, default_value_t = 0.02)]
        noise: f64,
    },
    /// Compare a report with a baseline by ratios and intervals; exit 1 on a significant regression or lost target.
    Gate {
        #[arg(long)]
        report: PathBuf,
        #[arg(long)]
        baseline: PathBuf,
        #[arg(long, default_value = "ci/gate.toml")]
        config: PathBuf,
        /// Also write the gate table (Markdown) here, e.g. "$GITHUB_STEP_SUMMARY".
        #[arg(long)]
        summary: Option<PathBuf>,
        /// Rewrite the baseline from the report instead of comparing.
        #[arg(long)]
        update: bool,
    },
    /// Measure one figure in this (fresh, single-threaded) process and print JSON (used by report).
    #[command(hide = true)]
    Measure {
        id: String,
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        pinned: bool,
    },
    /// Contain one run: start its executor, end it at the timeout, kill every process it left
    /// (used by the runner on Unix; not for direct use).
    #[command(hide = true)]
    Supervise {
        #[arg(long)]
        timeout_ms: u64,
        /// The run's temp dir (not `--dir`, the global scenario directory).
        #[arg(long)]
        run_dir: Option<PathBuf>,
        #[arg(long)]
        parent: u32,
        #[arg(last = true, required = true)]
        argv: Vec<std::ffi::OsString>,
    },
    /// Portable programs for scenario `run` steps: `upper`, `exit N`, `sleep MS`, `echo ...`, `lookup [NAME]`.
    Tool {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

/// `--impl` of `run`: one implementation, or every one (the conformance matrix).
#[derive(Clone, Copy, ValueEnum)]
enum ImplChoice {
    Reference,
    Cpython,
    All,
}

impl ImplChoice {
    fn implementations(self) -> Vec<Implementation> {
        match self {
            ImplChoice::Reference => vec![Implementation::Reference],
            ImplChoice::Cpython => vec![Implementation::Cpython],
            ImplChoice::All => Implementation::ALL.to_vec(),
        }
    }
}

/// `--impl` of `show`.
#[derive(Clone, Copy, ValueEnum)]
enum OneImpl {
    Reference,
    Cpython,
}

fn main() -> ExitCode {
    // First thing: a spawned child goes straight to its entry point.
    procthread::dispatch_all(&[procthread_harness::REGISTRY, procthread_bench::REGISTRY]);
    // The floor's "same binary, exiting at once" for spawn measurements.
    if std::env::args_os().nth(1).is_some_and(|a| a == procthread_bench::workloads::EXIT_NOW) {
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::List => list(&cli.dir),
        Cmd::Check { files } => check(&cli.dir, files),
        Cmd::Run { scenarios, backends, implementation, python, format } => {
            let runs = Runs { only: &scenarios, backends: &backends, implementation, python };
            run_all(&cli.dir, &cli.snapshots, &runs, format)
        }
        Cmd::Show { name, backend, implementation, python, raw } => {
            let implementation = match implementation {
                OneImpl::Reference => Implementation::Reference,
                OneImpl::Cpython => Implementation::Cpython,
            };
            show(&cli.dir, &cli.snapshots, &name, &backend, implementation, python.as_deref(), raw)
        }
        Cmd::Exec { backend, events, scenario } => exec(&backend, &events, &scenario),
        Cmd::Report { quick, out, only, render_only, save_baseline } => {
            procthread_bench::cli::report(procthread_bench::cli::ReportArgs {
                quick,
                out,
                only,
                render_only,
                save_baseline,
            })
        }
        Cmd::Compare { a, b, noise } => procthread_bench::cli::compare(&a, &b, noise),
        Cmd::Gate { report, baseline, config, summary, update } => {
            procthread_bench::cli::gate(&report, &baseline, &config, summary, update)
        }
        Cmd::Measure { id, quick, pinned } => procthread_bench::cli::measure(&id, quick, pinned),
        Cmd::Supervise { timeout_ms, run_dir, parent, argv } => {
            let timeout = std::time::Duration::from_millis(timeout_ms);
            let opts = procthread_harness::supervise::Options { timeout, dir: run_dir, parent, argv };
            Ok(ExitCode::from(procthread_harness::os::supervise(opts).clamp(0, 255) as u8))
        }
        Cmd::Tool { args } => Ok(ExitCode::from(tool::run(&args).clamp(0, 255) as u8)),
    }
}

/// The scenarios of `dir` (subfolders included), or only those named in `only`: a file not
/// asked for is not read, so one broken file does not stop running the others.
fn load_all(dir: &Path, only: &[String]) -> Result<Vec<Scenario>> {
    let mut files = procthread_scenario::discover(dir)
        .with_context(|| format!("cannot read scenario directory {}", dir.display()))?;
    if !only.is_empty() {
        for name in only {
            if !files.iter().any(|f| procthread_scenario::name_in(dir, f) == *name) {
                bail!("no scenario `{name}` in {}", dir.display());
            }
        }
        files.retain(|f| only.contains(&procthread_scenario::name_in(dir, f)));
    }
    let mut out = Vec::new();
    let mut bad = 0;
    for f in files {
        match procthread_scenario::load_in(dir, &f) {
            Ok(s) => out.push(s),
            Err(e) => {
                eprintln!("{e}");
                bad += 1;
            }
        }
    }
    if bad > 0 {
        bail!("{bad} scenario file(s) are invalid (see above)");
    }
    Ok(out)
}

fn parse_backend(name: &str) -> Result<Backend> {
    Backend::parse(name).with_context(|| {
        let all: Vec<&str> = Backend::ALL.iter().map(|b| b.as_str()).collect();
        format!("unknown backend `{name}`; expected one of {}", all.join(", "))
    })
}

fn list(dir: &Path) -> Result<ExitCode> {
    for s in load_all(dir, &[])? {
        println!("{}  ({})", s.name, s.title);
        for (b, a) in applicability(&s, cfg!(unix)) {
            let status = match a {
                Applicability::Runs => "runs".to_string(),
                Applicability::SkippedOnThisOs(why) => format!("skipped here: {why}"),
                Applicability::NotApplicable(why) => format!("n/a: {why}"),
            };
            println!("  {:<13} {status}", b.as_str());
            if !status.starts_with("n/a")
                && let Some(d) = s.divergence(Implementation::Cpython, b)
            {
                println!("  {:<13}   cpython diverges: {} ({})", "", d.reason, d.source);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(dir: &Path, files: Vec<PathBuf>) -> Result<ExitCode> {
    let files = if files.is_empty() { procthread_scenario::discover(dir)? } else { files };
    let mut bad = 0;
    for f in &files {
        if let Err(e) = procthread_scenario::load(f) {
            eprintln!("{e}");
            bad += 1;
        }
    }
    println!("{} file(s) checked, {bad} invalid", files.len());
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// What `harness run` runs.
struct Runs<'a> {
    only: &'a [String],
    backends: &'a [String],
    implementation: ImplChoice,
    python: Option<PathBuf>,
}

/// An implementation's executor, or why its runs cannot happen here: skipped, or failed under CI
/// where Python must be present.
type Ready = Result<Executor, (Status, String)>;

/// Each implementation's executor.
fn executors(
    implementations: &[Implementation],
    python: Option<&Path>,
    harness: &Path,
) -> Result<Vec<(Implementation, Ready)>> {
    let mut out = Vec::new();
    for &i in implementations {
        let executor = match i {
            Implementation::Reference => Ok(Executor::reference(harness)),
            Implementation::Cpython => {
                let found = match python {
                    // A Python named on the command line must exist.
                    Some(p) => Availability::Ready(implementation::find_python(Some(p))?),
                    None => implementation::cpython_availability().clone(),
                };
                match found {
                    Availability::Ready(p) => Ok(Executor::cpython(&p, harness)),
                    Availability::Skip(why) => Err((Status::Skipped, why)),
                    Availability::Fail(why) => Err((Status::Fail, why)),
                }
            }
        };
        out.push((i, executor));
    }
    Ok(out)
}

fn run_all(dir: &Path, snap_dir: &Path, runs: &Runs<'_>, format: Format) -> Result<ExitCode> {
    let backends: Vec<Backend> = runs.backends.iter().map(|b| parse_backend(b)).collect::<Result<_>>()?;
    let scenarios = load_all(dir, runs.only)?;

    let harness = std::env::current_exe()?;
    procthread_harness::supervise::install_interrupt_handler()?;
    let implementations = runs.implementation.implementations();
    let executors = executors(&implementations, runs.python.as_deref(), &harness)?;
    let mut matrix = Matrix { implementations, cells: Vec::new() };
    for s in scenarios.iter().filter(|s| runs.only.is_empty() || runs.only.contains(&s.name)) {
        for (b, a) in procthread_scenario::applicable(s, cfg!(unix)) {
            if !backends.is_empty() && !backends.contains(&b) {
                continue;
            }
            for (implementation, executor) in &executors {
                let cell = cell(s, b, &a, *implementation, executor, snap_dir)?;
                if matches!(format, Format::Human) {
                    print_cell(&cell);
                }
                matrix.cells.push(cell);
            }
        }
    }
    // Only a run of every scenario knows every declaration.
    let orphans = match std::fs::read_dir(snap_dir) {
        Ok(_) if runs.only.is_empty() => conformance::orphan_snapshots(snap_dir, &scenarios)?,
        _ => Vec::new(),
    };
    match format {
        Format::Human => {
            for o in &orphans {
                println!("FAIL: {} has no declared divergence: remove it, or declare one", o.display());
            }
            if matrix.implementations.len() > 1 {
                println!("\n{}", matrix.table());
            } else {
                let (failed, skipped) = (matrix.failures(), matrix.count(Status::Skipped));
                let held = matrix.count(Status::Held);
                let passed = matrix.cells.len() - failed - skipped - held;
                let held = if held > 0 { format!(", {held} declared divergence(s) held") } else { String::new() };
                println!("\n{passed} passed{held}, {failed} failed, {skipped} skipped");
            }
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&matrix)?),
    }
    Ok(if matrix.failures() == 0 && orphans.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs one scenario on one backend by one implementation, and judges it.
fn cell(
    s: &Scenario,
    b: Backend,
    applies: &Applicability,
    implementation: Implementation,
    executor: &Ready,
    snap_dir: &Path,
) -> Result<conformance::Cell> {
    let divergence = s.divergence(implementation, b);
    let mut cell = conformance::Cell {
        scenario: s.name.clone(),
        backend: b,
        implementation,
        status: Status::Skipped,
        elapsed_ms: None,
        details: Vec::new(),
        divergence: divergence
            .map(|d| conformance::DeclaredDivergence { reason: d.reason.clone(), source: d.source.clone() }),
    };
    match (applies, executor) {
        (Applicability::SkippedOnThisOs(why), _) => cell.details.push(why.clone()),
        (_, Err((status, why))) => (cell.status, cell.details) = (*status, vec![why.clone()]),
        (_, Ok(executor)) => {
            // A divergence may give its implementation's run a timeout of its own.
            let to_run = divergence.map_or_else(|| s.clone(), |d| s.diverged(d));
            let record = run::run_isolated_with(executor, &to_run, b)?;
            let outcome = conformance::evaluate(s, b, implementation, &record, snap_dir);
            (cell.status, cell.details, cell.elapsed_ms) = (outcome.status, outcome.details, Some(record.elapsed_ms));
        }
    }
    Ok(cell)
}

fn print_cell(c: &conformance::Cell) {
    let time = c.elapsed_ms.map_or(String::new(), |ms| format!("{ms} ms"));
    let status = if c.status == Status::Skipped { "skipped" } else { c.status.label() };
    println!(
        "{:<16} {:<13} {:<9} {:<8} {:>8}",
        c.scenario,
        c.backend.as_str(),
        c.implementation.as_str(),
        status,
        time
    );
    for d in &c.details {
        println!("    {d}");
    }
}

fn show(
    dir: &Path,
    snap_dir: &Path,
    name: &str,
    backend: &str,
    implementation: Implementation,
    python: Option<&Path>,
    raw: bool,
) -> Result<ExitCode> {
    let backend = parse_backend(backend)?;
    // A name (`queue-ipc`, `cpython/...`) under the directory, or the path of a file.
    let by_path = Path::new(name);
    let file = if name.ends_with(".toml") || by_path.is_file() {
        by_path.to_path_buf()
    } else {
        dir.join(format!("{name}.toml"))
    };
    let scenario = procthread_scenario::load_in(dir, &file)?;
    let harness = std::env::current_exe()?;
    procthread_harness::supervise::install_interrupt_handler()?;
    let executor = match executors(&[implementation], python, &harness)?.pop().map(|(_, e)| e) {
        Some(Ok(e)) => e,
        Some(Err((_, why))) => bail!("cannot run {name} on {implementation}: {why}"),
        None => bail!("no executor for {implementation}"),
    };
    let divergence = scenario.divergence(implementation, backend);
    let to_run = divergence.map_or_else(|| scenario.clone(), |d| scenario.diverged(d));
    let record = run::run_isolated_with(&executor, &to_run, backend)?;
    let outcome = conformance::evaluate(&scenario, backend, implementation, &record, snap_dir);

    if raw {
        for e in &record.events {
            println!(
                "{:>16} {:>7} {:<14} {}",
                e.t_us,
                e.pid,
                e.actor,
                procthread_harness::events::plain(&format!("{:?}", e.kind))
            );
        }
    } else {
        print!("{}", outcome.judgement.trace);
    }
    for f in &outcome.judgement.verdict.failures {
        eprintln!("FAIL: {f}");
    }
    if divergence.is_some() {
        eprintln!("{implementation} on {backend}: {} (judged as its declared divergence)", outcome.status.label());
    }
    Ok(if outcome.judgement.verdict.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn exec(backend: &str, events: &Path, scenario: &Path) -> Result<ExitCode> {
    let backend = parse_backend(backend)?;
    let scenario = procthread_scenario::load(scenario)?;
    let code = procthread_harness::exec::execute(scenario, backend, events)?;
    procthread_harness::exit_now(code)
}
