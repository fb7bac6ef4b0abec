//! Fault points: named places inside the crate's pipe and queue operations where a test harness
//! can make this process die or pause, to check what survives (the scenario harness's
//! `harness run --faults SEED`; `docs/reliability.md`, "Fault injection").
//!
//! A program arms one point ([`arm`]): which [`Point`], at which of its hits (the `nth` time an
//! operation passes it, counted from the arming), and what then happens ([`Action`]): the
//! process is killed (SIGKILL on Unix, `TerminateProcess` on Windows: no destructor, no flush,
//! as when another process kills it), or the thread pauses. The point fires once, then disarms
//! itself. An arming holds only in the process that made it (a child forked afterwards is not
//! armed by it) and, if asked, only in the thread that made it. Just before acting, the
//! function given to [`on_fire`] is called with what fired (the harness records an event).
//!
//! Off, which is the state of every program that never calls [`arm`], a point costs one relaxed
//! atomic load and a branch that is not taken (`docs/reliability.md`, "Fault injection", has
//! the measurement: no difference beyond the noise).

use std::cell::Cell;
use std::io::{self, IoSlice, Read, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A named place inside an operation. The names are stable: a fault plan names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Point {
    /// [`PipeEnd::send`](crate::PipeEnd::send) or `send_bytes`: the message encoded and within
    /// its limit, nothing of it written yet.
    #[serde(rename = "pipe.send.begin")]
    PipeSendBegin,
    /// `send` or `send_bytes`: the first half of the first write of the message done (its
    /// header and, for a small message, part of its body), the rest not yet.
    #[serde(rename = "pipe.send.half")]
    PipeSendHalf,
    /// [`PipeEnd::recv`](crate::PipeEnd::recv) (and `recv_bytes`, `recv_timeout`...): the first
    /// bytes of a message read (its header, or part of it), the rest not yet.
    #[serde(rename = "pipe.recv.half")]
    PipeRecvHalf,
    /// [`Queue::put`](crate::Queue::put) (and `put_timeout`, `put_nowait`): the queue open,
    /// nothing of the value counted, encoded or written yet.
    #[serde(rename = "queue.put.begin")]
    QueuePutBegin,
    /// A message's record copied into the queue's ring under the write lock, not yet committed
    /// (readers cannot see it): in the putting thread when the ring has room at once, else in
    /// its feeder thread; `SimpleQueue::put` too. For a message larger than the ring, its
    /// first piece.
    #[serde(rename = "queue.put.half")]
    QueuePutHalf,
    /// [`Queue::get`](crate::Queue::get) (and its variants, `SimpleQueue` and
    /// `JoinableQueue` too): a whole message found and decoded under the read lock, not yet
    /// released from the ring (a reader killed here leaves it to the next reader). For a
    /// message larger than the ring, its first piece taken and the rest not yet (a reader
    /// killed here loses that message; the next reader skips its remaining pieces).
    #[serde(rename = "queue.get.half")]
    QueueGetHalf,
}

impl Point {
    pub const ALL: [Point; 6] = [
        Point::PipeSendBegin,
        Point::PipeSendHalf,
        Point::PipeRecvHalf,
        Point::QueuePutBegin,
        Point::QueuePutHalf,
        Point::QueueGetHalf,
    ];

    /// The point's stable name: `pipe.send.half`.
    pub fn name(self) -> &'static str {
        match self {
            Point::PipeSendBegin => "pipe.send.begin",
            Point::PipeSendHalf => "pipe.send.half",
            Point::PipeRecvHalf => "pipe.recv.half",
            Point::QueuePutBegin => "queue.put.begin",
            Point::QueuePutHalf => "queue.put.half",
            Point::QueueGetHalf => "queue.get.half",
        }
    }

    pub fn parse(name: &str) -> Option<Point> {
        Point::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Its number in the armed state (never 0: 0 is "none").
    fn code(self) -> u8 {
        Point::ALL.iter().position(|p| *p == self).map_or(u8::MAX, |i| i as u8 + 1)
    }
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What happens when an armed point fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The whole process ends at once: SIGKILL (Unix), `TerminateProcess` (Windows).
    Kill,
    /// The thread that reached the point sleeps this long, then goes on.
    Delay { ms: u64 },
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Kill if cfg!(windows) => f.write_str("kill (TerminateProcess)"),
            Action::Kill => f.write_str("kill (SIGKILL)"),
            Action::Delay { ms } => write!(f, "delay {ms} ms"),
        }
    }
}

