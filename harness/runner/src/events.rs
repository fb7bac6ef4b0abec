//! The events a run records: one JSON line each, written by every actor (thread or process) as
//! it goes, so that a run killed at its timeout still tells where each actor was.
//!
//! Each process appends to a file of its own in the run's events directory (threads of one
//! process take turns on it). Appends from several processes to one file are atomic on Linux,
//! but not everywhere (Wine's emulation of Windows appends loses lines), so no file is shared.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Separates a pid (or a timing) inside printed text, so normalization replaces exactly it.
pub const MARK: char = '\u{1}';

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The actor instance that recorded it (or whose end it records).
    pub actor: String,
    pub pid: u32,
    /// Microseconds since the Unix epoch: comparable across processes.
    pub t_us: u64,
    /// Set for pool tasks: the pool they ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The actor began running.
    Started,
    /// The actor is entering a step (for "the step it was in" when a run fails).
    At { line: usize, verb: String },
    /// Printed text; pids, timings and nondeterministic values are wrapped in [`MARK`]s.
    Print { text: String },
    /// A value received: by get, recv, read, get_local, map, imap or result (what `received`
    /// counts). `via` is the verb and its target: `get q`, `result sq-1`.
    Received {
        via: String,
        value: serde_json::Value,
        /// Declared to vary from run to run: the trace shows `<nondeterministic>`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        nondeterministic: bool,
    },
    /// A state observed: by is_alive, exitcode, qsize, empty, full, locked, is_set, n_waiting or
    /// broken (not counted by `received`).
    Observed {
        via: String,
        value: serde_json::Value,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        nondeterministic: bool,
    },
    /// A subprocess ran.
    Ran { argv: Vec<String>, code: i32 },
    /// A step ended with an error; `expected` if the scenario said it would.
    Error { line: usize, verb: String, kind: Option<String>, message: String, expected: bool },
    /// The actor's body finished (0) or failed (1) as the actor itself saw it.
    Finished { code: i32 },
    /// Recorded by whoever joined the actor: how it ended.
    Exit { code: i32 },
    /// A variable's value at the end, as the main actor sees it.
    Variable { name: String, value: i64 },
}

/// Appends events to this process's file in the run's events directory.
#[derive(Debug)]
pub struct EventLog {
    dir: PathBuf,
    /// The file and the pid it belongs to: a forked child notices the change and opens its own.
    file: Mutex<(u32, File)>,
}

static CLOCK_FLOOR: AtomicU64 = AtomicU64::new(0);

pub fn now_us() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
    // Never go backwards within a process, even if the wall clock is stepped.
    CLOCK_FLOOR.fetch_max(now, Ordering::Relaxed).max(now)
}

impl EventLog {
    /// Opens (creating the directory if needed) this process's file under `dir`.
    pub fn open(dir: &Path) -> std::io::Result<EventLog> {
        std::fs::create_dir_all(dir)?;
        let pid = std::process::id();
        Ok(EventLog { dir: dir.to_path_buf(), file: Mutex::new((pid, own_file(dir, pid)?)) })
    }

    /// The run's events directory (what child processes are given).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn record(&self, actor: &str, pool: Option<&str>, kind: EventKind) {
        let event = Event {
            actor: actor.to_string(),
            pid: std::process::id(),
            t_us: now_us(),
            pool: pool.map(str::to_string),
            kind,
        };
        let Ok(mut line) = serde_json::to_vec(&event) else { return };
        line.push(b'\n');
        let mut slot = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if slot.0 != event.pid
            && let Ok(f) = own_file(&self.dir, event.pid)
        {
            *slot = (event.pid, f);
        }
        // A failed write loses one diagnostic line; the run's verdict will show what is missing.
        let _ = slot.1.write_all(&line);
    }
}

fn own_file(dir: &Path, pid: u32) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(dir.join(format!("{pid}.jsonl")))
}

/// Reads a run's events from every process's file, merged in time order (each file's own order
/// kept; an `Exit`, recorded by whoever joined, sorts after what it ended at the same instant).
/// A torn last line (a process killed mid-write) is skipped.
pub fn read(dir: &Path) -> std::io::Result<Vec<Event>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let mut events = Vec::new();
    for f in files {
        let file = File::open(&f)?;
        let lines = BufReader::new(file).lines().map_while(Result::ok);
        events.extend(lines.filter_map(|l| serde_json::from_str::<Event>(&l).ok()));
    }
    events.sort_by_key(|e| (e.t_us, matches!(e.kind, EventKind::Exit { .. })));
    Ok(events)
}

/// Text as a person reads it: marks removed, raw pids and timings kept.
pub fn plain(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split(MARK).enumerate() {
        if i % 2 == 1 {
            out.push_str(part.split_once(':').map_or(part, |(_, v)| v));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Wraps a nondeterministic piece of printed text: `kind` is `pid`, `elapsed` or `nondet`.
pub fn marked(kind: &str, value: &str) -> String {
    format!("{MARK}{kind}:{value}{MARK}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_drops_marks() {
        let t = format!("I ({}) ran {} s", marked("pid", "42"), marked("elapsed", "0.30"));
        assert_eq!(plain(&t), "I (42) ran 0.30 s");
    }

    #[test]
    fn log_round_trip_skips_a_torn_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = EventLog::open(dir.path()).expect("open");
        log.record("main", None, EventKind::Started);
        log.record("main", None, EventKind::Print { text: "hi".into() });
        let own = dir.path().join(format!("{}.jsonl", std::process::id()));
        let torn = std::fs::OpenOptions::new().append(true).open(&own).and_then(|mut f| f.write_all(b"{\"actor\":"));
        torn.expect("torn line");
        let events = read(dir.path()).expect("read");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].kind, EventKind::Print { text: "hi".into() });
    }

    #[test]
    fn files_merge_in_time_order_with_exits_last_at_a_tie() {
        let dir = tempfile::tempdir().expect("tempdir");
        let line = |actor: &str, t: u64, kind: EventKind| {
            let e = Event { actor: actor.into(), pid: 1, t_us: t, pool: None, kind };
            format!("{}\n", serde_json::to_string(&e).expect("json"))
        };
        let first = line("main", 5, EventKind::Exit { code: 0 }) + &line("main", 9, EventKind::Started);
        std::fs::write(dir.path().join("1.jsonl"), first).expect("write");
        std::fs::write(dir.path().join("2.jsonl"), line("kid", 5, EventKind::Print { text: "x".into() }))
            .expect("write");
        let events = read(dir.path()).expect("read");
        let order: Vec<(u64, bool)> =
            events.iter().map(|e| (e.t_us, matches!(e.kind, EventKind::Exit { .. }))).collect();
        assert_eq!(order, [(5, false), (5, true), (9, false)]);
    }
}
