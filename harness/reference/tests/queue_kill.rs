//! Issue 10, point 4: a process killed (SIGKILL) anywhere in a queue's `put` or `get` leaves the
//! queue usable by the others, `get` never blocks past its timeout, no torn message is
//! delivered, and at most the one message being written (or taken) is lost.
//!
//! One test per start method, message size (100 B, 200 KB, and one larger than the queue's
//! ring, which travels in pieces) and role of the killed process (producer or consumer). Each
//! runs a few trials under `cargo nextest run`; run the 200 (or more) with
//! `PROCTHREAD_KILL_TRIALS=200 cargo test -p procthread --test queue_kill` (about 20 minutes on
//! 2 CPUs, past nextest's per-test limit), and replay a failing trial's random choices with
//! `PROCTHREAD_KILL_SEED=<seed printed>`.
//!
//! This binary has its own `main` (`harness = false`) so that a spawned child dispatches to its
//! entry first thing, and runs its tests on the main thread so that forking happens from a
//! single-threaded process.

use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use procthread::{ChannelError, Entry, PipeEnd, Process, Queue, Registry, StartMethod, pipe_oneway, shared};
use serde::{Deserialize, Serialize};

/// How far past its timeout a `get` may return on a loaded machine (and, for a message larger
/// than the ring, while its live writer streams it).
const MARGIN: Duration = Duration::from_secs(3);
/// A trial that has not finished by then has a dead queue.
const TRIAL_LIMIT: Duration = Duration::from_secs(120);
/// The parent's `get` timeout.
const PARENT_TIMEOUT: Duration = Duration::from_millis(40);
/// The killed consumer's `get` timeout.
const CHILD_TIMEOUT: Duration = Duration::from_millis(25);

/// Producer ids.
const VICTIM: u32 = 1;
const PARENT: u32 = 2;

/// What the killed consumer reports instead of a sequence number.
const TORN: u64 = u64::MAX;
const LATE: u64 = u64::MAX - 1;
const FAILED: u64 = u64::MAX - 2;

/// A message that says whether it arrived whole: its body is a pattern of its producer and
/// sequence number, and `sum` a hash of all three.
#[derive(Debug, Serialize, Deserialize)]
struct Msg {
    producer: u32,
    seq: u64,
    sum: u64,
    body: serde_bytes::ByteBuf,
}

impl Msg {
    fn new(producer: u32, seq: u64, size: usize) -> Msg {
        let mut body = vec![0u8; size];
        let mut x = (u64::from(producer) << 40) ^ seq ^ 0x9E37_79B9_7F4A_7C15;
        for chunk in body.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        let sum = hash(producer, seq, &body);
        Msg { producer, seq, sum, body: serde_bytes::ByteBuf::from(body) }
    }

    fn intact(&self) -> bool {
        hash(self.producer, self.seq, &self.body) == self.sum
            && self == &Msg::new(self.producer, self.seq, self.body.len())
    }
}

impl PartialEq for Msg {
    fn eq(&self, other: &Msg) -> bool {
        (self.producer, self.seq, self.sum, &self.body[..]) == (other.producer, other.seq, other.sum, &other.body[..])
    }
}

fn hash(producer: u32, seq: u64, body: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ u64::from(producer) ^ seq.rotate_left(17);
    for chunk in body.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }
    h ^ body.len() as u64
}

// ---- the processes that get killed ----

/// Puts messages 0, 1, 2, ... for ever. After each, it waits until its feeder has written the
/// message into the ring, then counts it in `progress`: every message counted must arrive.
static PRODUCER: Entry<(Queue, usize, shared::Semaphore)> = Entry::new("kill::producer", |(q, size, progress)| {
    for seq in 0.. {
        if q.put(&Msg::new(VICTIM, seq, size)).is_err() {
            std::process::exit(3);
        }
        while q.pending() > 0 {
            std::thread::sleep(Duration::from_micros(20));
        }
        if progress.release().is_err() {
            std::process::exit(4);
        }
    }
});

