//! Small portable programs for `run` steps (`harness tool NAME ...`), so that a scenario's
//! subprocesses behave the same on every OS.

use std::io::{Read, Write};
use std::process::Stdio;

pub const TOOLS: [&str; 9] =
    ["upper", "exit", "sleep", "echo", "lookup", "sleep-pid", "setsid-sleep", "double-fork", "tree"];

/// Runs a tool and returns its exit code.
pub fn run(args: &[String]) -> i32 {
    let mut out = std::io::stdout().lock();
    match args.first().map(String::as_str) {
        Some("upper") => {
            let mut input = String::new();
            let _ = std::io::stdin().read_to_string(&mut input);
            let _ = write!(out, "{}", input.to_uppercase());
            0
        }
        Some("exit") => args.get(1).and_then(|c| c.parse().ok()).unwrap_or(1),
        Some("sleep") => {
            let ms = args.get(1).and_then(|m| m.parse().ok()).unwrap_or(1000);
            std::thread::sleep(std::time::Duration::from_millis(ms));
            0
        }
        Some("echo") => {
            let _ = writeln!(out, "{}", args[1..].join(" "));
            0
        }
        Some("lookup") => lookup(&args[1..], &mut out),
        Some(name @ ("sleep-pid" | "setsid-sleep" | "double-fork" | "tree")) => escape(name, &args[1..]),
        other => {
            eprintln!("unknown tool {:?}; tools: {}", other.unwrap_or(""), TOOLS.join(", "));
            2
        }
    }
}

/// A stand-in for the chapter's `nslookup`: fixed answers from documentation addresses, no
/// network. With a name it answers once; without, it reads commands from stdin
/// (`set q=mx`, a name, `exit`).
fn lookup(args: &[String], out: &mut impl Write) -> i32 {
    let answer = |out: &mut dyn Write, name: &str, mx: bool| {
        let _ = writeln!(out, "Server:\t\tlookup.invalid");
        let _ = writeln!(out, "Address:\t192.0.2.53#53");
        let _ = writeln!(out);
        if mx {
            let _ = writeln!(out, "{name}\tmail exchanger = 50 mail.{name}.");
        } else {
            let _ = writeln!(out, "Name:\t{name}");
            let _ = writeln!(out, "Address: 192.0.2.80");
        }
    };
    if let Some(name) = args.first() {
        answer(out, name, false);
        return 0;
    }
    let mut input = String::new();
    let _ = std::io::stdin().read_to_string(&mut input);
    let mut mx = false;
    for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line {
            "exit" => break,
            "set q=mx" => mx = true,
            name => answer(out, name, mx),
        }
    }
    0
}

/// Test tools that try to outlive their run, each recording its pid as an empty file named
/// after it in the directory DIR (one file per process: appends to one shared file are not
/// atomic everywhere):
/// - `sleep-pid DIR MS`: sleeps;
/// - `setsid-sleep DIR MS`: starts `sleep-pid DIR MS` in a new session (Unix; a breakaway
///   attempt on Windows) and waits for it;
/// - `double-fork DIR MS`: the same, but exits at once instead of waiting, as a daemon does
///   (the detached child has no stdio);
/// - `tree DIR LEVELS MS`: starts `tree DIR LEVELS-1 MS` in a new session if LEVELS > 1, then
///   sleeps: LEVELS processes, each but the first in a session of its own.
fn escape(name: &str, args: &[String]) -> i32 {
    let (Some(dir), Some(ms)) = (args.first(), args.last().and_then(|m| m.parse::<u64>().ok())) else {
        eprintln!("usage: {name} DIR [LEVELS] MS");
        return 2;
    };
    let dir = std::path::Path::new(dir);
    if let Err(e) = std::fs::File::create(dir.join(std::process::id().to_string())) {
        eprintln!("{name}: cannot record my pid in {}: {e}", dir.display());
        return 2;
    }
    let ms_text = ms.to_string();
    let dir_text = dir.to_string_lossy();
    let detached = |args: &[&str]| {
        let mut cmd = std::process::Command::new(std::env::current_exe()?);
        cmd.arg("tool").args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        crate::os::spawn_detached(&mut cmd)
    };
    let child = match name {
        "setsid-sleep" | "double-fork" => detached(&["sleep-pid", &dir_text, &ms_text]).map(Some),
        "tree" => match args.get(1).and_then(|l| l.parse::<u32>().ok()) {
            Some(levels) if levels > 1 => detached(&["tree", &dir_text, &(levels - 1).to_string(), &ms_text]).map(Some),
            _ => Ok(None),
        },
        _ => Ok(None),
    };
    match child {
        Err(e) => {
            eprintln!("{name}: {e}");
            1
        }
        Ok(_) if name == "double-fork" => 0,
        Ok(Some(mut child)) if name == "setsid-sleep" => child.wait().map_or(1, |s| s.code().unwrap_or(1)),
        Ok(_) => {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            0
        }
    }
}
