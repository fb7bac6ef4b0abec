//! The events a run records: one JSON line each, appended to a file by every actor (thread or
//! process) as it goes, so that a run killed at its timeout still tells where each actor was.

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
    /// Printed text; pids and timings are wrapped in [`MARK`]s.
    Print { text: String },
    /// A value received by get, recv, read, get_local or run.
    Received { via: String, value: serde_json::Value },
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

/// Appends events to the run's log. Each event is one `write` of one line to a file opened for
/// appending, so lines from threads and processes never interleave.
#[derive(Debug)]
pub struct EventLog {
    path: PathBuf,
    file: Mutex<File>,
}

static CLOCK_FLOOR: AtomicU64 = AtomicU64::new(0);

pub fn now_us() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
    // Never go backwards within a process, even if the wall clock is stepped.
    CLOCK_FLOOR.fetch_max(now, Ordering::Relaxed).max(now)
}

impl EventLog {
    pub fn open(path: &Path) -> std::io::Result<EventLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(EventLog { path: path.to_path_buf(), file: Mutex::new(file) })
    }

    pub fn path(&self) -> &Path {
        &self.path
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
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // A failed write loses one diagnostic line; the run's verdict will show what is missing.
        let _ = file.write_all(&line);
    }
}

/// Reads a run's events; a torn last line (a process killed mid-write) is skipped.
pub fn read(path: &Path) -> std::io::Result<Vec<Event>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(BufReader::new(file).lines().map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect())
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

/// Wraps a nondeterministic piece of printed text: `kind` is `pid` or `elapsed`.
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
        let path = dir.path().join("events.jsonl");
        let log = EventLog::open(&path).expect("open");
        log.record("main", None, EventKind::Started);
        log.record("main", None, EventKind::Print { text: "hi".into() });
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"actor\":"))
            .expect("torn");
        let events = read(&path).expect("read");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].kind, EventKind::Print { text: "hi".into() });
    }
}