/// Takes messages for ever, reporting each one's sequence number (or a violation) on the
/// pipe as it gets it: 8 bytes, one atomic write, so a kill cannot tear a report.
static CONSUMER: Entry<(Queue, PipeEnd)> = Entry::new("kill::consumer", |(q, report)| {
    loop {
        let t = Instant::now();
        let got = q.get_timeout::<Msg>(CHILD_TIMEOUT);
        if t.elapsed() > CHILD_TIMEOUT + MARGIN {
            let _ = report.send_bytes(&LATE.to_le_bytes(), 0, None);
        }
        let code = match got {
            Ok(m) if m.intact() && m.producer == PARENT => m.seq,
            Ok(_) => TORN,
            Err(ChannelError::Empty(_)) => continue,
            Err(_) => FAILED,
        };
        if report.send_bytes(&code.to_le_bytes(), 0, None).is_err() {
            std::process::exit(5);
        }
    }
});

static REGISTRY: Registry = &[&PRODUCER, &CONSUMER];

// ---- the trials ----

/// Message sizes: small, large, and larger than the ring (decided per queue).
#[derive(Debug, Clone, Copy)]
enum Size {
    Small,
    Large,
    OverRing,
}

impl Size {
    fn name(self) -> &'static str {
        match self {
            Size::Small => "100B",
            Size::Large => "200KB",
            Size::OverRing => "over_ring",
        }
    }

    fn bytes(self, q: &Queue) -> usize {
        match self {
            Size::Small => 100,
            Size::Large => 200_000,
            Size::OverRing => q.buffer_size() + (1 << 20),
        }
    }

    /// How long after the victim got going it is killed, at most (µs): a few messages' time.
    fn window_us(self) -> u64 {
        match self {
            Size::Small => 3_000,
            Size::Large => 8_000,
            Size::OverRing => 40_000,
        }
    }

    /// Messages the parent puts in a consumer trial.
    fn messages(self) -> u64 {
        match self {
            Size::Small => 3_000,
            Size::Large => 150,
            Size::OverRing => 12,
        }
    }
}

/// xorshift64*: the trials' random choices, replayable from the seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

fn seed() -> u64 {
    match std::env::var("PROCTHREAD_KILL_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(s) => s,
        None => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            (now.as_nanos() as u64) | 1
        }
    }
}

fn trials() -> usize {
    std::env::var("PROCTHREAD_KILL_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(4)
}

fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(msg().into()) }
}

/// Kills and reaps a child however the trial ends.
struct Child(Process);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.join();
    }
}

fn start<A>(entry: &'static Entry<A>, args: A, method: StartMethod) -> Result<Child, Failed>
where
    A: Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    wait_single_threaded();
    let mut p = Process::new(entry, args).start_method(method);
    p.start().map_err(|e| format!("start: {e}"))?;
    Ok(Child(p))
}

/// A queue's feeder thread ends once its backlog is written; fork needs it gone.
fn wait_single_threaded() {
    #[cfg(target_os = "linux")]
    for _ in 0..5_000 {
        match std::fs::read_dir("/proc/self/task").map(Iterator::count) {
            Ok(n) if n > 1 => std::thread::sleep(Duration::from_millis(1)),
            _ => return,
        }
    }
}

/// One timed `get` by the parent: the message, or `None` at the timeout.
fn parent_get(q: &Queue, worst: &mut Duration) -> Result<Option<Msg>, Failed> {
    let t = Instant::now();
    let got = q.get_timeout::<Msg>(PARENT_TIMEOUT);
    let took = t.elapsed();
    *worst = (*worst).max(took.saturating_sub(PARENT_TIMEOUT));
    check(took <= PARENT_TIMEOUT + MARGIN, || format!("get blocked {took:?} with a timeout of {PARENT_TIMEOUT:?}"))?;
    match got {
        Ok(m) => {
            check(m.intact(), || format!("torn message delivered: producer {} seq {}", m.producer, m.seq))?;
            Ok(Some(m))
        }
        Err(ChannelError::Empty(_)) => Ok(None),
        Err(e) => Err(format!("get failed: {e}").into()),
    }
}

/// The queue still carries messages both ways after the kill.
fn still_usable(q: &Queue, size: usize) -> Result<(), Failed> {
    q.put(&Msg::new(PARENT, u64::MAX, size)).map_err(|e| format!("put after the kill: {e}"))?;
    let m: Msg = q.get_timeout(Duration::from_secs(30)).map_err(|e| format!("get after the kill: {e}"))?;
    check(m.intact() && m.seq == u64::MAX, || format!("after the kill got producer {} seq {}", m.producer, m.seq))?;
    check(q.empty().unwrap_or(false), || "the queue is not empty at the end".into())
}

