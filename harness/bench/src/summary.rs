//! The processes-versus-threads summary: one row per operation, the thread way beside processes
//! started by fork and by spawn, each process figure as a factor of the thread one with its
//! interval, and the answer ("threads, by 6.8x to 33x"). Computed from the report's raw samples.

use crate::model::{Report, Unit};
use crate::stats::{self, Interval};

/// A series of a figure.
#[derive(Debug, Clone, Copy)]
struct Ref {
    figure: &'static str,
    label: &'static str,
    x: Option<f64>,
}

const fn r(figure: &'static str, label: &'static str) -> Option<Ref> {
    Some(Ref { figure, label, x: None })
}
const fn rx(figure: &'static str, label: &'static str, x: f64) -> Option<Ref> {
    Some(Ref { figure, label, x: Some(x) })
}

struct RowSpec {
    operation: &'static str,
    thread: Option<Ref>,
    fork: Option<Ref>,
    spawn: Option<Ref>,
    /// Why a process cell is empty, if one is by design.
    gap: &'static str,
}

const ROWS: &[RowSpec] = &[
    RowSpec {
        operation: "Start + join one worker",
        thread: r("thread.start_join", "reference"),
        fork: r("fork.start_join", "reference"),
        spawn: r("spawn.start_join", "reference"),
        gap: "",
    },
    RowSpec {
        operation: "Pool(4): create, 5 tasks, close + join",
        thread: r("pool.chapter", "thread-pool"),
        fork: r("pool.chapter", "process-fork"),
        spawn: r("pool.chapter", "process-spawn"),
        gap: "",
    },
    RowSpec {
        operation: "A tiny task through a pool of 2 (per task)",
        thread: r("pool.tiny_tasks", "thread-pool"),
        fork: r("pool.tiny_tasks", "process-fork"),
        spawn: r("pool.tiny_tasks", "process-spawn"),
        gap: "",
    },
    RowSpec {
        operation: "Queue round trip, 16 B (pinned)",
        thread: r("queue.rtt.pinned", "threads"),
        fork: r("queue.rtt.pinned", "process-fork"),
        spawn: r("queue.rtt.pinned", "process-spawn"),
        gap: "",
    },
    RowSpec {
        operation: "Pipe round trip, 16 B (pinned)",
        thread: r("pipe.rtt.pinned", "threads"),
        fork: r("pipe.rtt.pinned", "process-fork"),
        spawn: r("pipe.rtt.pinned", "process-spawn"),
        gap: "",
    },
    RowSpec {
        operation: "Lock: acquire + release, uncontended (a lock processes share, in the fork column)",
        thread: r("lock.uncontended", "reference"),
        fork: r("lock.uncontended", "process-shared"),
        spawn: None,
        gap: "",
    },
    RowSpec {
        operation: "Lock: 2 contenders, per acquisition",
        thread: r("lock.contended", "reference"),
        fork: r("lock.contended", "process-fork"),
        spawn: r("lock.contended", "process-spawn"),
        gap: "",
    },
    RowSpec {
        operation: "CPU-bound work on 2 workers (time relative to 1)",
        thread: rx("cpu.split", "thread-pool", 2.0),
        fork: None,
        spawn: rx("cpu.split", "process-pool", 2.0),
        gap: "",
    },
    RowSpec {
        operation: "The same in CPython (threads share one interpreter lock)",
        thread: rx("cpu.split", "cpython-threads", 2.0),
        fork: rx("cpu.split", "cpython-processes", 2.0),
        spawn: None,
        gap: "",
    },
];

/// One measured cell: the median with its interval, and (for processes) its factor of the
/// thread cell with the factor's interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub median: f64,
    pub ci: Interval,
    pub factor: Option<(f64, Interval)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub operation: &'static str,
    pub unit: Unit,
    pub thread: Option<Cell>,
    pub fork: Option<Cell>,
    pub spawn: Option<Cell>,
    pub answer: String,
}

/// A difference smaller than this (5 %) reads as "the same", even when significant.
const SAME: f64 = 0.05;

pub fn rows(report: &Report) -> Vec<Row> {
    ROWS.iter().filter_map(|spec| row(report, spec)).collect()
}

fn samples(report: &Report, at: Option<Ref>) -> Option<(&[f64], Unit)> {
    let at = at?;
    let f = report.figure(at.figure)?;
    let s = f.find(at.label, at.x)?;
    Some((&s.samples, f.unit))
}

fn cell(report: &Report, at: Option<Ref>, thread: Option<&[f64]>) -> Option<Cell> {
    let (v, _) = samples(report, at)?;
    let at = at?;
    let sum = stats::summarize(v, &format!("summary {} {}", at.figure, at.label))?;
    let factor = thread.and_then(|t| stats::ratio(v, t, &format!("summary {} {}/thread", at.figure, at.label)));
    Some(Cell { median: sum.median, ci: sum.ci, factor })
}

