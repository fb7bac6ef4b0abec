//! The `harness` subcommands of performance: `report`, `measure`, `gate` and `compare` (the
//! binary parses the arguments and calls these).
//!
//! Named baselines (`report --save-baseline NAME`) are whole reports, saved as
//! `<target dir>/procthread-baselines/NAME.json` (the target dir is the caller's, else
//! `$CARGO_TARGET_DIR`, else `target`; `harness` gives the workspace's): local to a checkout, never committed, like criterion's. `compare` takes a name
//! there, a report directory, or a `report.json` path on either side. The CI gate's committed
//! baselines are another thing: `ci/baselines/<os>-<arch>.json`, ratios only.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::model::{Report, SCHEMA};
use crate::{analyse, compare as cmp, figures, gate as gt, measure as ms, output, run};

#[derive(Debug, Clone, Default)]
pub struct ReportArgs {
    pub quick: bool,
    pub out: Option<PathBuf>,
    pub only: Vec<String>,
    pub render_only: bool,
    pub save_baseline: Option<String>,
    /// The target directory named baselines go under [default: `$CARGO_TARGET_DIR`, else
    /// `target`].
    pub target_dir: Option<PathBuf>,
}

/// The default output directory: `reports/<os>-<arch>`.
pub fn default_dir() -> PathBuf {
    PathBuf::from("reports").join(format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH))
}

/// Where named baselines live: under `target_dir` [default: `$CARGO_TARGET_DIR`, else `target`].
pub fn baselines_dir(target_dir: Option<&Path>) -> PathBuf {
    let target = target_dir.map(Path::to_path_buf);
    target
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("procthread-baselines")
}

fn baseline_path(name: &str, target_dir: Option<&Path>) -> Result<PathBuf> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!("baseline name `{name}`: use letters, digits, `-`, `_` and `.` (not first)");
    }
    Ok(baselines_dir(target_dir).join(format!("{name}.json")))
}

/// A report named on the command line: a `report.json` path, a directory holding one, or the
/// name of a saved baseline (under `target_dir`, as [`baselines_dir`] says).
pub fn resolve(arg: &str, target_dir: Option<&Path>) -> Result<PathBuf> {
    let path = Path::new(arg);
    if path.is_dir() {
        return Ok(path.join("report.json"));
    }
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let named = baseline_path(arg, target_dir).ok().filter(|p| p.exists());
    named.with_context(|| {
        format!(
            "`{arg}` is neither a report (file or directory) nor a baseline saved in {}",
            baselines_dir(target_dir).display()
        )
    })
}

pub fn read_report(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read report {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not a harness report", path.display()))?;
    let schema = value.get("schema").and_then(serde_json::Value::as_u64);
    if schema.is_some_and(|s| s != u64::from(SCHEMA)) {
        bail!(
            "{}: report schema {} but this harness reads {SCHEMA}; regenerate it with `harness report`",
            path.display(),
            schema.unwrap_or_default()
        );
    }
    serde_json::from_value(value).with_context(|| format!("{}: not a harness report", path.display()))
}

pub fn report(args: ReportArgs) -> Result<ExitCode> {
    let dir = args.out.clone().unwrap_or_else(default_dir);
    let r = if args.render_only {
        // Re-analysed from the raw samples: the same samples give the same files.
        analyse::again(&read_report(&dir.join("report.json"))?)
    } else {
        for id in &args.only {
            if figures::spec(id).is_none() {
                let ids: Vec<&str> = figures::SPECS.iter().map(|s| s.id).collect();
                bail!("unknown figure `{id}`; figures: {}", ids.join(", "));
            }
        }
        run::build(&run::Options { quick: args.quick, only: args.only.clone() })?
    };
    let files = output::write(&r, &dir)?;
    if !args.render_only {
        print!("{}", crate::markdown::document(&r).to_markdown());
    }
    eprintln!("wrote {} files in {}", files.len(), dir.display());
    if let Some(name) = &args.save_baseline {
        let target_dir = args.target_dir.as_deref();
        let path = baseline_path(name, target_dir)?;
        std::fs::create_dir_all(baselines_dir(target_dir))?;
        std::fs::copy(dir.join("report.json"), &path)?;
        eprintln!("saved baseline `{name}` as {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn measure(id: &str, quick: bool, pinned: bool) -> Result<ExitCode> {
    if pinned && !ms::pin::pin_to_first_cpu() {
        eprintln!("note: cannot pin to one CPU on this OS; measuring with free placement");
    }
    let series = ms::measure(id, quick).map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string(&series)?);
    Ok(ExitCode::SUCCESS)
}

pub fn gate(report: &Path, baseline: &Path, config: &Path, summary: Option<PathBuf>, update: bool) -> Result<ExitCode> {
    let r = read_report(report)?;
    if update {
        let b = gt::baseline_from(&r);
        if let Some(dir) = baseline.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(baseline, serde_json::to_string_pretty(&b)? + "\n")?;
        println!("wrote {} ({} ratios)", baseline.display(), b.ratios.len());
        return Ok(ExitCode::SUCCESS);
    }
    let cfg = gt::Config::load(config)?;
    let text =
        std::fs::read_to_string(baseline).with_context(|| format!("cannot read baseline {}", baseline.display()))?;
    let b: gt::Baseline =
        serde_json::from_str(&text).with_context(|| format!("{}: not a gate baseline", baseline.display()))?;
    let outcome = gt::compare(&r, &b, &cfg)?;
    let table = gt::markdown(&outcome);
    print!("{table}");
    if let Some(path) = summary {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        writeln!(f, "### Performance gate\n\n{table}")?;
    }
    Ok(if outcome.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub fn compare(a: &str, b: &str, noise: f64, target_dir: Option<&Path>) -> Result<ExitCode> {
    if !(0.0..1.0).contains(&noise) {
        bail!("--noise must be between 0 and 1 (0.02 is 2 %), not {noise}");
    }
    let (ra, rb) = (read_report(&resolve(a, target_dir)?)?, read_report(&resolve(b, target_dir)?)?);
    let c = cmp::compare(&ra, &rb, noise)?;
    print!("{}", cmp::markdown(&c, noise));
    Ok(ExitCode::SUCCESS)
}
