//! The operations measured, shared by `harness report` and the criterion benches: each is the
//! reference doing something, or the OS floor doing the same the most direct way.

#[cfg(unix)]
use std::io::{Read, Write};
use std::time::Instant;

use procthread::{Entry, PipeEnd, Process, Queue, StartMethod, Task, shared};

/// The argument that makes the harness exit at once: the "same binary" the floor spawns.
pub const EXIT_NOW: &str = "--exit-now";

pub static NOOP: Entry<()> = Entry::new("bench::noop", |()| {});
pub static NOOP_TASK: Task<u64, u64> = Task::new("bench::noop-task", |x| x);
pub static BURN_TASK: Task<u64, u64> = Task::new("bench::burn", burn);

/// Echoes every message from one queue to another until it receives `null`.
pub static QUEUE_ECHO: Entry<(Queue, Queue)> = Entry::new("bench::queue-echo", queue_echo);

/// Echoes every message on a pipe end until EOF.
pub static PIPE_ECHO: Entry<PipeEnd> = Entry::new("bench::pipe-echo", pipe_echo);

fn queue_echo((rx, tx): (Queue, Queue)) {
    while let Ok(Some(msg)) = rx.get::<Option<String>>() {
        if tx.put(&msg).is_err() {
            return;
        }
    }
}

fn pipe_echo(end: PipeEnd) {
    while let Ok(msg) = end.recv::<String>() {
        if end.send(&msg).is_err() {
            return;
        }
    }
}

/// Where the echo of a round trip runs: a process started by fork or spawn, or a thread of
/// this process (the same primitive between threads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Process(StartMethod),
    Thread,
}

/// A running echo, ended by the round trip's `Drop` (which first tells it to stop).
#[derive(Debug)]
enum Echo {
    Process(Process),
    Thread(std::thread::JoinHandle<()>),
}

impl Echo {
    fn start<A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static>(
        peer: Peer,
        entry: &'static Entry<A>,
        run: fn(A),
        args: A,
    ) -> Echo {
        match peer {
            Peer::Process(method) => {
                let mut child = Process::new(entry, args).start_method(method).daemon(true);
                child.start().expect("start echo");
                Echo::Process(child)
            }
            Peer::Thread => Echo::Thread(std::thread::spawn(move || run(args))),
        }
    }

    fn wait(self) {
        match self {
            Echo::Process(p) => drop(p.join()),
            Echo::Thread(t) => drop(t.join()),
        }
    }
}

/// Puts `count` small messages on the queue as fast as it can.
pub static QUEUE_FLOOD: Entry<(Queue, u64)> = Entry::new("bench::queue-flood", |(q, count)| {
    let msg = "x".repeat(16);
    for _ in 0..count {
        if q.put(&msg).is_err() {
            return;
        }
    }
});

/// Contends for a lock shared by processes: waits for its peer at the barrier, takes and
/// releases the lock `per` times, and reports when it started and ended (nanoseconds of the
/// system clock, which both processes share) on the queue.
pub static LOCK_CONTENDER: Entry<(shared::Lock, shared::Barrier, Queue, u64)> =
    Entry::new("bench::lock-contender", |(lock, barrier, out, per)| {
        if barrier.wait().is_err() {
            return;
        }
        let start = clock_ns();
        for _ in 0..per {
            lock.acquire();
            std::hint::black_box(&lock);
            let _ = lock.release();
        }
        let _ = out.put(&(start, clock_ns()));
    });

fn clock_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// Nanoseconds per acquisition of a shared lock by two processes started with `method`, each
/// taking it `per` times, from the first to pass the barrier to the last to finish (their
/// start-up is not counted).
pub fn shared_lock_contended(method: StartMethod, per: u64) -> f64 {
    let lock = shared::Lock::new().expect("shared lock");
    let barrier = shared::Barrier::new(2).expect("shared barrier");
    let out = Queue::new().expect("queue");
    let mut children: Vec<Process> = (0..2)
        .map(|_| Process::new(&LOCK_CONTENDER, (lock.clone(), barrier.clone(), out.clone(), per)).start_method(method))
        .collect();
    for c in &mut children {
        c.start().expect("start contender");
    }
    let spans: Vec<(u128, u128)> = (0..2).map(|_| out.get().expect("span")).collect();
    for c in &mut children {
        c.join().expect("join contender");
    }
    let first = spans.iter().map(|s| s.0).min().unwrap_or(0);
    let last = spans.iter().map(|s| s.1).max().unwrap_or(0);
    last.saturating_sub(first) as f64 / (2 * per) as f64
}

/// The chapter's distributed worker: squares tasks from a manager until it gets `-1`.
pub static MANAGER_WORKER: Entry<String> = Entry::new("bench::manager-worker", |address| {
    let Ok(client) = procthread::manager::Client::connect(address.as_str(), b"abc") else { return };
    let (tasks, results) = (client.queue("task"), client.queue("result"));
    while let Ok(n) = tasks.get::<i64>(None) {
        if n < 0 || results.put(&(n * n)).is_err() {
            return;
        }
    }
});