/// One arming: fire `action` at the `nth` hit (from 1) of `point`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arming {
    pub point: Point,
    pub nth: u64,
    pub action: Action,
    /// Only hits in the thread that arms count (threads of one process that must not be hit).
    pub this_thread_only: bool,
}

/// What fired, as given to the [`on_fire`] function just before the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    pub point: Point,
    pub nth: u64,
    pub action: Action,
}

impl Fired {
    /// Tells the [`on_fire`] function, then acts: kills the process, or sleeps.
    fn act(self) {
        if let Some(notify) = NOTIFY.get() {
            notify(&self);
        }
        perform(self.action);
    }
}

// The armed state is plain atomics (no lock), so that a fork at any moment leaves the child a
// consistent, harmless copy: the pid recorded at arming does not match the child's.
static ARMED: AtomicBool = AtomicBool::new(false);
static POINT: AtomicU8 = AtomicU8::new(0);
static NTH: AtomicU64 = AtomicU64::new(0);
static HITS: AtomicU64 = AtomicU64::new(0);
static PID: AtomicU32 = AtomicU32::new(0);
/// 0: kill; otherwise the delay in milliseconds, plus one.
static ACTION: AtomicU64 = AtomicU64::new(0);
/// The arming's number: a thread-only arming counts hits in the thread that holds it.
static GENERATION: AtomicU64 = AtomicU64::new(0);
static THREAD_ONLY: AtomicBool = AtomicBool::new(false);
static NOTIFY: OnceLock<fn(&Fired)> = OnceLock::new();

thread_local! {
    /// The generation of the thread-only arming this thread made (0: none).
    static MINE: Cell<u64> = const { Cell::new(0) };
}

/// Arms one point, replacing any earlier arming of this process; hits are counted from here.
pub fn arm(arming: Arming) {
    ARMED.store(false, Ordering::SeqCst);
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    POINT.store(arming.point.code(), Ordering::SeqCst);
    NTH.store(arming.nth, Ordering::SeqCst);
    HITS.store(0, Ordering::SeqCst);
    PID.store(crate::os::current_pid(), Ordering::SeqCst);
    let action = match arming.action {
        Action::Kill => 0,
        Action::Delay { ms } => ms.saturating_add(1),
    };
    ACTION.store(action, Ordering::SeqCst);
    THREAD_ONLY.store(arming.this_thread_only, Ordering::SeqCst);
    MINE.with(|m| m.set(if arming.this_thread_only { generation } else { 0 }));
    ARMED.store(true, Ordering::SeqCst);
}

/// Disarms whatever is armed (nothing fires afterwards).
pub fn disarm() {
    ARMED.store(false, Ordering::SeqCst);
    MINE.with(|m| m.set(0));
}

/// Whether a point is armed in this process and has not fired yet.
pub fn is_armed() -> bool {
    ARMED.load(Ordering::SeqCst) && PID.load(Ordering::SeqCst) == crate::os::current_pid()
}

/// The hits of the armed point counted since the arming (in the armed process and thread).
pub fn hits() -> u64 {
    HITS.load(Ordering::SeqCst)
}

/// Sets the function told about a firing just before its action (once per process; later
/// calls are ignored). It runs in the thread that reached the point; for a `kill` it is the
/// last thing the process does.
pub fn on_fire(notify: fn(&Fired)) {
    let _ = NOTIFY.set(notify);
}

/// Does what an action does, here and now: for [`Action::Kill`] this never returns.
pub fn perform(action: Action) {
    match action {
        Action::Kill => crate::os::kill_self(),
        Action::Delay { ms } => std::thread::sleep(Duration::from_millis(ms)),
    }
}

