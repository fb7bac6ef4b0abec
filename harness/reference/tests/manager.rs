//! The manager as its users and its attackers meet it: through the API, through the wire
//! protocol written from its docs (`manager/proto.rs`), with killed client processes, a cut
//! link (`manager/proxy.rs`) and exhausted descriptors.
//!
//! This binary has its own `main` (`harness = false`): spawned children dispatch first thing,
//! and tests run one at a time on the main thread, so that a thread or descriptor count (and a
//! lowered descriptor limit) belongs to the test that reads it.

#[cfg(target_os = "linux")]
#[path = "manager/census.rs"]
mod census;
#[cfg(target_os = "linux")]
#[path = "manager/netns.rs"]
mod netns;
#[path = "manager/proto.rs"]
mod proto;
#[path = "manager/proxy.rs"]
mod proxy;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use procthread::manager::{Client, Manager};
use procthread::{Entry, ManagerError, Process, Registry, StartMethod};
use serde_json::json;

/// Generous bound for "promptly" on a loaded machine.
const SLACK: Duration = Duration::from_secs(5);

/// Blocks in a `get` for ever (until killed).
static BLOCKED_GETTER: Entry<(String, Vec<u8>)> = Entry::new("blocked_getter", |(address, key)| {
    let Ok(c) = Client::connect(address.as_str(), &key) else { std::process::exit(3) };
    let _ = c.queue("q").get::<i64>(None);
    std::process::exit(4)
});

static REGISTRY: Registry = &[&BLOCKED_GETTER];

fn check(cond: bool, msg: impl Into<String>) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(msg.into().into()) }
}

