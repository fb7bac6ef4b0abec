//! The `harness` command line: one module per subcommand, the arguments they share in `args`.
//! Every option belongs to the subcommands it applies to (none is global: a global `--dir` once
//! reached a hidden subcommand that took it for a directory of its own to remove).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod bench;
mod check;
mod exec;
mod faults;
mod internal;
mod list;
mod run;
mod show;

const EXAMPLES: &str = "\
Examples:
  harness list                                   every scenario, and each backend's status
  harness run                                    every scenario on every backend (the reference)
  harness run queue -j 4                         scenarios whose name contains `queue`, 4 at once
  harness run -E 'backend(spawn) & impl(cpython)'
  harness run --impl all --junit junit.xml       the reference and CPython; the matrix; JUnit XML
  harness run pipe --repeat 20 --until-fail      flush out a flake
  harness show queue-ipc --backend spawn         one run's normalized trace, and its diff
  harness show scenarios/pipe.toml --trace t.json   and its timeline (chrome://tracing, Perfetto)

Paths default to the workspace's `scenarios/` and `snapshots/`, found from the current directory.";

#[derive(Parser)]
#[command(
    name = "harness",
    version,
    about = "Conformance and benchmark harness for the processes and threads chapter",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    List(list::Args),
    Check(check::Args),
    Run(run::Args),
    Show(show::Args),
    #[command(hide = true)]
    Exec(exec::Args),
    Report(bench::ReportArgs),
    Compare(bench::CompareArgs),
    Gate(bench::GateArgs),
    #[command(hide = true)]
    Measure(bench::MeasureArgs),
    #[command(hide = true)]
    Supervise(internal::SuperviseArgs),
    Tool(internal::ToolArgs),
}

/// Parses the command line and runs it: exit 0 on success, 1 on a failure the command reports
/// (a run failed, a file is invalid), 2 on an error (bad arguments, unreadable files).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::List(a) => list::main(a),
        Cmd::Check(a) => check::main(a),
        Cmd::Run(a) => run::main(a),
        Cmd::Show(a) => show::main(a),
        Cmd::Exec(a) => exec::main(a),
        Cmd::Report(a) => bench::report(a),
        Cmd::Compare(a) => bench::compare(a),
        Cmd::Gate(a) => bench::gate(a),
        Cmd::Measure(a) => bench::measure(a),
        Cmd::Supervise(a) => internal::supervise(a),
        Cmd::Tool(a) => internal::tool(a),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`harness list | head`): nothing more to tell anyone.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed_and_every_argument_has_help() {
        let cmd = super::Cli::command();
        cmd.clone().debug_assert();
        for sub in cmd.get_subcommands() {
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                assert!(arg.get_help().is_some(), "`harness {} {id}` has no help", sub.get_name());
            }
        }
    }

    #[test]
    fn paths_belong_to_the_subcommands_that_read_them() {
        let cmd = super::Cli::command();
        for sub in cmd.get_subcommands() {
            let has = |id: &str| sub.get_arguments().any(|a| a.get_id() == id);
            let reads_scenarios = ["list", "check", "run", "show"].contains(&sub.get_name());
            assert_eq!(has("dir"), reads_scenarios, "--dir on `{}`", sub.get_name());
            assert!(!sub.get_arguments().any(|a| a.is_global_set()), "a global option on `{}`", sub.get_name());
        }
    }
}