#[derive(Debug, Default)]
struct Tally {
    trials: usize,
    /// Trials where the message the killed process held (being written; or taken and not
    /// yet reported) arrived, or was lost. A producer killed between two `put`s held none.
    none_lost: usize,
    one_lost: usize,
    worst_overshoot: Duration,
}

impl Tally {
    fn summary(&self, role: &str) -> String {
        let (held, lost) = match role {
            "put" => ("the message being written at the kill (if any) arrived in", "not in"),
            _ => ("no message was lost in", "the message the consumer had taken was lost in"),
        };
        format!(
            "{} trials passed; {held} {}, {lost} {}; worst get past its timeout: {:?}",
            self.trials, self.none_lost, self.one_lost, self.worst_overshoot
        )
    }
}

/// A producer killed in its `put` loop while the parent consumes and puts messages of its own.
fn kill_a_producer(method: StartMethod, size: Size, rng: &mut Rng, tally: &mut Tally) -> Result<(), Failed> {
    let q = Queue::new()?;
    let bytes = size.bytes(&q);
    let progress = shared::Semaphore::new(0)?;
    let victim = start(&PRODUCER, (q.clone(), bytes, progress.clone()), method)?;
    let kill_after = Duration::from_micros(rng.below(size.window_us()));
    let own = (size.messages() / 100).max(3);
    let (mut next_victim, mut next_own, mut put_own) = (0u64, 0u64, 0u64);
    let began = Instant::now();
    let mut going: Option<Instant> = None;
    let (mut killed, mut reaped) = (false, false);
    loop {
        check(began.elapsed() < TRIAL_LIMIT, || {
            format!("no progress after {TRIAL_LIMIT:?}: victim's {next_victim}, own {next_own} of {put_own}")
        })?;
        // The parent's own messages: now and then while the victim runs, the rest after.
        while put_own < own && (killed || rng.below(3) == 0) {
            q.put(&Msg::new(PARENT, put_own, bytes))?;
            put_own += 1;
            if !killed {
                break;
            }
        }
        if !killed && progress.get_value() > 0 && going.get_or_insert_with(Instant::now).elapsed() >= kill_after {
            victim.0.kill()?;
            killed = true;
        }
        match parent_get(&q, &mut tally.worst_overshoot)? {
            Some(m) => {
                let next = if m.producer == VICTIM { &mut next_victim } else { &mut next_own };
                check(m.seq == *next, || {
                    format!("producer {} sent {} after {}: lost or reordered", m.producer, m.seq, *next)
                })?;
                *next += 1;
            }
            // Done once the victim is gone (it can commit nothing more) and all was read.
            None if reaped && next_own == own => break,
            None if killed => {
                victim.0.join()?;
                reaped = true;
            }
            None => {}
        }
    }
    let counted = u64::from(progress.get_value());
    check(next_victim == counted || next_victim == counted + 1, || {
        format!("{counted} of the victim's messages were in the ring, {next_victim} arrived")
    })?;
    if next_victim == counted + 1 {
        tally.none_lost += 1;
    } else {
        tally.one_lost += 1;
    }
    still_usable(&q, bytes)
}