/// An operation passes `point`: fires there if it is the armed point's `nth` hit.
#[inline]
pub(crate) fn hit(point: Point) {
    if ARMED.load(Ordering::Relaxed)
        && let Some(fired) = arrive(point)
    {
        fired.act();
    }
}

/// Counts a hit of `point` where it is armed; the firing, if this hit is the one.
#[cold]
fn arrive(point: Point) -> Option<Fired> {
    if !ARMED.load(Ordering::Acquire)
        || POINT.load(Ordering::SeqCst) != point.code()
        || PID.load(Ordering::SeqCst) != crate::os::current_pid()
    {
        return None;
    }
    if THREAD_ONLY.load(Ordering::SeqCst) && MINE.with(Cell::get) != GENERATION.load(Ordering::SeqCst) {
        return None;
    }
    let nth = NTH.load(Ordering::SeqCst);
    if HITS.fetch_add(1, Ordering::SeqCst) + 1 != nth || !ARMED.swap(false, Ordering::SeqCst) {
        return None;
    }
    let action = match ACTION.load(Ordering::SeqCst) {
        0 => Action::Kill,
        n => Action::Delay { ms: n - 1 },
    };
    Some(Fired { point, nth, action })
}

/// A writer whose first write, when `point` fires there, writes half and then fires: a
/// message cut in its middle. Otherwise it writes through unchanged.
#[derive(Debug)]
pub(crate) struct SplitWrite<W> {
    inner: W,
    point: Option<Point>,
}

/// Wraps the writer of one message (one hit of `point` per message).
#[inline]
pub(crate) fn split_write<W: Write>(inner: W, point: Point) -> SplitWrite<W> {
    SplitWrite { inner, point: ARMED.load(Ordering::Relaxed).then_some(point) }
}

impl<W: Write> SplitWrite<W> {
    /// Writes the first half of `bytes` (at least one byte of a non-empty write) and fires.
    fn half_then_fire(&mut self, bytes: &[u8], fired: Fired) -> io::Result<usize> {
        let half = bytes.len().div_ceil(2);
        self.inner.write_all(&bytes[..half])?;
        self.inner.flush()?;
        fired.act();
        Ok(half)
    }
}

impl<W: Write> Write for SplitWrite<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty()
            && let Some(point) = self.point.take()
            && let Some(fired) = arrive(point)
        {
            return self.half_then_fire(buf, fired);
        }
        self.inner.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if bufs.iter().any(|b| !b.is_empty())
            && let Some(point) = self.point.take()
            && let Some(fired) = arrive(point)
        {
            // Half of everything this write was given (the header and the body together).
            let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            return self.half_then_fire(&joined, fired);
        }
        self.inner.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that fires `point` (when it is the one) after the first read that returns bytes:
/// a message begun and not finished.
#[derive(Debug)]
pub(crate) struct SplitRead<R> {
    inner: R,
    point: Option<Point>,
}

/// Wraps the reader of one message (one hit of `point` per message that has bytes).
#[inline]
pub(crate) fn split_read<R: Read>(inner: R, point: Point) -> SplitRead<R> {
    SplitRead { inner, point: ARMED.load(Ordering::Relaxed).then_some(point) }
}

