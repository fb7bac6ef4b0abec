//! `harness supervise` (hidden) and `harness tool`: programs the harness runs itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use procthread_harness::tool;

/// Contain one run: start its executor, end it at the timeout, kill every process it left
/// (used by the runner on Unix; not for direct use).
#[derive(Debug, clap::Args)]
pub struct SuperviseArgs {
    /// The run's timeout, from the executor's start.
    #[arg(long, value_name = "MS")]
    timeout_ms: u64,
    /// The run's temp dir, removed if the runner goes away (only a directory named as a run's).
    #[arg(long, value_name = "DIR")]
    run_dir: Option<PathBuf>,
    /// The runner's pid: a supervisor whose parent is someone else knows the runner is gone.
    #[arg(long, value_name = "PID")]
    parent: u32,
    /// The executor's command line.
    #[arg(last = true, required = true)]
    argv: Vec<std::ffi::OsString>,
}

pub fn supervise(a: SuperviseArgs) -> Result<ExitCode> {
    let timeout = std::time::Duration::from_millis(a.timeout_ms);
    let opts = procthread_harness::supervise::Options { timeout, dir: a.run_dir, parent: a.parent, argv: a.argv };
    Ok(ExitCode::from(procthread_harness::os::supervise(opts).clamp(0, 255) as u8))
}

/// Portable programs for scenario `run` steps: `upper`, `exit N`, `sleep MS`, `echo ...`, `lookup [NAME]`.
#[derive(Debug, clap::Args)]
pub struct ToolArgs {
    /// The tool and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "TOOL ARGS")]
    args: Vec<String>,
}

pub fn tool(a: ToolArgs) -> Result<ExitCode> {
    Ok(ExitCode::from(tool::run(&a.args).clamp(0, 255) as u8))
}
