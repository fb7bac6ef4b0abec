//! Output for people, as nextest prints it: one line per finished run (its status, time and
//! test name), a failure's details under it with the snapshot diff as insta shows it, and a
//! summary. Text comes styled (ANSI); write it through `anstream`, which drops the styles where
//! they do not belong (not a terminal, `NO_COLOR`, `--color never`).

use anstyle::{AnsiColor, Style};

use crate::conformance::{Cell, Status};
use crate::session::Counts;
use crate::snapshots::{Diff, Line};

const PASS: Style = AnsiColor::Green.on_default().bold();
const FAIL: Style = AnsiColor::Red.on_default().bold();
const SKIP: Style = AnsiColor::Yellow.on_default().bold();
const HELD: Style = AnsiColor::Cyan.on_default().bold();
const DIM: Style = Style::new().dimmed();
const REMOVED: Style = AnsiColor::Red.on_default();
const ADDED: Style = AnsiColor::Green.on_default();
const HUNK: Style = AnsiColor::Cyan.on_default();
const BOLD: Style = Style::new().bold();

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

fn status_style(status: Status) -> Style {
    match status {
        Status::Pass => PASS,
        Status::Held => HELD,
        Status::Fail | Status::Gone => FAIL,
        Status::Skipped => SKIP,
    }
}

/// The word of a status in run lines (nextest's: PASS, FAIL, SKIP).
pub fn word(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Held => "HELD",
        Status::Fail => "FAIL",
        Status::Gone => "GONE",
        Status::Skipped => "SKIP",
    }
}

/// `    PASS [   0.512s] scenario::queue-ipc::spawn`, with `(2/10)` before the name in
/// repeated runs.
pub fn line(cell: &Cell, test_name: &str, round: u32, rounds: u32) -> String {
    let time = match cell.elapsed_ms {
        Some(ms) => format!("[{:>8.3}s]", ms as f64 / 1000.0),
        None => format!("[{:>9}]", ""),
    };
    let round = if rounds > 1 { format!("({round}/{rounds}) ") } else { String::new() };
    format!("{} {time} {round}{}", paint(status_style(cell.status), &format!("{:>8}", word(cell.status))), test_name)
}

