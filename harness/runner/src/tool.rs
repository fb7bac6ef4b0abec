//! Small portable programs for `run` steps (`harness tool NAME ...`), so that a scenario's
//! subprocesses behave the same on every OS.

use std::io::{Read, Write};

pub const TOOLS: [&str; 5] = ["upper", "exit", "sleep", "echo", "lookup"];

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
