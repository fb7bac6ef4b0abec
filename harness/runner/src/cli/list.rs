//! `harness list`: every scenario, and each backend's status with the reason.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};
use procthread_scenario::{Applicability, Implementation};

use super::args::{ScenarioDir, load_all};

const EXAMPLES: &str = "\
Examples:
  harness list                        every scenario: its backends, why one does not run here,
                                      and where CPython is declared to diverge
  harness list queue pipe             scenarios whose name contains `queue` or `pipe`
  harness list cpython/               the scenarios ported from CPython's own tests
  harness list --dir my-scenarios     the scenarios of another folder";

/// List scenarios and the backends each runs on (with the reason where one does not).
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// List only scenarios whose name contains one of these [default: every scenario].
    #[arg(value_name = "PATTERN")]
    patterns: Vec<String>,
    #[command(flatten)]
    paths: ScenarioDir,
}

pub fn main(args: Args) -> Result<ExitCode> {
    let wanted = |name: &str| args.patterns.is_empty() || args.patterns.iter().any(|p| name.contains(p.as_str()));
    let dir = args.paths.dir();
    let scenarios = load_all(&dir, wanted)?;
    if scenarios.is_empty() && !args.patterns.is_empty() {
        let patterns: Vec<String> = args.patterns.iter().map(|p| format!("`{p}`")).collect();
        bail!("no scenario in {} has a name containing {}", dir.display(), patterns.join(" or "));
    }
    let mut out = std::io::stdout().lock();
    for s in scenarios {
        writeln!(out, "{}  ({})", s.name, s.title)?;
        if let Some(note) = procthread_harness::hosts::note(&s) {
            writeln!(out, "  {note}")?;
        }
        for (b, a) in procthread_harness::hosts::applicability(&s) {
            let status = match a {
                Applicability::Runs => "runs".to_string(),
                Applicability::SkippedOnThisOs(why) => format!("skipped here: {why}"),
                Applicability::NotApplicable(why) => format!("n/a: {why}"),
            };
            writeln!(out, "  {:<13} {status}", b.as_str())?;
            if !status.starts_with("n/a")
                && let Some(d) = s.divergence(Implementation::Cpython, b)
            {
                writeln!(out, "  {:<13}   cpython diverges: {} ({})", "", d.reason, d.source)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