impl<R: Read> Read for SplitRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0
            && let Some(point) = self.point.take()
            && let Some(fired) = arrive(point)
        {
            fired.act();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The armed state is the process's: these tests take turns.
    static TURN: Mutex<()> = Mutex::new(());

    fn turn() -> std::sync::MutexGuard<'static, ()> {
        TURN.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn delay(point: Point, nth: u64, this_thread_only: bool) -> Arming {
        Arming { point, nth, action: Action::Delay { ms: 0 }, this_thread_only }
    }

    #[test]
    fn names_are_stable_and_parse_back() {
        for p in Point::ALL {
            assert_eq!(Point::parse(p.name()), Some(p));
            assert_eq!(serde_json::to_string(&p).expect("json"), format!("\"{}\"", p.name()));
        }
        assert_eq!(Point::parse("pipe.send.nowhere"), None);
    }

    #[test]
    fn a_point_fires_at_its_nth_hit_once_and_only_that_point() {
        let _t = turn();
        arm(delay(Point::PipeSendBegin, 3, false));
        hit(Point::PipeRecvHalf);
        assert_eq!(hits(), 0, "another point does not count");
        hit(Point::PipeSendBegin);
        hit(Point::PipeSendBegin);
        assert!(is_armed());
        hit(Point::PipeSendBegin);
        assert!(!is_armed(), "fired at the third hit, then disarmed");
        hit(Point::PipeSendBegin);
        assert_eq!(hits(), 3, "nothing counts once it fired");
        disarm();
    }

    #[test]
    fn a_thread_only_arming_ignores_other_threads() {
        let _t = turn();
        arm(delay(Point::PipeRecvHalf, 1, true));
        std::thread::spawn(|| hit(Point::PipeRecvHalf)).join().expect("thread");
        assert!(is_armed(), "another thread's hit does not count");
        assert_eq!(hits(), 0);
        hit(Point::PipeRecvHalf);
        assert!(!is_armed());
        arm(delay(Point::PipeRecvHalf, 1, false));
        std::thread::spawn(|| hit(Point::PipeRecvHalf)).join().expect("thread");
        assert!(!is_armed(), "a process-wide arming counts every thread");
    }

    #[test]
    fn disarmed_points_count_nothing() {
        let _t = turn();
        arm(delay(Point::PipeSendHalf, 1, false));
        disarm();
        hit(Point::PipeSendHalf);
        assert_eq!(hits(), 0);
        let mut out = Vec::new();
        split_write(&mut out, Point::PipeSendHalf).write_all(b"abcdef").expect("write");
        assert_eq!(out, b"abcdef");
    }

    #[test]
    fn a_split_write_writes_half_then_the_rest() {
        let _t = turn();
        arm(delay(Point::PipeSendHalf, 2, false));
        let mut first = Vec::new();
        split_write(&mut first, Point::PipeSendHalf).write_all(b"0123456789").expect("write");
        assert!(is_armed(), "the first message is the first hit");
        let mut w = split_write(Vec::new(), Point::PipeSendHalf);
        let n = w.write_vectored(&[IoSlice::new(b"head"), IoSlice::new(b"body-")]).expect("write");
        assert_eq!(n, 5, "half of nine bytes, rounded up, across both slices");
        assert!(!is_armed(), "fired after the half");
        w.write_all(b"ody-").expect("rest");
        assert_eq!(w.inner, b"headbody-");
        assert_eq!(first, b"0123456789");
    }

    #[test]
    fn a_split_read_fires_after_the_first_bytes() {
        let _t = turn();
        arm(delay(Point::PipeRecvHalf, 1, false));
        let mut r = split_read(&b""[..], Point::PipeRecvHalf);
        assert_eq!(r.read(&mut [0u8; 4]).expect("read"), 0);
        assert!(is_armed(), "an end of file is no hit");
        let mut r = split_read(&b"abc"[..], Point::PipeRecvHalf);
        assert_eq!(r.read(&mut [0u8; 2]).expect("read"), 2);
        assert!(!is_armed());
    }

    #[test]
    fn the_notifier_hears_of_a_firing_before_its_action() {
        static HEARD: Mutex<Vec<Fired>> = Mutex::new(Vec::new());
        fn heard(f: &Fired) {
            HEARD.lock().unwrap_or_else(|p| p.into_inner()).push(*f);
        }
        let _t = turn();
        on_fire(heard);
        arm(Arming { point: Point::PipeSendBegin, nth: 1, action: Action::Delay { ms: 5 }, this_thread_only: true });
        hit(Point::PipeSendBegin);
        let got = HEARD.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(
            got,
            [Fired { point: Point::PipeSendBegin, nth: 1, action: Action::Delay { ms: 5 } }],
            "told once, with what fired"
        );
    }
}
