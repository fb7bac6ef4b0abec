//! `harness show`: make one run and print its normalized trace (or its raw events), with the
//! diff against its snapshot; optionally its timeline as a Chrome trace.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use procthread_harness::conformance;
use procthread_harness::results::human;
use procthread_harness::snapshots::Diff;
use procthread_harness::{run, session, timeline};
use procthread_scenario::{Applicability, Backend, Implementation, Scenario};

use super::args::{BackendArg, Color, OneImpl, Paths};

const EXAMPLES: &str = "\
Examples:
  harness show queue-ipc                         on the first backend that applies here
  harness show queue-ipc --backend spawn --impl cpython
  harness show scenarios/pipe.toml --raw         the events as recorded (JSON lines)
  harness show pool --trace pool.json            then open pool.json in chrome://tracing or
                                                 ui.perfetto.dev: actors as rows, steps as spans";

/// Run one scenario on one backend and print its normalized trace, and its diff against the
/// snapshot.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The scenario: its name under --dir, or the path of its file.
    #[arg(value_name = "SCENARIO")]
    name: String,
    /// The backend to run it on [default: the first that applies here].
    #[arg(long, value_enum, value_name = "BACKEND")]
    backend: Option<BackendArg>,
    /// The implementation to run it on.
    #[arg(long = "impl", value_enum, default_value_t = OneImpl::Reference, value_name = "IMPL")]
    implementation: OneImpl,
    /// The Python of CPython runs [default: $PROCTHREAD_PYTHON, else python3 on the PATH].
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Print the events as recorded instead (JSON lines: real pids, times in µs since the epoch).
    #[arg(long)]
    raw: bool,
    /// Also write the run as a timeline in Chrome's Trace Event Format (JSON).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Colours in the output.
    #[arg(long, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    color: Color,
    #[command(flatten)]
    paths: Paths,
}

pub fn main(args: Args) -> Result<ExitCode> {
    args.color.apply();
    let (dir, snap_dir) = (args.paths.dir(), args.paths.snapshots());
    let scenario = load(&dir, &args.name)?;
    let backend = backend(&scenario, args.backend.map(Backend::from))?;
    let implementation = Implementation::from(args.implementation);
    let harness = std::env::current_exe()?;
    let executor = match session::executors(&[implementation], args.python.as_deref(), &harness)?.pop() {
        Some((_, Ok(e))) => e,
        Some((_, Err((_, why)))) => bail!("cannot run {} on {implementation}: {why}", scenario.name),
        None => bail!("no executor for {implementation}"),
    };
    procthread_harness::supervise::install_interrupt_handler()?;
    let divergence = scenario.divergence(implementation, backend);
    let to_run = divergence.map_or_else(|| scenario.clone(), |d| scenario.diverged(d));
    let record = run::run_isolated_with(&executor, &to_run, backend)?;
    let outcome = conformance::evaluate(&scenario, backend, implementation, &record, &snap_dir);
    let judged = &outcome.judgement;

    let mut out = anstream::stdout();
    if args.raw {
        for e in &record.events {
            writeln!(out, "{}", serde_json::to_string(e)?)?;
        }
    } else {
        write!(out, "{}", judged.trace)?;
    }
    out.flush()?;
    if let Some(file) = &args.trace {
        let run = timeline::Run {
            scenario: &scenario.name,
            backend: backend.as_str(),
            implementation: implementation.as_str(),
        };
        let doc = timeline::chrome_trace(run, &record.events);
        std::fs::write(file, serde_json::to_vec(&doc)?).with_context(|| format!("cannot write {}", file.display()))?;
        eprintln!("timeline written to {} (open it in chrome://tracing or ui.perfetto.dev)", file.display());
    }

    let mut err = anstream::stderr();
    for f in &judged.verdict.failures {
        writeln!(err, "FAIL: {f}")?;
    }
    let file = judged.file.clone();
    let differs = match &judged.expected {
        None => {
            writeln!(err, "no snapshot at {} yet (`harness run --accept-new` writes it)", file.display())?;
            false
        }
        Some(expected) if judged.verdict.passed() => {
            let diff = Diff::new(&file.display().to_string(), expected, &judged.trace);
            if !diff.is_empty() {
                writeln!(err, "trace differs from {}:", file.display())?;
                write!(err, "{}", human::diff(&diff, ""))?;
            }
            !diff.is_empty()
        }
        Some(_) => false,
    };
    if divergence.is_some() {
        writeln!(err, "{implementation} on {backend}: {} (judged as its declared divergence)", outcome.status.label())?;
    }
    let failed = !judged.verdict.passed() || differs || outcome.status.is_failure();
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// A scenario named on the command line: the path of a file (one that exists, or a name ending
/// in `.toml`), else a name under `dir` (`queue-ipc`, `cpython/lock_tests/X`).
fn load(dir: &Path, name: &str) -> Result<Scenario> {
    let as_path = Path::new(name);
    if as_path.is_file() || name.ends_with(".toml") {
        // A file's own error if it cannot be read; its messages name it as it was given.
        let mut scenario = procthread_scenario::load(as_path)?;
        scenario.name = super::args::name_under(dir, as_path);
        return Ok(scenario);
    }
    let file = dir.join(format!("{name}.toml"));
    if !file.is_file() {
        bail!("no scenario `{name}` in {} (nor a file of that name)", dir.display());
    }
    Ok(procthread_scenario::load_in(dir, &file)?)
}

/// The backend to run on: the one asked for if it applies here (else why not), or the first
/// that does.
fn backend(scenario: &Scenario, asked: Option<Backend>) -> Result<Backend> {
    let all = procthread_harness::hosts::applicability(scenario);
    let runs: Vec<&str> =
        all.iter().filter(|(_, a)| matches!(a, Applicability::Runs)).map(|(b, _)| b.as_str()).collect();
    let Some(asked) = asked else {
        return all
            .iter()
            .find(|(_, a)| matches!(a, Applicability::Runs))
            .map(|(b, _)| *b)
            .with_context(|| format!("{} runs on no backend here (`harness list` says why)", scenario.name));
    };
    match all.iter().find(|(b, _)| *b == asked).map(|(_, a)| a) {
        Some(Applicability::Runs) => Ok(asked),
        Some(Applicability::NotApplicable(why)) => {
            bail!("{} does not run on {asked}: {why} (it runs on {})", scenario.name, runs.join(", "))
        }
        Some(Applicability::SkippedOnThisOs(why)) => {
            bail!("{} cannot run on {asked} here: {why} (it runs on {})", scenario.name, runs.join(", "))
        }
        None => bail!("unknown backend {asked}"),
    }
}
