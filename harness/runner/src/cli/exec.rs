//! `harness exec` (hidden): execute one scenario in this process, as the runner starts it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::args::BackendArg;

/// Execute one scenario in this process (used by the runner; not for direct use).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backend to run it on.
    #[arg(long, value_enum)]
    backend: BackendArg,
    /// The run's events directory (one JSON-lines file per process).
    #[arg(long, value_name = "DIR")]
    events: PathBuf,
    /// The scenario file.
    scenario: PathBuf,
}

pub fn main(args: Args) -> Result<ExitCode> {
    let scenario = procthread_scenario::load(&args.scenario)?;
    let code = procthread_harness::exec::execute(scenario, args.backend.into(), &args.events)?;
    procthread_harness::exit_now(code)
}
