//! The fork server (Unix): a small single-threaded process, started once per program, from
//! which the workers of pools started by fork are forked. Modelled on CPython's `forkserver`.
//!
//! - **When and how it starts**: at the first pool started by fork (or at
//!   [`start_fork_server`](crate::start_fork_server)), by spawn: this executable again, which
//!   goes from [`dispatch`](crate::dispatch) straight into the server loop. A fresh process is
//!   small (forking it copies few page tables, which is most of a fork's cost) and
//!   single-threaded, so it can fork safely whatever the parent does, and the parent may be
//!   multi-threaded (a pool is: one feeder thread per worker). It lives as long as the program:
//!   it exits, killing the workers it still has, when the program's end of its socket closes.
//! - **Asking for a worker**: the pool sends a request over a Unix socket with the worker's
//!   two pipe ends and its own current stdin, stdout and stderr attached (`SCM_RIGHTS`); the
//!   server forks, the worker puts those on 0, 1 and 2, closes everything else and serves.
//!   Several requests can be in flight: a new pool asks for all its workers at once.
//! - **Learning of exits**: the server is the workers' parent, not the pool. It reaps them (on
//!   `SIGCHLD`, through a self-pipe) and reports each exit status on the socket; the pool reads
//!   those reports when it waits for a worker, and kills a worker by asking the server, which
//!   signals only a child it has not reaped (so never a reused pid).

use std::collections::{HashMap, HashSet};
use std::io::{self, PipeReader, PipeWriter};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};
use serde::{Deserialize, Serialize};

use super::worker::{Init, serve};
use crate::entry::{self, Entry};
use crate::error::PoolError;
use crate::os::{self, fdpass};
use crate::process::{Process, StartMethod};
use crate::token::{Adopted, Exported};

/// The largest control message (a request holds names and an initializer's arguments).
const MESSAGE_LIMIT: usize = 64 << 20;
/// How long a pool waits for the server to answer a request for workers.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize, Deserialize)]
enum ToServer {
    /// Fork a worker. Attached: its request reader and result writer, then the stdio
    /// descriptors marked present in `stdio`. `batch`: how many workers the pool asks for
    /// at once (the server keeps as many spares ready for the next pool).
    Fork { id: u64, name: String, init: Option<Init>, limit: usize, stdio: [bool; 3], batch: usize },
    /// Kill worker `pid` if it is still running.
    Kill { pid: u32 },
}

#[derive(Debug, Serialize, Deserialize)]
enum FromServer {
    Forked { id: u64, pid: u32 },
    ForkFailed { id: u64, reason: String },
    Exited { pid: u32, code: i32 },
}

fn encode<T: Serialize>(msg: &T) -> io::Result<Vec<u8>> {
    serde_json::to_vec(msg).map_err(io::Error::other)
}

// ---- the server ----

/// The server's end of its socket, passed to it at spawn.
pub(crate) struct Control(UnixStream);

impl Serialize for Control {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Exported(self.0.as_fd()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Control {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Control(UnixStream::from(Adopted::deserialize(d)?.0)))
    }
}

/// The entry the spawned server runs (registered by the crate itself).
pub(crate) static SERVER_ENTRY: Entry<Control> = Entry::new("procthread::fork-server", |control| {
    let code = match run_server(control.0) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("procthread: fork server: {e}");
            1
        }
    };
    std::process::exit(code)
});

/// The write end of the server's `SIGCHLD` self-pipe, for the signal handler.
static SIGNAL_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigchld(_: libc::c_int) {
    let saved = Errno::last_raw();
    let fd = SIGNAL_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: `write` is async-signal-safe; the buffer is a live local byte.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    Errno::set_raw(saved);
}

/// The most spare workers the server keeps forked ahead.
const MAX_SPARES: usize = 8;

/// What a new worker is told: its name and how to serve. Its pipes and stdio come attached.
#[derive(Debug, Serialize, Deserialize)]
struct Assign {
    name: String,
    init: Option<Init>,
    limit: usize,
    stdio: [bool; 3],
}

/// A worker forked ahead of need, waiting on its socket for an [`Assign`].
struct Spare {
    pid: i32,
    sock: UnixStream,
}

