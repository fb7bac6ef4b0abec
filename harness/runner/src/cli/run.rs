//! `harness run`: the selected runs, in parallel, each reported on one line as it ends; then the
//! summary (and the matrix with several implementations), JSON or JUnit XML if asked.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use procthread_harness::conformance::{self, Matrix};
use procthread_harness::faults::{Seeds, SeedsError};
use procthread_harness::results::{human, json, junit};
use procthread_harness::select::{Expr, Filter};
use procthread_harness::session::{self, Counts, Options, Plan};
use procthread_scenario::Implementation;

use super::args::{BackendArg, Color, ImplArg, Paths, load_all, name_under, shell_word};

const EXAMPLES: &str = "\
Examples:
  harness run                                    every scenario on every backend (the reference)
  harness run queue pipe                         scenarios whose name contains `queue` or `pipe`
  harness run --scenario pool --backend process-pool
  harness run -E 'scenario(/^queue/) & backend(spawn) & impl(cpython)'
  harness run -E 'family(processes) - scenario(distributed)'
  harness run --impl all -j 2 --junit target/junit.xml
  harness run lock --repeat 50 --until-fail      flush out a flake: counts per run at the end
  harness run new-scenario --accept-new          write its missing snapshots (read them!)
  harness run --format json > runs.json          schema 1: cells, tests, summary
  harness run --faults 0..20                     seeded faults in scenarios with [faults]
  harness run --faults 7 --scenario faults/queue-producer-killed --backend spawn   replay seed 7
  harness run --faults 0..25 --junit target/faults.xml   a testcase per backend and seed
  harness run --faults 0..25 --format json       each fault run with its plan and replay command

Filter expressions (-E): scenario(M), backend(M), family(M) (threads or processes), impl(M),
all(), none(); combined with `&` (and), `|` (or, `+`), `-` (and not), `!` (not) and
parentheses. M is `=exact`, `~contains`, `/regex/`, or plain text: contains for scenario(),
exact for the others. Every filter given must accept a run for it to be made.";

/// Run scenarios on their backends, one line per finished run, then a summary.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Run only scenarios whose name contains one of these, or the scenario of a file given by
    /// its path (`scenarios/pipe.toml`) [default: every scenario].
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
    /// Run only what this filter expression accepts (see below).
    #[arg(short = 'E', long = "filter-expr", value_name = "EXPR")]
    expr: Option<String>,
    /// Run only this scenario (its exact name; repeat for several).
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// Run only on this backend (repeat for several) [default: every backend that applies].
    #[arg(long = "backend", value_enum, value_name = "BACKEND")]
    backends: Vec<BackendArg>,
    /// The implementation(s) to run; with more than one the run ends with the conformance
    /// matrix [default: reference, or every one when -E is given].
    #[arg(long = "impl", value_enum, value_name = "IMPL")]
    implementations: Vec<ImplArg>,
    /// The Python of CPython runs [default: $PROCTHREAD_PYTHON, else python3 on the PATH].
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Runs at once (each is isolated in its own executor) [default: the number of CPUs].
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<NonZeroUsize>,
    /// Make each run N times (to flush out flakes); the summary gives each run's counts.
    #[arg(long, value_name = "N", default_value = "1")]
    repeat: std::num::NonZeroU32,
    /// Start no more runs once one fails; without --repeat, repeat up to 1000 times.
    #[arg(long)]
    until_fail: bool,
    /// Write the snapshot of a run that has none, instead of failing it (refused under CI=true).
    #[arg(long)]
    accept_new: bool,
    /// How to report: lines for people, or one JSON document on stdout (lines go to stderr).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Also write JUnit XML here (a testsuite per scenario, a testcase per backend and
    /// implementation; with --faults, per backend and seed).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Colours in the output.
    #[arg(long, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    color: Color,
    /// Fault runs instead: in each scenario with a `[faults]` table, kill or delay the actor and
    /// point each seed chooses (`42`, a range `0..100` with its end excluded, or `random`); the
    /// same seed replays the same schedule (docs/reliability.md, "Fault injection").
    #[arg(
        long,
        value_name = "SEEDS",
        value_parser = parse_seeds,
        conflicts_with_all = ["repeat", "until_fail", "accept_new"]
    )]
    faults: Option<Seeds>,
    #[command(flatten)]
    paths: Paths,
}

fn parse_seeds(text: &str) -> Result<Seeds, SeedsError> {
    Seeds::parse(text)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// One line per finished run, then a summary.
    Human,
    /// One JSON document (schema 1; see docs/scenarios.md).
    Json,
}

/// The most rounds `--until-fail` makes without `--repeat`.
const UNTIL_FAIL_ROUNDS: u32 = 1000;