/// What to know about a run, under its line: a failure's reasons (the snapshot diff coloured as
/// insta colours it), a skip's reason, and how to see the run again (`rerun`).
pub fn details(cell: &Cell, rerun: Option<&str>) -> String {
    let mut out = String::new();
    for d in &cell.details {
        match d.split_once('\n') {
            // The snapshot diff conformance writes: `trace differs from FILE:` and the diff.
            Some((head, diff)) if d.starts_with("trace differs from ") => {
                out.push_str(&format!("    {head}\n"));
                for l in diff.lines() {
                    out.push_str(&diff_line(l));
                    out.push('\n');
                }
            }
            _ => {
                for (i, l) in d.lines().enumerate() {
                    out.push_str(if i == 0 { "    " } else { "      " });
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
    }
    if let Some(cmd) = rerun
        && cell.status.is_failure()
    {
        out.push_str(&format!("    {} {}\n", paint(DIM, "see it:"), paint(BOLD, cmd)));
    }
    out
}

/// One line of an indented plain diff, coloured by its first character.
fn diff_line(l: &str) -> String {
    let body = l.trim_start_matches(' ');
    let indent = &l[..l.len() - body.len()];
    // The indent is four spaces; a context line has one more.
    let (indent, body) = if indent.len() > 4 { (&l[..4], &l[4..]) } else { (indent, body) };
    let style = if body.starts_with("---") || body.starts_with("+++") {
        BOLD
    } else if body.starts_with("@@") {
        HUNK
    } else if body.starts_with('-') {
        REMOVED
    } else if body.starts_with('+') {
        ADDED
    } else {
        return l.to_string();
    };
    format!("{indent}{}", paint(style, body))
}

/// A snapshot diff, styled, each line after `indent` (for `harness show`).
pub fn diff(d: &Diff, indent: &str) -> String {
    let mut out = String::new();
    for (kind, l) in &d.lines {
        let style = match kind {
            Line::Header => BOLD,
            Line::Hunk => HUNK,
            Line::Removed => REMOVED,
            Line::Added => ADDED,
            Line::Context => Style::new(),
        };
        out.push_str(&format!("{indent}{}\n", paint(style, l)));
    }
    out
}

/// The closing lines: runs repeated with mixed outcomes (flaky) with their counts, then
/// `Summary [  12.345s] 40 runs: 38 passed, 1 held, 1 failed, 0 skipped`.
pub fn summary(per_test: &[(String, Counts)], totals: &Counts, elapsed: std::time::Duration, rounds: u32) -> String {
    let mut out = String::new();
    if rounds > 1 {
        for (name, c) in per_test.iter().filter(|(_, c)| c.failures() > 0) {
            let what = if c.flaky() { paint(SKIP, "   FLAKY") } else { paint(FAIL, "  FAILED") };
            let ran = c.total() - c.skipped;
            out.push_str(&format!("{what} {name}: failed {} of {ran} runs\n", c.failures()));
        }
    }
    let held = if totals.held > 0 { format!(", {} held", totals.held) } else { String::new() };
    let gone = if totals.gone > 0 { format!(", {} gone", totals.gone) } else { String::new() };
    let failed = totals.fail + totals.gone;
    let counts = format!("{} passed{held}, {failed} failed{gone}, {} skipped", totals.pass, totals.skipped);
    let style = if failed > 0 { FAIL } else { PASS };
    out.push_str(&format!(
        "{} [{:>8.3}s] {} runs\n{}\n",
        paint(style, "     Summary"),
        elapsed.as_secs_f64(),
        totals.total(),
        counts,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use procthread_scenario::{Backend, Implementation};

    fn plain(s: &str) -> String {
        anstream::adapter::strip_str(s).to_string()
    }

    fn cell(status: Status, details: Vec<String>) -> Cell {
        Cell {
            scenario: "q".into(),
            backend: Backend::Spawn,
            implementation: Implementation::Reference,
            status,
            elapsed_ms: Some(1234),
            details,
            divergence: None,
        }
    }

    #[test]
    fn a_line_per_run_and_its_diff_in_colour() {
        let d = Diff::new("snapshots/q@processes.snap", "a\nb\n", "a\nc\n");
        let c =
            cell(Status::Fail, vec![format!("trace differs from snapshots/q@processes.snap:\n{}", d.plain("    "))]);
        let l = line(&c, "scenario::q::spawn", 2, 5);
        assert_eq!(plain(&l), "    FAIL [   1.234s] (2/5) scenario::q::spawn");
        assert!(l.contains("\u{1b}[1m\u{1b}[31m") || l.contains("\u{1b}[31"), "coloured: {l:?}");
        let text = details(&c, Some("harness show q --backend spawn"));
        assert_eq!(
            plain(&text),
            "    trace differs from snapshots/q@processes.snap:\n    --- snapshots/q@processes.snap\n    +++ this run\n    @@ -1,2 +1,2 @@\n     a\n    -b\n    +c\n    see it: harness show q --backend spawn\n"
        );
        assert!(text.contains(&format!("{REMOVED}-b{REMOVED:#}")), "{text:?}");
        assert!(text.contains(&format!("{ADDED}+c{ADDED:#}")), "{text:?}");
        let passed = cell(Status::Pass, vec![]);
        assert_eq!(details(&passed, Some("x")), "", "no rerun hint for a run that passed");
    }

    #[test]
    fn the_summary_counts_flakes_per_run() {
        let mut flaky = Counts::default();
        flaky.add(Status::Pass);
        flaky.add(Status::Fail);
        let mut totals = flaky.clone();
        totals.add(Status::Skipped);
        let s = plain(&summary(
            &[("scenario::q::spawn".into(), flaky)],
            &totals,
            std::time::Duration::from_millis(2500),
            2,
        ));
        assert_eq!(
            s,
            "   FLAKY scenario::q::spawn: failed 1 of 2 runs\n     Summary [   2.500s] 3 runs\n1 passed, 1 failed, 1 skipped\n"
        );
    }
}
