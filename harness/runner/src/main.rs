//! `harness`: list, check, run and show scenarios; report and gate performance. The command line
//! lives in `cli/` (one file per subcommand); this only routes spawned children first.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    // First thing: a spawned child goes straight to its entry point.
    procthread::dispatch_all(&[procthread_harness::REGISTRY, procthread_bench::REGISTRY]);
    // The floor's "same binary, exiting at once" for spawn measurements.
    if std::env::args_os().nth(1).is_some_and(|a| a == procthread_bench::workloads::EXIT_NOW) {
        return ExitCode::SUCCESS;
    }
    cli::main()
}