fn row(report: &Report, spec: &RowSpec) -> Option<Row> {
    let (thread_samples, unit) = samples(report, spec.thread)?;
    let thread = cell(report, spec.thread, None);
    let fork = cell(report, spec.fork, Some(thread_samples));
    let spawn = cell(report, spec.spawn, Some(thread_samples));
    if fork.is_none() && spawn.is_none() && spec.gap.is_empty() {
        return None;
    }
    let answer = answer(&[("fork", fork.as_ref()), ("spawn", spawn.as_ref())], spec.gap);
    Some(Row { operation: spec.operation, unit, thread, fork, spawn, answer })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    /// Processes significantly slower than threads (by more than 5 %).
    Threads,
    /// Processes significantly faster.
    Processes,
    /// Within 5 % of each other.
    Same,
    /// The interval is too wide to tell.
    Uncertain,
}

fn side(f: f64, ci: Interval) -> Side {
    match () {
        _ if ci.lo > 1.0 && f > 1.0 + SAME => Side::Threads,
        _ if ci.hi < 1.0 && f < 1.0 - SAME => Side::Processes,
        _ if (f - 1.0).abs() <= SAME => Side::Same,
        _ => Side::Uncertain,
    }
}

fn times(v: f64) -> String {
    if v >= 10.0 { format!("{v:.0}x") } else { format!("{v:.1}x") }
}

/// "threads, by 6.8x (fork) to 33x (spawn)", "processes, by 1.3x", "the same (within 5 %)".
fn answer(cells: &[(&str, Option<&Cell>)], gap: &str) -> String {
    let factors: Vec<(&str, f64, Interval, Side)> = cells
        .iter()
        .filter_map(|(name, c)| c.and_then(|c| c.factor).map(|(f, ci)| (*name, f, ci, side(f, ci))))
        .collect();
    if factors.is_empty() {
        return if gap.is_empty() { "not measured".into() } else { format!("threads only: {gap}") };
    }
    let all = |s: Side| factors.iter().all(|f| f.3 == s);
    // The winner's factors, smallest first: "by 6.8x (fork) to 33x (spawn)".
    let by = |invert: bool| -> String {
        let mut fs: Vec<(&str, f64)> =
            factors.iter().map(|(n, f, ..)| (*n, if invert { 1.0 / f } else { *f })).collect();
        fs.sort_by(|a, b| a.1.total_cmp(&b.1));
        match fs.as_slice() {
            [(_, f)] => format!("by {}", times(*f)),
            [(n1, f1), (n2, f2)] if times(*f1) == times(*f2) => format!("by {} ({n1} and {n2})", times(*f1)),
            [(n1, f1), (n2, f2)] => format!("by {} ({n1}) to {} ({n2})", times(*f1), times(*f2)),
            _ => String::new(),
        }
    };
    if all(Side::Threads) {
        return format!("threads, {}", by(false));
    }
    if all(Side::Processes) {
        return format!("processes, {}", by(true));
    }
    if all(Side::Same) {
        return "the same, within 5 %".into();
    }
    let parts: Vec<String> = factors
        .iter()
        .map(|(n, f, ci, side)| match side {
            Side::Threads => format!("threads beat {n} by {}", times(*f)),
            Side::Processes => format!("{n} beats threads by {}", times(1.0 / f)),
            Side::Same => format!("{n} ties with threads"),
            Side::Uncertain => format!("{n} uncertain ({})", crate::format::factor(*f, *ci)),
        })
        .collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(f: f64, lo: f64, hi: f64) -> Cell {
        Cell { median: 1.0, ci: Interval { lo: 1.0, hi: 1.0 }, factor: Some((f, Interval { lo, hi })) }
    }

    #[test]
    fn answers_name_the_winner_and_the_factor() {
        let (a, b) = (c(6.8, 6.5, 7.1), c(33.0, 31.0, 35.0));
        assert_eq!(answer(&[("fork", Some(&a)), ("spawn", Some(&b))], ""), "threads, by 6.8x (fork) to 33x (spawn)");
        let p = c(0.75, 0.7, 0.8);
        assert_eq!(answer(&[("fork", Some(&p)), ("spawn", None)], ""), "processes, by 1.3x");
        let same = c(1.02, 0.98, 1.06);
        assert_eq!(answer(&[("fork", None), ("spawn", Some(&same))], ""), "the same, within 5 %");
        let both = (c(15.1, 8.3, 16.5), c(15.2, 8.4, 16.6));
        assert_eq!(
            answer(&[("fork", Some(&both.0)), ("spawn", Some(&both.1))], ""),
            "threads, by 15x (fork and spawn)"
        );
        let wide = c(17.1, 0.8, 23.0);
        assert_eq!(
            answer(&[("fork", Some(&wide)), ("spawn", Some(&b))], ""),
            "fork uncertain (17.1x [0.8–23.0]); threads beat spawn by 33x"
        );
        assert_eq!(answer(&[("fork", None), ("spawn", None)], "why"), "threads only: why");
        assert_eq!(
            answer(&[("fork", Some(&p)), ("spawn", Some(&a))], ""),
            "fork beats threads by 1.3x; threads beat spawn by 6.8x"
        );
    }
}