struct Server {
    control: UnixStream,
    wake_r: PipeReader,
    /// Assigned workers, whose exits the program hears about.
    workers: HashSet<i32>,
    spares: std::collections::VecDeque<Spare>,
    /// How many spares to keep: the most workers one pool asked for at once (bounded).
    target: usize,
}

fn run_server(control: UnixStream) -> io::Result<()> {
    let (wake_r, wake_w) = io::pipe()?;
    os::set_nonblocking(&wake_r)?;
    set_nonblocking_fd(wake_w.as_fd())?;
    SIGNAL_FD.store(wake_w.as_raw_fd(), Ordering::Relaxed);
    let action =
        SigAction::new(SigHandler::Handler(on_sigchld), SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP, SigSet::empty());
    // SAFETY: the handler only calls `write` (async-signal-safe) on a descriptor that lives
    // as long as this function (`wake_w` is dropped only when it returns).
    unsafe { sigaction(Signal::SIGCHLD, &action) }.map_err(io::Error::from)?;
    let mut server = Server { control, wake_r, workers: HashSet::new(), spares: Default::default(), target: 0 };
    // A failure to talk to the program means it is gone (or closed its end): so are we, and
    // our workers with us.
    let _ = server.serve();
    server.shutdown();
    drop(wake_w);
    Ok(())
}

impl Server {
    fn serve(&mut self) -> io::Result<()> {
        loop {
            // With nothing asked of us, fork the spares we lack, one per turn, so that a
            // request waits for at most one fork.
            let lacking = self.spares.len() < self.target;
            let (control_ready, wake_ready) = {
                let mut fds = [
                    PollFd::new(self.control.as_fd(), PollFlags::POLLIN),
                    PollFd::new(self.wake_r.as_fd(), PollFlags::POLLIN),
                ];
                let timeout = if lacking { PollTimeout::ZERO } else { PollTimeout::NONE };
                match poll(&mut fds, timeout) {
                    Ok(_) => {}
                    Err(Errno::EINTR) => continue,
                    Err(e) => return Err(e.into()),
                }
                let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
                (ready(&fds[0]), ready(&fds[1]))
            };
            if wake_ready {
                let mut buf = [0u8; 64];
                while matches!(io::Read::read(&mut &self.wake_r, &mut buf), Ok(n) if n > 0) {}
            }
            // Reap on every turn, not only on a wake-up: signals coalesce.
            self.reap()?;
            if control_ready {
                match fdpass::recv_message(&self.control, MESSAGE_LIMIT)? {
                    Some((body, fds)) => self.handle(&body, fds)?,
                    None => return Ok(()),
                }
            } else if lacking && self.fork_spare().is_err() {
                self.target = self.spares.len();
            }
        }
    }

    fn shutdown(&mut self) {
        for pid in self.workers.iter().copied().chain(self.spares.iter().map(|s| s.pid)) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }

    /// Reaps every child that has exited, and reports the workers among them.
    fn reap(&mut self) -> io::Result<()> {
        loop {
            match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(()),
                Ok(status) => {
                    let Some(pid) = status.pid().map(Pid::as_raw) else { continue };
                    let Some(code) = os::exitcode_from_wait(status) else { continue };
                    self.spares.retain(|s| s.pid != pid);
                    if self.workers.remove(&pid) {
                        let msg = encode(&FromServer::Exited { pid: pid as u32, code })?;
                        fdpass::send_message(&self.control, &msg, &[])?;
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn handle(&mut self, body: &[u8], fds: Vec<OwnedFd>) -> io::Result<()> {
        let msg: ToServer = serde_json::from_slice(body).map_err(io::Error::other)?;
        match msg {
            ToServer::Kill { pid } => {
                // Only a worker not yet reaped: its pid cannot have been reused.
                if self.workers.contains(&(pid as i32)) {
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                }
            }
            ToServer::Fork { id, name, init, limit, stdio, batch } => {
                self.target = self.target.max(batch.min(MAX_SPARES));
                let assign = Assign { name, init, limit, stdio };
                let reply = match self.start_worker(&assign, fds) {
                    Ok(pid) => {
                        self.workers.insert(pid);
                        FromServer::Forked { id, pid: pid as u32 }
                    }
                    Err(e) => FromServer::ForkFailed { id, reason: e.to_string() },
                };
                fdpass::send_message(&self.control, &encode(&reply)?, &[])?;
            }
        }
        Ok(())
    }

    /// A worker for `assign`: a spare if there is one, else a fresh fork.
    fn start_worker(&mut self, assign: &Assign, fds: Vec<OwnedFd>) -> io::Result<i32> {
        let expected = 2 + assign.stdio.iter().filter(|&&s| s).count();
        if fds.len() != expected {
            return Err(io::Error::other(format!(
                "a fork request carries {} descriptors, expected {expected}",
                fds.len()
            )));
        }
        let body = encode(assign)?;
        let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(|f| f.as_fd()).collect();
        while let Some(spare) = self.spares.pop_front() {
            if fdpass::send_message(&spare.sock, &body, &borrowed).is_ok() {
                return Ok(spare.pid);
            }
            // A spare that cannot be reached is of no use: it is reaped when it dies.
            let _ = kill(Pid::from_raw(spare.pid), Signal::SIGKILL);
        }
        // SAFETY: the server is single-threaded (a fresh process running only this loop), so
        // the child inherits no lock held by another thread.
        match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
            ForkResult::Parent { child } => Ok(child.as_raw()),
            ForkResult::Child => become_worker(assign, fds),
        }
    }

    /// Forks a spare: it waits on a socket of its own for an assignment.
    fn fork_spare(&mut self) -> io::Result<()> {
        let (mine, theirs) = UnixStream::pair()?;
        // SAFETY: as in `start_worker`: the server is single-threaded.
        match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
            ForkResult::Parent { child } => {
                drop(theirs);
                self.spares.push_back(Spare { pid: child.as_raw(), sock: mine });
                Ok(())
            }
            ForkResult::Child => {
                let keep = theirs.as_raw_fd();
                // From here this child owns only `theirs`; the server's records are forgotten,
                // not dropped (their descriptors are closed just below).
                std::mem::forget(mine);
                let sock = theirs;
                os::close_fds_except(&[keep as u64]);
                let code = match fdpass::recv_message(&sock, MESSAGE_LIMIT) {
                    Ok(Some((body, fds))) => match serde_json::from_slice::<Assign>(&body) {
                        Ok(assign) => {
                            drop(sock);
                            become_worker(&assign, fds)
                        }
                        Err(_) => 1,
                    },
                    // The server is gone before we were needed.
                    _ => 0,
                };
                crate::fork::exit_child(code)
            }
        }
    }
}

fn set_nonblocking_fd(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
    Ok(())
}

/// In a child of the server: take the assignment's pipes and stdio, close everything else,
/// serve, exit. Never returns.
fn become_worker(assign: &Assign, fds: Vec<OwnedFd>) -> ! {
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    // From here the child owns these numbers itself: the `OwnedFd`s must not close them.
    std::mem::forget(fds);
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: restoring the default disposition has no preconditions.
    let _ = unsafe { sigaction(Signal::SIGCHLD, &default) };
    if raw.len() < 2 {
        crate::fork::exit_child(1);
    }
    let mut next = 2;
    for (target, present) in assign.stdio.iter().enumerate() {
        if *present && next < raw.len() {
            // SAFETY: dup2 onto a standard descriptor from one we received (open).
            unsafe { libc::dup2(raw[next], target as RawFd) };
            next += 1;
        }
    }
    os::close_fds_except(&[raw[0] as u64, raw[1] as u64]);
    crate::fork::after_fork_in_child();
    entry::set_current_process(&assign.name, true);
    // SAFETY: kept open by close_fds_except and owned by nothing else in this child.
    let (reader, writer) =
        unsafe { (PipeReader::from(OwnedFd::from_raw_fd(raw[0])), PipeWriter::from(OwnedFd::from_raw_fd(raw[1]))) };
    let code = serve(reader, writer, assign.init.as_ref(), assign.limit);
    crate::queue::flush_feeders();
    crate::fork::exit_child(code)
}

// ---- the pool's side ----

/// What arrived from the server and is waiting to be picked up.
#[derive(Default)]
struct Inbox {
    /// A thread is reading the socket (the others wait on the condition variable).
    reading: bool,
    /// The server is gone: nothing more will arrive.
    broken: bool,
    forked: HashMap<u64, Result<u32, String>>,
    exited: HashMap<u32, i32>,
    /// Workers whose exit nobody will ask about: their report is dropped on arrival.
    dismissed: HashSet<u32>,
}

/// This program's connection to its fork server. Whichever thread needs an answer reads the
/// socket for everyone (no background thread, so the program stays single-threaded when no
/// pool runs, and can still fork).
pub(crate) struct Client {
    writer: Mutex<UnixStream>,
    reader: UnixStream,
    inbox: Mutex<Inbox>,
    changed: Condvar,
    next_id: AtomicU64,
    server: Process,
}

impl Client {
    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, msg: &ToServer, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        let body = encode(msg)?;
        let w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        fdpass::send_message(&w, &body, fds)
    }

    fn is_broken(&self) -> bool {
        self.inbox().broken
    }

    /// Waits until `take` finds what it wants in the inbox, reading the socket meanwhile;
    /// `None` at the timeout or when the server is gone.
    fn wait_for<T>(&self, timeout: Duration, mut take: impl FnMut(&mut Inbox) -> Option<T>) -> Option<T> {
        let deadline = Instant::now().checked_add(timeout);
        let mut g = self.inbox();
        loop {
            if let Some(v) = take(&mut g) {
                return Some(v);
            }
            if g.broken {
                return None;
            }
            let left = os::remaining(deadline);
            if left.is_some_and(|l| l.is_zero()) {
                return None;
            }
            if g.reading {
                g = match left {
                    None => self.changed.wait(g).unwrap_or_else(|p| p.into_inner()),
                    Some(l) => self.changed.wait_timeout(g, l).unwrap_or_else(|p| p.into_inner()).0,
                };
                continue;
            }
            g.reading = true;
            drop(g);
            let got = self.read_one(left);
            g = self.inbox();
            g.reading = false;
            match got {
                Ok(Some(FromServer::Forked { id, pid })) => drop(g.forked.insert(id, Ok(pid))),
                Ok(Some(FromServer::ForkFailed { id, reason })) => drop(g.forked.insert(id, Err(reason))),
                Ok(Some(FromServer::Exited { pid, code })) => {
                    if !g.dismissed.remove(&pid) {
                        g.exited.insert(pid, code);
                    }
                }
                Ok(None) => {}
                Err(_) => g.broken = true,
            }
            self.changed.notify_all();
        }
    }

    /// One message from the server, if one comes within `left` (`None`: wait for it).
    fn read_one(&self, left: Option<Duration>) -> io::Result<Option<FromServer>> {
        let ready = os::wait_handles(&[self.reader.as_fd()], left)?;
        if ready.is_empty() {
            return Ok(None);
        }
        match fdpass::recv_message(&self.reader, MESSAGE_LIMIT)? {
            Some((body, _)) => Ok(Some(serde_json::from_slice(&body).map_err(io::Error::other)?)),
            None => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the fork server is gone")),
        }
    }
}

/// `(owner pid, client)`: a forked child finds its parent's client here and must not use it.
static CLIENT: Mutex<(u32, Option<Arc<Client>>)> = Mutex::new((0, None));

fn client_slot() -> MutexGuard<'static, (u32, Option<Arc<Client>>)> {
    let mut c = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
    let me = std::process::id();
    if c.0 != me {
        // Inherited through fork: the parent's socket, closed by the fork's clean-up or shared
        // with the parent; forgotten, never used or closed here.
        std::mem::forget(c.1.take());
        c.0 = me;
    }
    c
}