/// Polls `cond` until it holds or `bound` passes; whether it held.
fn eventually(bound: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while !cond() {
        if t.elapsed() > bound {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn main() {
    procthread::dispatch(REGISTRY);
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let mut trials = vec![
        Trial::test("killed_getters_lose_no_value", killed_getters_lose_no_value),
        Trial::test("handshake_deadline_bounds_the_whole_handshake", handshake_deadline_bounds_the_whole_handshake),
        Trial::test("connections_over_the_caps_are_refused_at_once", connections_over_the_caps_are_refused_at_once),
        Trial::test("queued_bytes_are_bounded_with_clear_errors", queued_bytes_are_bounded_with_clear_errors),
        Trial::test("a_manager_without_key_generates_one", a_manager_without_key_generates_one),
        Trial::test("nothing_is_served_after_shutdown", nothing_is_served_after_shutdown),
        Trial::test(
            "a_cut_link_bounds_calls_and_never_duplicates_a_put",
            a_cut_link_bounds_calls_and_never_duplicates_a_put,
        ),
    ];
    #[cfg(unix)]
    trials.push(Trial::test("out_of_descriptors_the_server_backs_off_and_refuses", out_of_descriptors));
    trials.push(Trial::test("vanished_clients_leave_no_thread_or_descriptor", vanished_clients_leave_nothing));
    #[cfg(target_os = "linux")]
    trials.push(
        Trial::test("stopped_by_a_thread_that_cannot_reach_it", stopped_by_a_thread_that_cannot_reach_it)
            .with_ignored_flag(!netns::can_unshare()),
    );
    libtest_mimic::run(&args, trials).exit();
}

/// Issue 8 point 4: clients killed while blocked in a `get` took the values put after them.
fn killed_getters_lose_no_value() -> Result<(), Failed> {
    let m = Manager::builder().queue("q").start()?;
    let key = m.authkey().to_vec();
    let mut kids = Vec::new();
    for _ in 0..20 {
        let mut p =
            Process::new(&BLOCKED_GETTER, (m.address().to_string(), key.clone())).start_method(StartMethod::Spawn);
        p.start()?;
        kids.push(p);
    }
    let blocked = eventually(Duration::from_secs(60), || m.stats().waiting >= 20);
    for k in &kids {
        k.kill()?;
    }
    for k in &mut kids {
        k.join()?;
    }
    check(blocked, format!("the children never all blocked: {:?}", m.stats()))?;
    check(
        eventually(SLACK, || m.stats().connections == 0),
        format!("the server did not notice its vanished clients: {:?}", m.stats()),
    )?;
    let c = Client::connect(m.address(), &key)?;
    for n in 0..20i64 {
        c.queue("q").put(&n)?;
    }
    let mut got = Vec::new();
    while let Ok(n) = c.queue("q").get::<i64>(Some(Duration::from_secs(2))) {
        got.push(n);
    }
    check(got == (0..20).collect::<Vec<_>>(), format!("got {} of 20: {got:?}", got.len()))
}

/// Issue 8 point 5: one byte every 2 s used to hold a connection for as long as it went on.
fn handshake_deadline_bounds_the_whole_handshake() -> Result<(), Failed> {
    let m = Manager::builder().queue("q").handshake_timeout(Duration::from_secs(1)).start()?;
    let (s, hello) = proto::connect(m.address())?;
    check(hello["status"] == "challenge", format!("{hello}"))?;
    (&s).write_all(&200u32.to_be_bytes())?;
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    let t = Instant::now();
    let closed = loop {
        if t.elapsed() > Duration::from_secs(1) + SLACK {
            break false;
        }
        // One byte of the announced answer every 200 ms, each well inside any per-read timeout.
        if (&s).write_all(b" ").is_err() {
            break true;
        }
        let mut b = [0u8; 64];
        match (&s).read(&mut b) {
            Ok(0) => break true,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Ok(_) | Err(_) => break true,
        }
    };
    check(closed, format!("still open after {:?} of dripping", t.elapsed()))?;
    check(t.elapsed() >= Duration::from_millis(900), format!("closed before the deadline: {:?}", t.elapsed()))?;
    check(m.stats().handshaking == 0 || eventually(SLACK, || m.stats().handshaking == 0), "handshake slot freed")
}

/// Issue 8 point 5: no cap on connections; over the caps a client is refused at once and told why.
fn connections_over_the_caps_are_refused_at_once() -> Result<(), Failed> {
    let m = Manager::builder().queue("q").authkey(b"k".to_vec()).max_connections(4).max_handshakes(2).start()?;
    let held: Vec<Client> = (0..4).map(|_| Client::connect(m.address(), b"k")).collect::<Result<_, _>>()?;
    let t = Instant::now();
    let err = Client::connect(m.address(), b"k").err();
    check(
        matches!(&err, Some(ManagerError::Busy(why)) if why.contains("at most 4 connections")),
        format!("fifth connection: {err:?}"),
    )?;
    check(t.elapsed() < SLACK, format!("refused after {:?}", t.elapsed()))?;
    drop(held);
    check(eventually(SLACK, || m.stats().connections == 0), "connections closed")?;
    // Unauthenticated peers cannot take more than the handshake slots.
    let idle: Vec<_> = (0..2).map(|_| proto::connect(m.address())).collect::<Result<_, _>>()?;
    let err = Client::connect(m.address(), b"k").err();
    check(
        matches!(&err, Some(ManagerError::Busy(why)) if why.contains("at most 2 handshakes")),
        format!("third handshake: {err:?}"),
    )?;
    drop(idle);
    check(eventually(SLACK, || m.stats().connections == 0), "idle peers gone")?;
    let c = Client::connect(m.address(), b"k")?;
    c.queue("q").put(&1)?;
    check(m.stats().refused == 2, format!("{:?}", m.stats()))
}

/// Issue 8 point 5: an authenticated client made the server hold 674 MiB.
fn queued_bytes_are_bounded_with_clear_errors() -> Result<(), Failed> {
    let m = Manager::builder()
        .queue("a")
        .queue("b")
        .authkey(b"k".to_vec())
        .max_queue_bytes(1 << 20)
        .max_total_bytes(3 << 19)
        .start()?;
    let c = Client::connect(m.address(), b"k")?;
    let chunk = "x".repeat(100 << 10);
    let mut fitted = 0;
    let err = loop {
        match c.queue("a").put(&chunk) {
            Ok(()) => fitted += 1,
            Err(e) => break e,
        }
        if fitted > 20 {
            return Err("queue a took 2 MiB over its bound of 1 MiB".into());
        }
    };
    check(fitted == 10, format!("{fitted} values of 100 KiB fitted in 1 MiB"))?;
    check(
        err.to_string().starts_with("queue \"a\" is full:") && err.to_string().ends_with("bound of 1048576 bytes"),
        err.to_string(),
    )?;
    let mut fitted_b = 0;
    let err = loop {
        match c.queue("b").put(&chunk) {
            Ok(()) => fitted_b += 1,
            Err(e) => break e,
        }
        if fitted_b > 20 {
            return Err("the total bound did not hold".into());
        }
    };
    check(matches!(err, ManagerError::ManagerFull { limit: 1572864, .. }), err.to_string())?;
    check(m.stats().queued_bytes <= 3 << 19, format!("{:?}", m.stats()))?;
    let _: String = c.queue("a").get(Some(SLACK))?;
    c.queue("b").put(&chunk)?;
    Ok(())
}

/// Issue 8 point 6: a manager built without a key accepted the empty key.
fn a_manager_without_key_generates_one() -> Result<(), Failed> {
    let m = Manager::builder().queue("q").start()?;
    let other = Manager::builder().queue("q").start()?;
    check(m.authkey().len() == 32 && m.authkey() != other.authkey(), "a fresh random key each time")?;
    let err = Client::connect(m.address(), b"").err();
    check(matches!(err, Some(ManagerError::AuthRefused)), format!("empty key: {err:?}"))?;
    let c = Client::connect(m.address(), m.authkey())?;
    c.queue("q").put(&1)?;
    let err = Manager::builder().queue("q").authkey(Vec::new()).start().err();
    check(matches!(err, Some(ManagerError::EmptyKey)), format!("an empty key is refused: {err:?}"))
}

/// Issue 8 point 6: other clients went on being served after a shutdown.
fn nothing_is_served_after_shutdown() -> Result<(), Failed> {
    let m = Manager::builder().queue("q").authkey(b"k".to_vec()).start()?;
    let address = m.address();
    let waiting = Client::connect(address, b"k")?;
    let idle = Client::connect(address, b"k")?;
    let (blocked, outcome) = std::thread::scope(|s| {
        let blocked = s.spawn(|| waiting.queue("q").get::<i32>(None));
        eventually(SLACK, || m.stats().waiting == 1);
        let outcome = Client::connect(address, b"k").and_then(|c| c.shutdown());
        (blocked.join(), outcome)
    });
    outcome?;
    let blocked = blocked.map_err(|_| "the waiting thread panicked")?;
    check(
        matches!(blocked, Err(ManagerError::ShuttingDown | ManagerError::ConnectionLost { .. })),
        format!("a waiting get: {blocked:?}"),
    )?;
    let put = idle.queue("q").put(&1);
    check(put.is_err(), format!("a put after the shutdown: {put:?}"))?;
    let again = Client::connect(address, b"k");
    check(again.is_err(), "a new connection after the shutdown")?;
    m.wait();
    Ok(())
}

/// A manager stopped by a thread that cannot connect to its address still stops, and closes
/// its listener: here the thread is in a network namespace of its own, whose loopback is down
/// (as a worker of the hosts lab is). It used to hang for ever in the join of its accept loop,
/// which it woke only by connecting to itself.
#[cfg(target_os = "linux")]
fn stopped_by_a_thread_that_cannot_reach_it() -> Result<(), Failed> {
    let m = Manager::builder().queue("q").start()?;
    let address = m.address();
    let c = Client::connect(address, m.authkey())?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcome = netns::unshare().map(|()| {
            let t = Instant::now();
            drop(m);
            t.elapsed()
        });
        let _ = tx.send(outcome);
    });
    let took = match rx.recv_timeout(SLACK) {
        Ok(outcome) => outcome.map_err(|e| format!("a network namespace of its own: {e}"))?,
        Err(_) => return Err(format!("the manager was not stopped after {SLACK:?}").into()),
    };
    check(took < SLACK, format!("the manager took {took:?} to stop"))?;
    let put = c.queue("q").put(&1);
    check(put.is_err(), format!("a put after the shutdown: {put:?}"))?;
    let again = TcpStream::connect_timeout(&address, SLACK);
    check(again.is_err(), format!("the listener still accepts after the shutdown: {again:?}"))
}

/// Issue 14 point 2 at the API level: through a link that is cut, calls end within their
/// bound, a put arrives once or fails clearly, and once restored a new connection works.
fn a_cut_link_bounds_calls_and_never_duplicates_a_put() -> Result<(), Failed> {
    let m = Manager::builder().queue("q").authkey(b"k".to_vec()).start()?;
    let link = proxy::Proxy::start(m.address());
    let grace = Duration::from_millis(500);
    let c = Client::builder().peer_timeout(grace).connect(link.address, b"k")?;
    c.queue("q").put(&1)?;
    // Cut both ways: the put never arrives.
    link.cut(true, true);
    let t = Instant::now();
    let err = c.queue("q").put(&2).err();
    check(matches!(err, Some(ManagerError::NoReply { during: "put", .. })), format!("cut both ways: {err:?}"))?;
    check(t.elapsed() < grace + SLACK, format!("put failed after {:?}", t.elapsed()))?;
    link.restore();
    // The next call connects anew through the restored link.
    check(c.queue("q").get::<i32>(Some(SLACK))? == 1, "the value put before the cut")?;
    // Cut only the replies: the put arrives, its reply does not.
    link.cut(false, true);
    let t = Instant::now();
    let err = c.queue("q").put(&3).err();
    check(
        err.as_ref().is_some_and(|e| e.to_string().contains("may or may not have been queued")),
        format!("cut replies: {err:?}"),
    )?;
    check(t.elapsed() < grace + SLACK, format!("put failed after {:?}", t.elapsed()))?;
    // A get with a timeout ends within timeout + grace although no reply can come.
    let t = Instant::now();
    let err = c.queue("q").get::<i32>(Some(Duration::from_secs(1))).err();
    check(matches!(err, Some(ManagerError::NoReply { during: "get", .. })), format!("get under a cut: {err:?}"))?;
    check(t.elapsed() < Duration::from_secs(1) + grace + SLACK, format!("get ended after {:?}", t.elapsed()))?;
    link.restore();
    let direct = Client::connect(m.address(), b"k")?;
    let mut seen = Vec::new();
    while let Ok(n) = direct.queue("q").get::<i32>(Some(Duration::from_millis(500))) {
        seen.push(n);
    }
    check(seen == [3], format!("3 queued once, 2 never: {seen:?}"))?;
    c.queue("q").put(&4)?;
    check(direct.queue("q").get::<i32>(Some(SLACK))? == 4, "the client works again")
}

#[cfg(unix)]
struct FdLimit(libc::rlimit);

#[cfg(unix)]
impl FdLimit {
    /// Lowers the soft limit on open descriptors to `n` until dropped.
    fn lower_to(n: u64) -> std::io::Result<FdLimit> {
        let mut old = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes one rlimit into the struct we pass, which we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let new = libc::rlimit { rlim_cur: (n as libc::rlim_t).min(old.rlim_max), rlim_max: old.rlim_max };
        // SAFETY: setrlimit reads the struct we pass; lowering the soft limit is always allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(FdLimit(old))
    }
}

#[cfg(unix)]
impl Drop for FdLimit {
    fn drop(&mut self) {
        // SAFETY: as above; raising the soft limit back to the old value, under the hard limit.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.0) };
    }
}

/// Issue 8 point 5: out of descriptors, the accept loop spun at 100 % and clients hung.
#[cfg(unix)]
fn out_of_descriptors() -> Result<(), Failed> {
    let m = Manager::builder().queue("q").authkey(b"k".to_vec()).start()?;
    let kept = Client::connect(m.address(), b"k")?;
    let open = std::fs::read_dir("/dev/fd")?.count() as u64;
    let (refusal, errors) = {
        let _limit = FdLimit::lower_to(open + 32)?;
        let mut filler = Vec::new();
        while filler.len() < 10_000 {
            match std::fs::File::open("/dev/null") {
                Ok(f) => filler.push(f),
                Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
                Err(e) => return Err(e.into()),
            }
        }
        // The server cannot accept now. (Linux reserves a descriptor when `accept` starts, so
        // the first client may still be served: then it holds one more and we try again.)
        let mut served = Vec::new();
        let mut refusal = None;
        while refusal.is_none() && served.len() < 10 {
            filler.pop();
            let Ok(raw) = TcpStream::connect(m.address()) else { continue };
            raw.set_read_timeout(Some(SLACK))?;
            let first = proto::recv(&raw)?;
            if first["status"] == "error" {
                refusal = Some(first);
            }
            served.push(raw);
        }
        let before = m.stats().accept_errors;
        std::thread::sleep(Duration::from_secs(1));
        (refusal, m.stats().accept_errors - before)
    };
    let refusal = refusal.ok_or("never refused")?;
    check(refusal["error"] == "busy", format!("told why at once: {refusal}"))?;
    check(errors < 50, format!("{errors} failed accepts in a second"))?;
    kept.queue("q").put(&1)?;
    let c = Client::connect(m.address(), b"k")?;
    check(c.queue("q").get::<i32>(Some(SLACK))? == 1, "served again once descriptors are back")
}

/// Issue 14 point 3: 1,000 clients that connect and vanish (before, during and after the
/// handshake, mid-frame, while blocked in a get, with a reset) leave no thread or descriptor
/// (counted on Linux; elsewhere the server's own count of connections is checked).
fn vanished_clients_leave_nothing() -> Result<(), Failed> {
    let m = Manager::builder().queue("q").authkey(b"k".to_vec()).start()?;
    drop(Client::connect(m.address(), b"k")?);
    check(eventually(SLACK, || m.stats().connections == 0), "warm-up client gone")?;
    #[cfg(target_os = "linux")]
    let baseline = census::now();
    let t = Instant::now();
    for i in 0..1000 {
        vanish(m.address(), i % 8)?;
        if t.elapsed() > Duration::from_secs(120) {
            return Err(format!("only {i} clients in 120 s").into());
        }
    }
    check(eventually(Duration::from_secs(30), || m.stats().connections == 0), format!("{:?}", m.stats()))?;
    #[cfg(target_os = "linux")]
    {
        let after = census::settle(baseline, Duration::from_secs(30));
        check(after.within(baseline), format!("before {baseline:?}, after {after:?}"))?;
    }
    let c = Client::connect(m.address(), b"k")?;
    c.queue("q").put(&1)?;
    check(c.queue("q").get::<i32>(Some(SLACK))? == 1, "the server still serves")
}

/// One client that vanishes in the given way. A refusal at the cap (the server had not yet
/// cleaned up after earlier ones) is retried: it is not what is tested.
fn vanish(address: std::net::SocketAddr, how: usize) -> Result<(), Failed> {
    for _ in 0..200 {
        let done = match how {
            // Before the server says anything.
            0 => TcpStream::connect(address).map(drop).is_ok(),
            // After the challenge, without answering.
            1 => proto::connect(address).is_ok_and(|(_, h)| h["status"] == "challenge"),
            // Mid-frame, before authenticating.
            2 => proto::connect(address)
                .is_ok_and(|(s, h)| h["status"] == "challenge" && (&s).write_all(&[0, 0, 0, 100, b'{']).is_ok()),
            // With a wrong key.
            3 => proto::session(address, b"wrong").is_err(),
            // Right after authenticating.
            4 => proto::session(address, b"k").is_ok(),
            // Mid-frame, authenticated.
            5 => proto::session(address, b"k").is_ok_and(|s| (&s).write_all(&[0, 0, 1, 0, b'{', b'"']).is_ok()),
            // While blocked in a get.
            6 => proto::session(address, b"k")
                .is_ok_and(|s| proto::send(&s, &json!({"op": "get", "queue": "q"})).is_ok()),
            // With a reset instead of a close.
            _ => proto::session(address, b"k")
                .is_ok_and(|s| socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO)).is_ok()),
        };
        if done {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(format!("client of kind {how} never got through").into())
}
