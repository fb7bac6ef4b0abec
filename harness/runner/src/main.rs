//! `harness`: list, check, run and show scenarios; `exec` and `tool` are used by the harness itself.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use procthread_harness::{outcome, run, snapshots, tool};
use procthread_scenario::{Applicability, Backend, Scenario, applicability};

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
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Run one scenario on one backend and print its normalized trace.
    Show {
        name: String,
        #[arg(long)]
        backend: String,
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
        /// Output directory (default: reports/<os>-<arch>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only these figures (by id; all by default).
        #[arg(long = "only")]
        only: Vec<String>,
        /// Measure nothing: re-render the tables and charts from the directory's report.json.
        #[arg(long)]
        render_only: bool,
    },
    /// Compare a report with a baseline by ratios; exit non-zero on a regression beyond tolerance.
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
    /// Portable programs for scenario `run` steps: upper, exit N, sleep MS, echo ..., lookup [NAME].
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

fn main() -> ExitCode {
    // First thing: a spawned child goes straight to its entry point.
    procthread::dispatch(procthread_harness::REGISTRY);
    // The floor's "same binary, exiting at once" for spawn measurements.
    if std::env::args_os().nth(1).is_some_and(|a| a == procthread_harness::bench::workloads::EXIT_NOW) {
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
        Cmd::Run { scenarios, backends, format } => run_all(&cli.dir, &cli.snapshots, &scenarios, &backends, format),
        Cmd::Show { name, backend, raw } => show(&cli.dir, &name, &backend, raw),
        Cmd::Exec { backend, events, scenario } => exec(&backend, &events, &scenario),
        Cmd::Report { quick, out, only, render_only } => report(quick, out, only, render_only),
        Cmd::Gate { report, baseline, config, summary, update } => gate(&report, &baseline, &config, summary, update),
        Cmd::Measure { id, quick, pinned } => measure(&id, quick, pinned),
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

#[derive(serde::Serialize)]
struct Row {
    scenario: String,
    backend: Backend,
    result: &'static str,
    elapsed_ms: Option<u128>,
    details: Vec<String>,
}

fn run_all(dir: &Path, snap_dir: &Path, only: &[String], backends: &[String], format: Format) -> Result<ExitCode> {
    let backends: Vec<Backend> = backends.iter().map(|b| parse_backend(b)).collect::<Result<_>>()?;
    let scenarios = load_all(dir, only)?;
    let harness = std::env::current_exe()?;
    let mut rows = Vec::new();
    for s in scenarios.iter().filter(|s| only.is_empty() || only.contains(&s.name)) {
        for (b, a) in procthread_scenario::applicable(s, cfg!(unix)) {
            if !backends.is_empty() && !backends.contains(&b) {
                continue;
            }
            let row = match a {
                Applicability::SkippedOnThisOs(why) => Row {
                    scenario: s.name.clone(),
                    backend: b,
                    result: "skipped",
                    elapsed_ms: None,
                    details: vec![why],
                },
                _ => {
                    let record = run::run_isolated(&harness, s, b)?;
                    let verdict = outcome::judge(s, b, &record);
                    let mut details = verdict.failures.clone();
                    if verdict.passed() {
                        let trace = outcome::normalize(s, b, &record, &verdict);
                        let file = snapshots::path(snap_dir, &s.name, b);
                        match snapshots::read(&file) {
                            Some(snap) if !snapshots::same(&snap, &trace) => details.push(format!(
                                "trace differs from {} (see `harness show {} --backend {b}`)",
                                file.display(),
                                s.name
                            )),
                            None => details.push(format!("no snapshot at {} yet", file.display())),
                            Some(_) => {}
                        }
                    }
                    let snapshot_differs = details.iter().any(|d| d.starts_with("trace differs"));
                    let result = if !verdict.passed() || snapshot_differs { "FAIL" } else { "pass" };
                    Row { scenario: s.name.clone(), backend: b, result, elapsed_ms: Some(record.elapsed_ms), details }
                }
            };
            if matches!(format, Format::Human) {
                print_row(&row);
            }
            rows.push(row);
        }
    }
    let failed = rows.iter().filter(|r| r.result == "FAIL").count();
    let skipped = rows.iter().filter(|r| r.result == "skipped").count();
    match format {
        Format::Human => println!("\n{} passed, {failed} failed, {skipped} skipped", rows.len() - failed - skipped),
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_row(r: &Row) {
    let time = r.elapsed_ms.map_or(String::new(), |ms| format!("{ms} ms"));
    println!("{:<16} {:<13} {:<8} {:>8}", r.scenario, r.backend.as_str(), r.result, time);
    for d in &r.details {
        println!("    {d}");
    }
}

fn show(dir: &Path, name: &str, backend: &str, raw: bool) -> Result<ExitCode> {
    let backend = parse_backend(backend)?;
    // A name (`queue-ipc`, `cpython/...`) under the directory, or the path of a file.
    let by_path = Path::new(name);
    let file = if name.ends_with(".toml") || by_path.is_file() {
        by_path.to_path_buf()
    } else {
        dir.join(format!("{name}.toml"))
    };
    let scenario = procthread_scenario::load_in(dir, &file)?;
    let record = run::run_isolated(&std::env::current_exe()?, &scenario, backend)?;
    let verdict = outcome::judge(&scenario, backend, &record);
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
        print!("{}", outcome::normalize(&scenario, backend, &record, &verdict));
    }
    for f in &verdict.failures {
        eprintln!("FAIL: {f}");
    }
    Ok(if verdict.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn exec(backend: &str, events: &Path, scenario: &Path) -> Result<ExitCode> {
    let backend = parse_backend(backend)?;
    let scenario = procthread_scenario::load(scenario)?;
    let code = procthread_harness::exec::execute(scenario, backend, events)?;
    procthread_harness::exit_now(code)
}

fn report(quick: bool, out: Option<PathBuf>, only: Vec<String>, render_only: bool) -> Result<ExitCode> {
    use procthread_harness::bench::{figures, report};
    if render_only {
        let dir = out.unwrap_or_else(report::default_dir);
        let json = dir.join("report.json");
        let text = std::fs::read_to_string(&json).with_context(|| format!("cannot read {}", json.display()))?;
        let r: report::Report =
            serde_json::from_str(&text).with_context(|| format!("{}: not a harness report", json.display()))?;
        let files = report::write(&r, &dir)?;
        eprintln!("rewrote {} files in {}", files.len(), dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    for id in &only {
        if figures::spec(id).is_none() {
            let ids: Vec<&str> = figures::SPECS.iter().map(|s| s.id).collect();
            bail!("unknown figure `{id}`; figures: {}", ids.join(", "));
        }
    }
    let out = out.unwrap_or_else(report::default_dir);
    let r = report::build(&report::Options { quick, out: out.clone(), only })?;
    let files = report::write(&r, &out)?;
    print!("{}", report::markdown(&r));
    eprintln!("\nwrote {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    Ok(ExitCode::SUCCESS)
}

fn measure(id: &str, quick: bool, pinned: bool) -> Result<ExitCode> {
    use procthread_harness::bench::{figures, pin};
    if pinned && !pin::pin_to_first_cpu() {
        eprintln!("note: cannot pin to one CPU on this OS; measuring with free placement");
    }
    let series = figures::measure(id, quick).map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string(&series)?);
    Ok(ExitCode::SUCCESS)
}

fn gate(report: &Path, baseline: &Path, config: &Path, summary: Option<PathBuf>, update: bool) -> Result<ExitCode> {
    use procthread_harness::bench::report::Report;
    use procthread_harness::gate;
    let text = std::fs::read_to_string(report).with_context(|| format!("cannot read report {}", report.display()))?;
    let r: Report =
        serde_json::from_str(&text).with_context(|| format!("{}: not a harness report", report.display()))?;
    if update {
        let b = gate::baseline_from(&r);
        if let Some(dir) = baseline.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(baseline, serde_json::to_string_pretty(&b)? + "\n")?;
        println!("wrote {} ({} ratios)", baseline.display(), b.ratios.len());
        return Ok(ExitCode::SUCCESS);
    }
    let cfg = gate::Config::load(config)?;
    let text =
        std::fs::read_to_string(baseline).with_context(|| format!("cannot read baseline {}", baseline.display()))?;
    let b: gate::Baseline =
        serde_json::from_str(&text).with_context(|| format!("{}: not a gate baseline", baseline.display()))?;
    let outcome = gate::compare(&r, &b, &cfg)?;
    let table = gate::markdown(&outcome);
    print!("{table}");
    if let Some(path) = summary {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        writeln!(f, "### Performance gate\n\n{table}")?;
    }
    Ok(if outcome.regressions() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