pub(crate) fn forget_inherited() {
    drop(client_slot());
}

/// This program's fork server, started if there is none yet (or the last one died).
pub(crate) fn client() -> Result<Arc<Client>, PoolError> {
    let mut slot = client_slot();
    if let Some(c) = slot.1.as_ref()
        && !c.is_broken()
    {
        return Ok(c.clone());
    }
    let c = Arc::new(start_server().map_err(|e| PoolError::WorkerStart(format!("cannot start the fork server: {e}")))?);
    slot.1 = Some(c.clone());
    Ok(c)
}

fn start_server() -> Result<Client, Box<dyn std::error::Error>> {
    let (mine, theirs) = UnixStream::pair()?;
    let mut server = Process::new(&SERVER_ENTRY, Control(theirs))
        .name("ForkServer")
        .daemon(true)
        .unlisted()
        .start_method(StartMethod::Spawn);
    server.start()?;
    Ok(Client {
        writer: Mutex::new(mine.try_clone()?),
        reader: mine,
        inbox: Mutex::new(Inbox::default()),
        changed: Condvar::new(),
        next_id: AtomicU64::new(1),
        server,
    })
}

/// A worker forked by the server.
pub(crate) struct Served {
    pid: u32,
    client: Arc<Client>,
}

impl Served {
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn kill(&self) {
        let _ = self.client.send(&ToServer::Kill { pid: self.pid }, &[]);
    }