/// Tasks per second through a manager: this process puts `count` tasks, a worker process
/// squares them, this process reads the results (the chapter's master and worker).
pub fn manager_master_worker(count: i64) -> f64 {
    let m = chapter_manager();
    master_worker_rate(&m, &m.address().to_string(), count)
}

/// Tasks per second through a manager whose worker is `delay` away each way (through a
/// [`DelayProxy`](super::delay::DelayProxy)); the master is beside the manager. Otherwise as
/// [`manager_master_worker`].
pub fn manager_master_worker_delayed(count: i64, delay: std::time::Duration) -> f64 {
    let m = chapter_manager();
    let proxy = super::delay::DelayProxy::start(m.address(), delay).expect("delay proxy");
    master_worker_rate(&m, &proxy.address().to_string(), count)
}

/// The chapter's manager: a task and a result queue, key `abc`.
fn chapter_manager() -> procthread::manager::Manager {
    procthread::manager::Manager::builder()
        .queue("task")
        .queue("result")
        .authkey(b"abc".to_vec())
        .start()
        .expect("manager")
}

/// Starts a worker that reaches `m` at `worker_address`, then times `count` tasks put by this
/// process (beside `m`) and their results read back; the worker is stopped and joined after.
fn master_worker_rate(m: &procthread::manager::Manager, worker_address: &str, count: i64) -> f64 {
    let mut worker = Process::new(&MANAGER_WORKER, worker_address.to_string()).daemon(true);
    worker.start().expect("worker");
    let client = procthread::manager::Client::connect(m.address(), b"abc").expect("connect");
    let (tasks, results) = (client.queue("task"), client.queue("result"));
    let t = Instant::now();
    for n in 0..count {
        tasks.put(&n).expect("put");
    }
    for _ in 0..count {
        let _: i64 = results.get(None).expect("result");
    }
    let rate = count as f64 / t.elapsed().as_secs_f64();
    tasks.put(&-1i64).expect("stop");
    let _ = worker.join();
    rate
}

/// CPU-bound work of `n` steps (a xorshift walk the optimizer cannot skip).
pub fn burn(n: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ n;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

pub fn start_join(method: StartMethod) {
    let mut p = Process::new(&NOOP, ()).start_method(method);
    p.start().expect("start");
    p.join().expect("join");
}

pub fn exe() -> std::path::PathBuf {
    std::env::current_exe().expect("current executable")
}

/// The floor for spawn: this same binary started and waited for with `std::process`.
pub fn spawn_floor() {
    std::process::Command::new(exe()).arg(EXIT_NOW).status().expect("spawn");
}

/// The floor for fork: raw `fork`, `_exit(0)` in the child, `waitpid` in the parent.
#[cfg(unix)]
pub fn fork_floor() {
    // SAFETY: the measuring process is single-threaded, and the child only calls `_exit`.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        // SAFETY: `_exit` is async-signal-safe.
        nix::unistd::ForkResult::Child => unsafe { libc_exit() },
        nix::unistd::ForkResult::Parent { child } => {
            nix::sys::wait::waitpid(child, None).expect("waitpid");
        }
    }
}

#[cfg(unix)]
unsafe fn libc_exit() -> ! {
    unsafe extern "C" {
        fn _exit(code: i32) -> !;
    }
    // SAFETY: `_exit` ends the process; it has no preconditions.
    unsafe { _exit(0) }
}

/// A reference queue round trip with an echo process or thread.
#[derive(Debug)]
pub struct QueueRoundTrip {
    to: Queue,
    from: Queue,
    echo: Option<Echo>,
}

impl QueueRoundTrip {
    pub fn start(peer: Peer) -> QueueRoundTrip {
        let (to, from) = (Queue::new().expect("queue"), Queue::new().expect("queue"));
        let echo = Echo::start(peer, &QUEUE_ECHO, queue_echo, (to.clone(), from.clone()));
        QueueRoundTrip { to, from, echo: Some(echo) }
    }

    pub fn round_trip(&self, msg: &str) {
        self.to.put(&Some(msg)).expect("put");
        let back: String = self.from.get().expect("get");
        debug_assert_eq!(back.len(), msg.len());
    }
}

impl Drop for QueueRoundTrip {
    fn drop(&mut self) {
        let _ = self.to.put(&None::<String>);
        if let Some(echo) = self.echo.take() {
            echo.wait();
        }
    }
}

/// A reference pipe round trip with an echo process or thread.
#[derive(Debug)]
pub struct PipeRoundTrip {
    end: Option<PipeEnd>,
    echo: Option<Echo>,
}

impl PipeRoundTrip {
    pub fn start(peer: Peer) -> PipeRoundTrip {
        let (mine, theirs) = procthread::pipe().expect("pipe");
        let echo = Echo::start(peer, &PIPE_ECHO, pipe_echo, theirs);
        PipeRoundTrip { end: Some(mine), echo: Some(echo) }
    }

    pub fn round_trip(&self, msg: &str) {
        let end = self.end.as_ref().expect("open");
        end.send(msg).expect("send");
        let back: String = end.recv().expect("recv");
        debug_assert_eq!(back.len(), msg.len());
    }
}

