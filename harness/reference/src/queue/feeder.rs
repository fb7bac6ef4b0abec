//! What makes `put` on an unbounded queue never wait: a message that cannot be written at once
//! (the ring is full, or another writer holds the lock) joins this process's backlog for the
//! queue, and a feeder thread, started on demand, writes the backlog in order, in batches, and
//! ends when it is empty (so a process that is done putting is single-threaded again and can
//! fork). As in CPython, the feeder is joined when the process exits: by dropping the last
//! handle of the queue in the process, when a forked child's entry returns (it ends with
//! `_exit`), and at `exit` (an `atexit` handler; on Windows only when `main` returns), unless [`cancel_join_thread`](super::Queue::cancel_join_thread) was
//! called.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, Weak};

use serde::Serialize;

use super::channel::Channel;
use crate::error::ChannelError;

#[derive(Debug, Default)]
pub(crate) struct Feeder {
    state: Mutex<State>,
    /// Signalled when the backlog is written out.
    drained: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The process this state belongs to: a forked child inherits a copy of its parent's,
    /// whose backlog and thread are not its own.
    pid: u32,
    backlog: VecDeque<Vec<u8>>,
    /// Messages the feeder took from the backlog and is writing.
    writing: usize,
    /// A feeder thread is writing (or about to).
    running: bool,
    cancelled: bool,
    /// The first error the feeder met (the frames it held are dropped), for the next `put`.
    error: Option<String>,
}

impl Feeder {
    fn state(&self) -> MutexGuard<'_, State> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let me = crate::os::current_pid();
        if s.pid != me {
            *s = State { pid: me, ..State::default() };
        }
        s
    }

    /// Writes `value` into the ring now if nothing of this process waits before it and that
    /// needs no waiting (encoded in place, no copy), else encodes it and queues it for the
    /// feeder (see [`put`](Self::put)).
    pub(crate) fn put_value<T: Serialize + ?Sized>(
        &self,
        chan: &Arc<Channel>,
        me: &Arc<Feeder>,
        value: &T,
    ) -> Result<(), ChannelError> {
        // Checked, then released before the value's `Serialize` runs (it may put again). A
        // put of another thread may slip in between: threads' puts have no order anyway, and
        // this thread's own earlier values are either in the ring or keep the feeder running.
        if self.idle() && chan.try_send_value(value)? {
            return Ok(());
        }
        let frame = chan.encode(value)?;
        self.put(chan, me, frame)
    }

    /// Nothing of this process is waiting to be written, and no error to report.
    fn idle(&self) -> bool {
        let s = self.state();
        !s.running && s.backlog.is_empty() && s.error.is_none()
    }

    /// Writes `frame` now if it can, else queues it for the feeder (started if needed).
    pub(crate) fn put(&self, chan: &Arc<Channel>, me: &Arc<Feeder>, frame: Vec<u8>) -> Result<(), ChannelError> {
        let mut s = self.state();
        if let Some(e) = s.error.take() {
            return Err(ChannelError::Corrupt(format!("the feeder thread failed: {e}")));
        }
        // Holding the state while trying keeps this process's frames in order: nothing joins
        // the backlog meanwhile, and a running feeder means the backlog goes first.
        if !s.running && s.backlog.is_empty() && chan.try_send(&frame)? {
            return Ok(());
        }
        s.backlog.push_back(frame);
        if !s.running {
            s.running = true;
            register_for_exit(me);
            let (chan, me) = (chan.clone(), me.clone());
            let started = std::thread::Builder::new().name("queue-feeder".into()).spawn(move || me.run(&chan));
            if let Err(e) = started {
                s.running = false;
                s.backlog.pop_back();
                return Err(e.into());
            }
        }
        Ok(())
    }

    fn run(&self, chan: &Channel) {
        loop {
            let batch: Vec<Vec<u8>> = {
                let mut s = self.state();
                if s.backlog.is_empty() {
                    s.running = false;
                    self.drained.notify_all();
                    return;
                }
                s.writing = s.backlog.len();
                s.backlog.drain(..).collect()
            };
            let frames: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            let sent = chan.send_all(&frames);
            let mut s = self.state();
            s.writing = 0;
            if let Err(e) = sent {
                s.error.get_or_insert(e.to_string());
            }
        }
    }

    /// Waits until everything this process put is in the ring (unless cancelled).
    pub(crate) fn flush(&self) {
        let mut s = self.state();
        while (s.running || !s.backlog.is_empty()) && !s.cancelled {
            s = self.drained.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub(crate) fn cancel_join(&self) {
        self.state().cancelled = true;
        self.drained.notify_all();
    }

    /// Messages this process put that are not in the ring yet: in the backlog, or being
    /// written by the feeder.
    pub(crate) fn pending(&self) -> usize {
        let s = self.state();
        s.backlog.len() + s.writing
    }
}

/// Feeders of this process that have run, flushed by the `atexit` handler.
static LIVE: Mutex<Vec<Weak<Feeder>>> = Mutex::new(Vec::new());

fn register_for_exit(feeder: &Arc<Feeder>) {
    let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    live.retain(|w| w.strong_count() > 0);
    if !live.iter().any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(feeder))) {
        live.push(Arc::downgrade(feeder));
    }
    drop(live);
    at_exit_once();
}

/// Waits until every feeder of this process has written its backlog (unless cancelled), as
/// CPython's exit does; also called where a forked child ends with `_exit`, which runs no
/// `atexit` handler. A forked child's inherited feeders hold nothing of its own (see
/// [`Feeder::state`]), so only its own puts are waited for.
pub(crate) fn flush_all() {
    let live: Vec<Arc<Feeder>> = {
        let live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        live.iter().filter_map(Weak::upgrade).collect()
    };
    for f in live {
        f.flush();
    }
}

fn at_exit_once() {
    static ONCE: Once = Once::new();
    extern "C" fn at_exit() {
        flush_all();
    }
    ONCE.call_once(|| c_atexit(at_exit));
}

/// The C runtime's `atexit`: its handlers run in `exit` (returning from `main`,
/// `std::process::exit` on Unix), while the other threads still run. On Windows,
/// `std::process::exit` ends the other threads and skips these handlers, so only a return
/// from `main` (or dropping the queue) flushes there.
fn c_atexit(f: extern "C" fn()) {
    #[cfg(unix)]
    use libc::atexit;
    #[cfg(windows)]
    unsafe extern "C" {
        fn atexit(f: extern "C" fn()) -> i32;
    }
    // SAFETY: `f` is a plain function that stays valid for the life of the process; atexit
    // only records it.
    unsafe { atexit(f) };
}