pub fn main(args: Args) -> Result<ExitCode> {
    args.color.apply();
    let (dir, snapshots) = (args.paths.dir(), args.paths.snapshots());
    if args.accept_new && !session::may_accept_new() {
        bail!("--accept-new is refused under CI (CI=true): write and review new snapshots where you work");
    }
    let expr = args.expr.as_deref().map(Expr::parse).transpose()?;
    let implementations: Vec<Implementation> = match (args.implementations.as_slice(), &expr) {
        ([], Some(_)) => Implementation::ALL.to_vec(),
        ([], None) => vec![Implementation::Reference],
        (some, _) => some.iter().flat_map(|i| i.implementations()).collect(),
    };
    // A file given by path is its scenario, by exact name.
    let is_file = |p: &String| p.ends_with(".toml") || Path::new(p).is_file();
    let (files, patterns): (Vec<String>, Vec<String>) = args.patterns.iter().cloned().partition(is_file);
    let mut names = args.scenarios.clone();
    names.extend(files.iter().map(|f| name_under(&dir, Path::new(f))));
    let filter = Filter {
        patterns,
        names: names.clone(),
        backends: args.backends.iter().map(|&b| b.into()).collect(),
        implementations,
        expr,
    };
    let scenarios = load_all(&dir, |name| filter.may_accept(name))?;
    for name in &names {
        if !scenarios.iter().any(|s| s.name == *name) {
            bail!("no scenario `{name}` in {}", dir.display());
        }
    }
    if let Some(seeds) = &args.faults {
        let jobs = args.jobs.map(NonZeroUsize::get);
        let machine = super::faults::Machine { junit: args.junit.as_deref(), json: args.format == Format::Json };
        return super::faults::main(seeds, scenarios, &filter, &args.implementations, jobs, machine, &args.paths);
    }
    let everything = filter.patterns.is_empty() && filter.names.is_empty() && filter.expr.is_none();
    let plan = Plan::new(scenarios, &filter);
    if plan.jobs.is_empty() {
        bail!("no run matches the filters given (`harness list` shows each scenario's backends)");
    }
    let harness = std::env::current_exe()?;
    procthread_harness::supervise::install_interrupt_handler()?;
    let executors = session::executors(&plan.implementations(), args.python.as_deref(), &harness)?;
    let rounds = match (args.until_fail, args.repeat.get()) {
        (true, 1) => UNTIL_FAIL_ROUNDS,
        (_, n) => n,
    };
    let jobs = args.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |n| n.get());
    let options = Options { jobs, repeat: rounds, until_fail: args.until_fail, accept_new: args.accept_new, snapshots };

    // Lines for people go to stdout, or to stderr when stdout carries JSON.
    let mut lines: Box<dyn Write> = match args.format {
        Format::Human => Box::new(anstream::stdout()),
        Format::Json => Box::new(anstream::stderr()),
    };
    let started = Instant::now();
    let times = if rounds > 1 { format!(" x {rounds} rounds") } else { String::new() };
    writeln!(
        lines,
        "    Starting {} runs{times} ({} at once)",
        plan.jobs.len(),
        jobs.min(plan.jobs.len() * rounds as usize)
    )?;
    let finished = session::run(&plan, &executors, &options, |f| {
        let job = &plan.jobs[f.job];
        let text = human::line(&f.cell, &plan.test_name(job), f.round, rounds);
        let rerun = rerun_command(&plan.scenarios[job.scenario].name, job, &args.paths);
        let _ = write!(lines, "{text}\n{}", human::details(&f.cell, Some(&rerun)));
        let _ = lines.flush();
    });
    let elapsed = started.elapsed();

    // Only a run of every scenario knows every declaration.
    let orphans = match std::fs::read_dir(&options.snapshots) {
        Ok(_) if everything => conformance::orphan_snapshots(&options.snapshots, &plan.scenarios)?,
        _ => Vec::new(),
    };
    let per_job = session::per_job(&plan, &finished);
    let mut totals = Counts::default();
    finished.iter().for_each(|f| totals.add(f.cell.status));
    for o in &orphans {
        writeln!(lines, "FAIL: {} has no declared divergence: remove it, or declare one", o.display())?;
    }
    let implementations = plan.implementations();
    if implementations.len() > 1 {
        let cells =
            per_job.iter().filter_map(|(c, shown)| Some(conformance::Cell { status: c.worst(), ..shown.clone()? }));
        let matrix = Matrix { implementations, cells: cells.collect() };
        writeln!(lines, "\n{}", matrix.table())?;
    }
    let named: Vec<(String, Counts)> =
        plan.jobs.iter().zip(&per_job).map(|(j, (c, _))| (plan.test_name(j), c.clone())).collect();
    write!(lines, "{}", human::summary(&named, &totals, elapsed, rounds))?;
    lines.flush()?;

    if let Some(file) = &args.junit {
        let report = junit::report(&plan, &finished, elapsed);
        let xml = report.to_string().context("cannot write JUnit XML")?;
        std::fs::write(file, xml).with_context(|| format!("cannot write {}", file.display()))?;
    }
    if args.format == Format::Json {
        let doc = json::document(&plan, &finished, &orphans, rounds, jobs, elapsed);
        writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(if totals.failures() == 0 && orphans.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The `harness show` command that makes a run again, with the paths this run was given.
fn rerun_command(scenario: &str, job: &session::Job, paths: &Paths) -> String {
    let implementation = match job.implementation {
        Implementation::Reference => String::new(),
        other => format!(" --impl {other}"),
    };
    format!("harness show {} --backend {}{implementation}{}", shell_word(scenario), job.backend, paths.as_options())
}