impl Drop for PipeRoundTrip {
    fn drop(&mut self) {
        // Closing our end is the echo's EOF.
        self.end = None;
        if let Some(echo) = self.echo.take() {
            echo.wait();
        }
    }
}

/// The OS floor for a round trip between two threads: raw bytes over two pipes to an echo
/// thread of this process.
#[derive(Debug)]
pub struct RawPipeThreadRoundTrip {
    to: Option<std::io::PipeWriter>,
    from: std::io::PipeReader,
    echo: Option<std::thread::JoinHandle<()>>,
    buf: Vec<u8>,
}

impl RawPipeThreadRoundTrip {
    pub fn start(size: usize) -> RawPipeThreadRoundTrip {
        use std::io::{Read, Write};
        let (mut echo_in, to) = std::io::pipe().expect("pipe");
        let (from, mut echo_out) = std::io::pipe().expect("pipe");
        let echo = std::thread::spawn(move || {
            let mut buf = vec![0u8; size];
            while echo_in.read_exact(&mut buf).is_ok() {
                if echo_out.write_all(&buf).is_err() {
                    break;
                }
            }
        });
        RawPipeThreadRoundTrip { to: Some(to), from, echo: Some(echo), buf: vec![b'x'; size] }
    }

    pub fn round_trip(&mut self) {
        use std::io::{Read, Write};
        self.to.as_mut().expect("open").write_all(&self.buf).expect("write");
        self.from.read_exact(&mut self.buf).expect("read");
    }
}

impl Drop for RawPipeThreadRoundTrip {
    fn drop(&mut self) {
        // Closing our write end ends the echo's loop.
        self.to = None;
        if let Some(echo) = self.echo.take() {
            let _ = echo.join();
        }
    }
}

/// The OS floor for a round trip: raw bytes over two pipes to a forked child that echoes them.
#[cfg(unix)]
#[derive(Debug)]
pub struct RawPipeRoundTrip {
    to: std::io::PipeWriter,
    from: std::io::PipeReader,
    child: nix::unistd::Pid,
    buf: Vec<u8>,
}

#[cfg(unix)]
impl RawPipeRoundTrip {
    pub fn start(size: usize) -> RawPipeRoundTrip {
        let (child_in, to) = std::io::pipe().expect("pipe");
        let (from, mut child_out) = std::io::pipe().expect("pipe");
        // SAFETY: the measuring process is single-threaded; the child only reads and writes
        // its pipes and then `_exit`s.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => {
                drop((to, from));
                let mut child_in = child_in;
                let mut buf = vec![0u8; size];
                while child_in.read_exact(&mut buf).is_ok() {
                    if child_out.write_all(&buf).is_err() {
                        break;
                    }
                }
                // SAFETY: see above.
                unsafe { libc_exit() }
            }
            nix::unistd::ForkResult::Parent { child } => {
                drop((child_in, child_out));
                RawPipeRoundTrip { to, from, child, buf: vec![b'x'; size] }
            }
        }
    }

    pub fn round_trip(&mut self) {
        self.to.write_all(&self.buf).expect("write");
        self.from.read_exact(&mut self.buf).expect("read");
    }
}

#[cfg(unix)]
impl Drop for RawPipeRoundTrip {
    fn drop(&mut self) {
        // Closing our write end ends the child's loop.
        let (_, dead) = std::io::pipe().expect("pipe");
        drop(std::mem::replace(&mut self.to, dead));
        let _ = nix::sys::wait::waitpid(self.child, None);
    }
}

/// Messages per second from a flooding child process to this one, over a reference queue.
pub fn queue_throughput(count: u64, method: StartMethod) -> f64 {
    let q = Queue::new().expect("queue");
    let mut child = Process::new(&QUEUE_FLOOD, (q.clone(), count)).start_method(method);
    let t = Instant::now();
    child.start().expect("start");
    for _ in 0..count {
        let _: String = q.get().expect("get");
    }
    let secs = t.elapsed().as_secs_f64();
    child.join().expect("join");
    count as f64 / secs
}

/// The floor for throughput: a forked child writes `count` frames of 4 + 16 bytes to a raw pipe.
#[cfg(unix)]
pub fn raw_pipe_throughput(count: u64) -> f64 {
    let (mut from, mut to) = std::io::pipe().expect("pipe");
    let t = Instant::now();
    // SAFETY: as in `RawPipeRoundTrip::start`.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            drop(from);
            let mut frame = [b'x'; 20];
            frame[..4].copy_from_slice(&16u32.to_le_bytes());
            for _ in 0..count {
                if to.write_all(&frame).is_err() {
                    break;
                }
            }
            // SAFETY: see above.
            unsafe { libc_exit() }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(to);
            let mut frame = [0u8; 20];
            for _ in 0..count {
                from.read_exact(&mut frame).expect("read");
            }
            let secs = t.elapsed().as_secs_f64();
            let _ = nix::sys::wait::waitpid(child, None);
            count as f64 / secs
        }
    }
}