    /// Nobody will wait for this worker's exit: forget its report (now or when it comes).
    pub(crate) fn dismiss(&self) {
        let mut inbox = self.client.inbox();
        if inbox.exited.remove(&self.pid).is_none() {
            inbox.dismissed.insert(self.pid);
        }
    }

    /// Its exit code, once the server reports it; `None` after `timeout` or if the server is gone.
    pub(crate) fn wait(&self, timeout: Duration) -> Option<i32> {
        self.client.wait_for(timeout, |inbox| inbox.exited.remove(&self.pid))
    }
}

/// A worker to fork: its name and the child's ends of its pipes.
pub(crate) struct Order {
    pub(crate) name: String,
    pub(crate) reader: PipeReader,
    pub(crate) writer: PipeWriter,
}

/// Requests sent to the server, whose answers are still to be read.
pub(crate) struct Pending {
    client: Option<Arc<Client>>,
    ids: Vec<Result<u64, PoolError>>,
}

/// Asks the server for several workers at once; [`Pending::collect`] reads the answers, so the
/// caller can do something else (start its threads) while the server forks.
pub(crate) fn request_workers(orders: Vec<Order>, init: Option<&Init>, limit: usize) -> Pending {
    let client = match client() {
        Ok(c) => c,
        Err(e) => return Pending { client: None, ids: orders.iter().map(|_| Err(e.clone())).collect() },
    };
    // Our stdio as it is now, where it is open: the worker writes where we write.
    let stdio: Vec<Option<BorrowedFd<'_>>> = (0..3)
        .map(|fd| {
            // SAFETY: 0, 1 and 2 are only borrowed for the sends below; fcntl on a closed
            // number fails cleanly (EBADF), and then the number is left out.
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
            nix::fcntl::fcntl(borrowed, nix::fcntl::FcntlArg::F_GETFD).is_ok().then_some(borrowed)
        })
        .collect();
    let present = [stdio[0].is_some(), stdio[1].is_some(), stdio[2].is_some()];
    let batch = orders.len();
    let ids = orders
        .into_iter()
        .map(|order| {
            let id = client.next_id.fetch_add(1, Ordering::Relaxed);
            let msg = ToServer::Fork { id, name: order.name, init: init.cloned(), limit, stdio: present, batch };
            let mut fds = vec![order.reader.as_fd(), order.writer.as_fd()];
            fds.extend(stdio.iter().flatten().copied());
            client.send(&msg, &fds).map(|()| id).map_err(|e| PoolError::WorkerStart(format!("fork server: {e}")))
        })
        .collect();
    Pending { client: Some(client), ids }
}

impl Pending {
    /// The workers, in the order asked for.
    pub(crate) fn collect(self) -> Vec<Result<Served, PoolError>> {
        let Pending { client, ids } = self;
        ids.into_iter()
            .map(|id| {
                let id = id?;
                let client = client.as_ref().ok_or_else(|| PoolError::WorkerStart("no fork server".into()))?;
                match client.wait_for(ANSWER_TIMEOUT, |inbox| inbox.forked.remove(&id)) {
                    Some(Ok(pid)) => Ok(Served { pid, client: client.clone() }),
                    Some(Err(reason)) => Err(PoolError::WorkerStart(format!("fork server: {reason}"))),
                    None => Err(PoolError::WorkerStart("the fork server did not answer".into())),
                }
            })
            .collect()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("server", &self.server.pid()).finish()
    }
}
