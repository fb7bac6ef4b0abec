//! `harness list`: every scenario, and each backend's status with the reason.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use procthread_scenario::{Applicability, Implementation};

use super::args::{ScenarioDir, load_all};

/// List scenarios and the backends each runs on (with the reason where one does not).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    paths: ScenarioDir,
}

pub fn main(args: Args) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for s in load_all(&args.paths.dir(), |_| true)? {
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
