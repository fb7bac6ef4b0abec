//! The machine a report is measured on, and when: OS, CPU, toolchain, commit (and whether the
//! tree had uncommitted changes), the start time and the load averages around the run.

use std::process::Command;

use crate::model::Machine;

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The 1, 5 and 15 minute load averages (Linux's `/proc/loadavg`; `None` elsewhere).
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Whether tracked files differ from the commit (`None` without git or outside a repository).
fn dirty() -> Option<bool> {
    command_line("git", &["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty())
}

/// This machine, now. `python` is the CPython measured beside the reference, if any.
pub fn detect(python: Option<&str>) -> Machine {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .or_else(|| command_line("sysctl", &["-n", "machdep.cpu.brand_string"]))
        .unwrap_or_else(|| "unknown".into());
    Machine {
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
        kernel: command_line("uname", &["-sr"]).unwrap_or_else(|| "unknown".into()),
        cpu_model,
        cpus: std::thread::available_parallelism().map(usize::from).unwrap_or(1),
        rustc: command_line("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        commit: command_line("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into()),
        dirty: dirty(),
        timestamp: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        load_before: load_average(),
        load_after: None,
        cpython: python.and_then(|p| command_line(p, &["--version"])),
    }
}

/// A fixed machine for tests and examples.
pub fn synthetic() -> Machine {
    Machine {
        os: "linux".into(),
        arch: "x86_64".into(),
        kernel: "Linux 6.1".into(),
        cpu_model: "test CPU".into(),
        cpus: 2,
        rustc: "rustc 1.88.0".into(),
        commit: "0000000".into(),
        dirty: Some(false),
        timestamp: "2026-01-01T00:00:00Z".into(),
        load_before: Some([0.5, 0.4, 0.3]),
        load_after: Some([0.6, 0.5, 0.3]),
        cpython: Some("Python 3.11.7".into()),
    }
}
