//! `harness check`: validate scenario files, every problem with its file:line:col.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::args::ScenarioDir;

const EXAMPLES: &str = "\
Examples:
  harness check                          every scenario file of the workspace's scenarios/
  harness check scenarios/queue.toml     one file; each problem as FILE:LINE:COL and what was expected
  harness check --dir my-scenarios       every file of another folder

Exits 0 when every file is valid, 1 when one is not.";

/// Validate scenario files (all of them by default); exits non-zero on any error.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Files to check [default: every scenario of --dir].
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    paths: ScenarioDir,
}

pub fn main(args: Args) -> Result<ExitCode> {
    let files = if args.files.is_empty() { procthread_scenario::discover(&args.paths.dir())? } else { args.files };
    let mut bad = 0;
    for f in &files {
        if let Err(e) = procthread_scenario::load(f) {
            super::args::print_load_error(&e);
            bad += 1;
        }
    }
    writeln!(std::io::stdout(), "{} file(s) checked, {bad} invalid", files.len())?;
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