/// A consumer killed in its `get` loop while the parent puts messages and takes some too.
fn kill_a_consumer(method: StartMethod, size: Size, rng: &mut Rng, tally: &mut Tally) -> Result<(), Failed> {
    let q = Queue::new()?;
    let bytes = size.bytes(&q);
    let (reports, report_end) = pipe_oneway()?;
    let victim = start(&CONSUMER, (q.clone(), report_end), method)?;
    let kill_after = Duration::from_micros(rng.below(size.window_us()));
    let total = size.messages();
    let mut taken_by_victim: Vec<u64> = Vec::new();
    let mut taken_by_me: Vec<u64> = Vec::new();
    let began = Instant::now();
    let mut going: Option<Instant> = None;
    let (mut killed, mut reaped) = (false, false);
    let mut put = 0u64;
    loop {
        check(began.elapsed() < TRIAL_LIMIT, || {
            format!(
                "no progress after {TRIAL_LIMIT:?}: {} + {} of {put} taken",
                taken_by_victim.len(),
                taken_by_me.len()
            )
        })?;
        // Keep the victim busy: a burst of puts whenever few are waiting.
        while put < total && q.qsize() < 64 {
            q.put(&Msg::new(PARENT, put, bytes))?;
            put += 1;
        }
        if !killed {
            drain_reports(&reports, &mut taken_by_victim, false)?;
            if !taken_by_victim.is_empty() && going.get_or_insert_with(Instant::now).elapsed() >= kill_after {
                victim.0.kill()?;
                killed = true;
            }
        }
        // The parent takes one now and then before the kill (once the victim has taken one: on
        // a loaded machine a child can start after the parent alone took everything, and then
        // there is nothing left to kill it in), and everything after it.
        if killed || (!taken_by_victim.is_empty() && rng.below(4) == 0) {
            match parent_get(&q, &mut tally.worst_overshoot)? {
                Some(m) => {
                    check(m.producer == PARENT, || format!("a message from producer {}", m.producer))?;
                    taken_by_me.push(m.seq);
                }
                None if reaped && put == total && q.pending() == 0 => break,
                None if killed && !reaped => {
                    victim.0.join()?;
                    reaped = true;
                }
                None => {}
            }
        }
    }
    drain_reports(&reports, &mut taken_by_victim, true)?;
    for (who, seqs) in [("victim", &taken_by_victim), ("parent", &taken_by_me)] {
        check(seqs.windows(2).all(|w| w[0] < w[1]), || format!("the {who} took messages out of order: {seqs:?}"))?;
    }
    let mut all: Vec<u64> = taken_by_victim.iter().chain(&taken_by_me).copied().collect();
    all.sort_unstable();
    let n = all.len();
    all.dedup();
    check(all.len() == n, || "a message was delivered twice".into())?;
    check(all.iter().all(|&s| s < total), || "a message that was never put".into())?;
    let lost = total - n as u64;
    check(lost <= 1, || {
        format!(
            "{lost} messages lost (taken: {} by the victim, {} by the parent)",
            taken_by_victim.len(),
            taken_by_me.len()
        )
    })?;
    if lost == 1 {
        tally.one_lost += 1;
    } else {
        tally.none_lost += 1;
    }
    still_usable(&q, bytes)
}

/// Reads the killed consumer's reports: all of them (`to_eof`, once it is dead) or those ready.
fn drain_reports(reports: &PipeEnd, into: &mut Vec<u64>, to_eof: bool) -> Result<(), Failed> {
    loop {
        if !to_eof && !reports.poll(None)? {
            return Ok(());
        }
        let bytes = match reports.recv_bytes(None) {
            Ok(b) => b,
            Err(ChannelError::Eof) if to_eof => return Ok(()),
            Err(e) => return Err(format!("reading the consumer's reports: {e}").into()),
        };
        let code = u64::from_le_bytes(bytes.as_slice().try_into().map_err(|_| "a torn report")?);
        match code {
            TORN => return Err("the consumer got a torn message".into()),
            LATE => return Err(format!("a get in the consumer blocked past {CHILD_TIMEOUT:?} + {MARGIN:?}").into()),
            FAILED => return Err("a get in the consumer failed".into()),
            seq => into.push(seq),
        }
    }
}

type Kill = fn(StartMethod, Size, &mut Rng, &mut Tally) -> Result<(), Failed>;

fn run(name: &str, role: &str, kill: Kill, method: StartMethod, size: Size) -> Result<(), Failed> {
    let mut tally = Tally::default();
    for trial in 0..trials() {
        let seed = seed().wrapping_add(trial as u64 * 0x9E37_79B9);
        let mut rng = Rng(seed | 1);
        kill(method, size, &mut rng, &mut tally)
            .map_err(|e| format!("trial {trial} (PROCTHREAD_KILL_SEED={seed}): {}", e.message().unwrap_or("failed")))?;
        tally.trials += 1;
    }
    println!("{name}: {}", tally.summary(role));
    Ok(())
}

fn main() {
    procthread::dispatch(REGISTRY);
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let mut tests = Vec::new();
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        for size in [Size::Small, Size::Large, Size::OverRing] {
            for (role, kill) in [("put", kill_a_producer as Kill), ("get", kill_a_consumer as Kill)] {
                let name = format!("killed_in_{role}::{}::{}", size.name(), method.as_str());
                let trial = Trial::test(name.clone(), move || run(&name, role, kill, method, size));
                // SIGKILL is what this is about: Unix only.
                tests.push(trial.with_ignored_flag(!method.is_available() || cfg!(not(unix))));
            }
        }
    }
    libtest_mimic::run(&args, tests).exit();
}
