//! Ported from CPython's `test_subprocess.py`. The programs these cases run are this test
//! binary itself, started with a flag (no `sh`, `cat` or `python` needed, on any OS).

use crate::case::Case;

const TOOL_FLAG: &str = "--cpython-test-tool";

/// If started as a tool (`TOOL_FLAG NAME ARGS...`), runs it and exits.
pub fn run_tool_if_asked() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) != Some(TOOL_FLAG) {
        return;
    }
    let code = match argv.get(2).map(String::as_str) {
        Some("exit") => argv.get(3).and_then(|c| c.parse().ok()).unwrap_or(0),
        _ => 99,
    };
    std::process::exit(code)
}

/// The argv that runs tool `args[0]` with the rest as its arguments.
#[expect(dead_code, reason = "used by the cases as they are ported")]
pub fn tool_argv(args: &[&str]) -> Vec<String> {
    let exe = std::env::current_exe().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
    [exe, TOOL_FLAG.to_string()].into_iter().chain(args.iter().map(|s| s.to_string())).collect()
}

pub fn cases() -> Vec<Case> {
    vec![]
}
