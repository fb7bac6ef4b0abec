//! Running a report: every figure measured by `harness measure ID` in a fresh process, and by
//! CPython's `reports/cpython/bench.py`, side by side in one run, then analysed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::figures::{SPECS, Spec};
use crate::model::{Analysis, RawSeries, Report, SCHEMA};
use crate::{analyse, machine};

#[derive(Debug, Clone)]
pub struct Options {
    pub quick: bool,
    /// Only these figures (all when empty).
    pub only: Vec<String>,
}

/// One measurement may take this long before it is killed (with whatever it started).
const MEASURE_TIMEOUT: Duration = Duration::from_secs(300);

fn python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("Python 3"))
    })
}

fn cpython_script() -> PathBuf {
    let here = PathBuf::from("reports/cpython/bench.py");
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/cpython/bench.py")
}

/// Measures every figure (with a progress bar on stderr) and analyses the samples.
pub fn build(opts: &Options) -> Result<Report> {
    let harness = std::env::current_exe()?;
    let py = python();
    let mut machine = machine::detect(py);
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
        let (mut raw, mut errors) = (Vec::new(), Vec::new());
        let mut argv: Vec<OsString> = vec![harness.clone().into(), "measure".into(), spec.id.into()];
        argv.extend(flags(opts.quick, spec.pinned));
        match run_json(&argv) {
            Ok(s) => raw.extend(s),
            Err(e) => errors.push(format!("reference not measured: {e}")),
        }
        match (py, spec.cpython) {
            (Some(py), Some(op)) => {
                let mut argv: Vec<OsString> =
                    vec![py.into(), cpython_script().into(), op.into(), "--exe".into(), harness.clone().into()];
                argv.extend(flags(opts.quick, spec.pinned));
                match run_json(&argv) {
                    Ok(s) => raw.extend(s),
                    Err(e) => errors.push(format!("CPython not measured: {e}")),
                }
            }
            (None, Some(_)) => errors.push("CPython not measured: python3 not found".into()),
            _ => {}
        }
        figures.push(analyse::figure(spec, raw, errors, spec.pinned && cfg!(target_os = "linux")));
        bar.inc(1);
    }
    bar.finish_and_clear();
    machine.load_after = machine::load_average();
    Ok(Report { schema: SCHEMA, quick: opts.quick, machine, analysis: Analysis::current(), figures })
}

fn flags(quick: bool, pinned: bool) -> impl Iterator<Item = OsString> {
    [quick.then_some("--quick"), pinned.then_some("--pinned")].into_iter().flatten().map(OsString::from)
}

fn run_json(argv: &[OsString]) -> Result<Vec<RawSeries>> {
    let out = procthread::subprocess::run(argv, None, Some(MEASURE_TIMEOUT))?;
    if out.code != 0 {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
        anyhow::bail!("exit {}: {tail}", out.code);
    }
    serde_json::from_slice(&out.stdout).context("unreadable measurement")
}
