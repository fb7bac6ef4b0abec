//! The events a run records: one JSON line each, written by every actor (thread or process) as
//! it goes, so that a run killed at its timeout still tells where each actor was.
//!
//! Each process appends to a file of its own in the run's events directory (threads of one
//! process take turns on it). Appends from several processes to one file are atomic on Linux,
//! but not everywhere (Wine's emulation of Windows appends loses lines), so no file is shared.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
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
    /// A fault run's fault, recorded by the actor it hits just before it acts (`crate::faults`):
    /// where (`step 5`, `pipe.send.half, hit 2`), what (`kill` or `delay`), and how many `put`
    /// and `send` steps the actor had entered by then.
    Fault { at: String, action: String, sent: u64 },
}

/// Appends events to this process's file in the run's events directory.
#[derive(Debug)]
pub struct EventLog {
    dir: PathBuf,
    /// The file and the pid it belongs to: a forked child notices the change and opens its own.
    file: Mutex<Slot>,
    limit: TraceLimit,
}

/// The most a run's trace may hold. Writers stop at it (and leave a mark), so that a `print`
/// loop cannot fill the disk; the runner reads no more than it; a run that reached it fails
/// with that reason. Real scenarios write a few kilobytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceLimit {
    /// Bytes of events (JSON lines) in all the run's files together.
    pub bytes: u64,
    /// Events in all the run's files together.
    pub events: usize,
}

/// The limit of every run: 16 MiB or 100,000 events, whichever comes first.
pub const TRACE_LIMIT: TraceLimit = TraceLimit { bytes: 16 << 20, events: 100_000 };

/// Left in the events directory by a writer that stopped at the limit.
const LIMIT_MARK: &str = "limit-reached";

/// A writer re-counts the whole run's trace each time it has written this much more (and at its
/// first event), so the run's files pass the byte limit by at most this much per process.
const RECOUNT_EVERY: u64 = 256 << 10;

/// One process's file and what it has written there.
#[derive(Debug)]
struct Slot {
    pid: u32,
    file: File,
    bytes: u64,
    events: usize,
    recount_at: u64,
    full: bool,
}

impl Slot {
    fn new(pid: u32, file: File) -> Slot {
        Slot { pid, file, bytes: 0, events: 0, recount_at: 0, full: false }
    }

    /// Whether `len` more bytes fit in the run's trace; marks the trace full if not.
    fn fits(&mut self, dir: &Path, limit: TraceLimit, len: u64) -> bool {
        if self.full {
            return false;
        }
        let mut fits = self.events < limit.events && self.bytes + len <= limit.bytes;
        if fits && self.bytes + len > self.recount_at {
            fits = !dir.join(LIMIT_MARK).exists() && trace_bytes(dir) + len <= limit.bytes;
            self.recount_at = self.bytes + len + RECOUNT_EVERY;
        }
        if !fits {
            self.full = true;
            let _ = File::create(dir.join(LIMIT_MARK));
        }
        fits
    }
}

/// Bytes in all the event files of a run.
fn trace_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum()
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
        Self::open_limited(dir, TRACE_LIMIT)
    }

    /// [`open`](Self::open) with another limit than [`TRACE_LIMIT`] (for tests).
    pub fn open_limited(dir: &Path, limit: TraceLimit) -> std::io::Result<EventLog> {
        std::fs::create_dir_all(dir)?;
        let pid = std::process::id();
        Ok(EventLog { dir: dir.to_path_buf(), file: Mutex::new(Slot::new(pid, own_file(dir, pid)?)), limit })
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
        if slot.pid != event.pid
            && let Ok(f) = own_file(&self.dir, event.pid)
        {
            *slot = Slot::new(event.pid, f);
        }
        if !slot.fits(&self.dir, self.limit, line.len() as u64) {
            return;
        }
        slot.bytes += line.len() as u64;
        slot.events += 1;
        // A failed write loses one diagnostic line; the run's verdict will show what is missing.
        let _ = slot.file.write_all(&line);
    }
}

fn own_file(dir: &Path, pid: u32) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(dir.join(format!("{pid}.jsonl")))
}

/// A run's events as the runner read them.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub events: Vec<Event>,
    /// Set when the trace reached its limit: why the run fails (events past it are missing).
    pub over_limit: Option<String>,
}

/// Reads a run's events from every process's file, merged in time order (each file's own order
/// kept; an `Exit`, recorded by whoever joined, sorts after what it ended at the same instant).
/// A torn last line (a process killed mid-write) is skipped.
pub fn read(dir: &Path) -> std::io::Result<Vec<Event>> {
    Ok(read_limited(dir, TRACE_LIMIT)?.events)
}

/// [`read`], loading no more than `limit` (bytes and events) whatever the files hold.
pub fn read_limited(dir: &Path, limit: TraceLimit) -> std::io::Result<Trace> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Trace::default()),
        Err(e) => return Err(e),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut over = dir.join(LIMIT_MARK).exists();
    let mut budget = limit.bytes;
    let mut events = Vec::new();
    'files: for f in files {
        let file = File::open(&f)?;
        if file.metadata()?.len() > budget {
            over = true;
        }
        let mut reader = BufReader::new(file.take(budget));
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            budget = budget.saturating_sub(n as u64);
            if let Ok(e) = serde_json::from_slice::<Event>(&line) {
                if events.len() == limit.events {
                    over = true;
                    break 'files;
                }
                events.push(e);
            }
        }
    }
    events.sort_by_key(|e| (e.t_us, matches!(e.kind, EventKind::Exit { .. })));
    let over_limit = over.then(|| {
        format!(
            "the run's trace reached its limit ({} events or {} MiB per run); later events were dropped",
            limit.events,
            limit.bytes >> 20
        )
    });
    Ok(Trace { events, over_limit })
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

    #[test]
    fn writers_stop_at_the_limit_and_the_reader_reads_no_more() {
        let dir = tempfile::tempdir().expect("tempdir");
        let limit = TraceLimit { bytes: 4096, events: 1000 };
        let log = EventLog::open_limited(dir.path(), limit).expect("open");
        for i in 0..1000 {
            log.record("main", None, EventKind::Print { text: format!("line {i}") });
        }
        let written = trace_bytes(dir.path());
        assert!(written <= limit.bytes, "the writer stopped at the limit: {written} bytes");
        assert!(dir.path().join(LIMIT_MARK).exists());
        let trace = read_limited(dir.path(), limit).expect("read");
        assert!(trace.over_limit.is_some());
        assert!(!trace.events.is_empty() && trace.events.len() < 1000);

        // A writer that ignores the limit (another tool, an older harness): the reader still
        // loads no more than the limit.
        let big = tempfile::tempdir().expect("tempdir");
        let event = Event { actor: "main".into(), pid: 1, t_us: 1, pool: None, kind: EventKind::Started };
        let line = format!("{}\n", serde_json::to_string(&event).expect("json"));
        std::fs::write(big.path().join("1.jsonl"), line.repeat(5000)).expect("write");
        let trace = read_limited(big.path(), TraceLimit { bytes: 1 << 30, events: 100 }).expect("read");
        assert_eq!(trace.events.len(), 100);
        assert!(trace.over_limit.is_some());
        let trace =
            read_limited(big.path(), TraceLimit { bytes: line.len() as u64 * 10, events: 1 << 20 }).expect("read");
        assert_eq!(trace.events.len(), 10);
        assert!(trace.over_limit.is_some());
        let trace = read_limited(big.path(), TraceLimit { bytes: 1 << 30, events: 1 << 20 }).expect("read");
        assert_eq!((trace.events.len(), trace.over_limit), (5000, None));
    }
}
