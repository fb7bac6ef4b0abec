//! The emulated link between hosts, with a manager across it (Linux as root; ignored with the
//! reason elsewhere). Each test makes its own two hosts (network namespaces, addresses of
//! 198.51.100.0/24) in this process: the manager serves on `master`, clients run on `worker`.
//!
//! - a `get` with a timeout on a cut link ends in time with no reply (`timeout` in a
//!   scenario); a put there fails clearly and arrives at most once; after `restore` a new
//!   connection authenticates and works;
//! - the server survives a client that vanishes mid-frame across the link;
//! - 1,000 clients that connect across the link and vanish leave the server's threads and
//!   descriptors where they were.
//!
//! Tests run one at a time on the main thread (thread and descriptor counts are this
//! process's), every wait bounded.

use libtest_mimic::{Arguments, Completion, Trial};

type Test = fn() -> Result<(), libtest_mimic::Failed>;

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let tests: [(&str, Test); 3] = [
        ("cut_link_bounds_calls_and_restore_reconnects", lab::cut_and_restore),
        ("a_client_vanishing_mid_frame_leaves_the_server_serving", lab::vanish_mid_frame),
        ("a_thousand_vanished_clients_leave_no_thread_or_descriptor", lab::thousand_vanish),
    ];
    let here = procthread_harness::hosts::namespaces_here();
    let trials = tests
        .into_iter()
        .map(|(name, test)| match &here {
            Ok(()) => Trial::test(name, test),
            Err(why) => {
                let why = format!("network namespaces cannot be made here: {why}");
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(why))).with_ignored_flag(true)
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

#[cfg(target_os = "linux")]
mod lab {
    use std::io::Write;
    use std::net::{SocketAddr, TcpStream};
    use std::time::{Duration, Instant};

    use libtest_mimic::Failed;
    use procthread::ManagerError;
    use procthread::manager::{Client, Manager};
    use procthread_harness::hosts::{Command, LabHost, Spec, SpecHost};
    use procthread_harness::os::lab::{self, Lab};

    /// The manager's and clients' peer timeout: how long a silent peer is waited on.
    const PEER: Duration = Duration::from_secs(1);
    /// Slack for a loaded machine on top of a documented bound.
    const SLACK: Duration = Duration::from_secs(10);
    const KEY: &[u8] = b"abc";

    struct Hosts {
        lab: Lab,
        _dir: tempfile::TempDir,
    }

    impl Hosts {
        fn make() -> Result<Hosts, Failed> {
            let dir = tempfile::tempdir()?;
            let host = |name: &str, n: u8| SpecHost {
                name: name.into(),
                address: std::net::Ipv4Addr::new(198, 51, 100, n),
                delay_ms: 0,
                loss_percent: 0,
            };
            let spec = Spec { hosts: vec![host("master", 1), host("worker", 2)] };
            let lab = Lab::start(&spec, dir.path())?;
            Ok(Hosts { lab, _dir: dir })
        }

        fn host(&self, name: &str) -> &LabHost {
            self.lab.info().host(name).expect("a host of the lab")
        }

        /// Runs `f` on a thread of its own inside host `name`'s namespace.
        fn on<T: Send>(&self, name: &str, f: impl FnOnce() -> T + Send) -> Result<T, Failed> {
            let host = self.host(name).clone();
            std::thread::scope(|s| {
                s.spawn(move || {
                    lab::enter(&host).map_err(|e| Failed::from(e.to_string()))?;
                    Ok(f())
                })
                .join()
                .map_err(|_| Failed::from("the thread on the host panicked"))?
            })
        }

        fn link(&self, command: Command) -> Result<(), Failed> {
            lab::send(&self.lab.info().control, &command).map(drop).map_err(Failed::from)
        }

        /// A manager serving `q` and `r` on the master's address.
        fn serve(&self) -> Result<Manager, Failed> {
            let at = SocketAddr::from((self.host("master").address, 0));
            let m = self.on("master", || {
                Manager::builder().queue("q").queue("r").authkey(KEY.to_vec()).address(at).peer_timeout(PEER).start()
            })??;
            Ok(m)
        }
    }

    impl Hosts {
        /// Shuts `m` down from its own host: its accept loop is woken by a connection to its
        /// address, which only its host reaches.
        fn stop(&self, m: Manager) -> Result<(), Failed> {
            self.on("master", move || m.shutdown())
        }
    }

    fn client(address: SocketAddr) -> Result<Client, ManagerError> {
        Client::builder().peer_timeout(PEER).connect_timeout(PEER * 2).connect(address, KEY)
    }

    fn check(cond: bool, msg: impl Into<String>) -> Result<(), Failed> {
        if cond { Ok(()) } else { Err(msg.into().into()) }
    }

    pub(super) fn cut_and_restore() -> Result<(), Failed> {
        let hosts = Hosts::make()?;
        let m = hosts.serve()?;
        let address = m.address();
        let cut = || hosts.link(Command::Cut { host: "worker".into() });
        let restore = || hosts.link(Command::Restore { host: "worker".into() });
        let outcome = hosts.on("worker", || -> Result<(), Failed> {
            let c = client(address)?;
            c.queue("q").put(&1)?;
            cut()?;
            // A get with a timeout on the cut link: no reply, within its wait plus the peer timeout.
            let wait = Duration::from_millis(500);
            let t = Instant::now();
            let got = c.queue("r").get::<i64>(Some(wait));
            let took = t.elapsed();
            // No reply in time, or the connection given up (TCP_USER_TIMEOUT is the peer timeout):
            // both are `timeout` for a get with a timeout in a scenario.
            check(
                matches!(got, Err(ManagerError::NoReply { .. } | ManagerError::ConnectionLost { .. })),
                format!("get on a cut link: {got:?}"),
            )?;
            check(took <= wait + PEER + SLACK, format!("the get took {took:?}"))?;
            // A put on the cut link fails, with an error that says it may or may not be queued.
            let t = Instant::now();
            let put = c.queue("r").put(&7);
            check(
                matches!(put, Err(ManagerError::NoReply { .. } | ManagerError::ConnectionLost { .. })),
                format!("put on a cut link: {put:?}"),
            )?;
            check(t.elapsed() <= PEER * 2 + SLACK, format!("the put took {:?}", t.elapsed()))?;
            restore()?;
            // A new connection authenticates, and the put arrived at most once.
            let again = client(address)?;
            let mut sevens = 0;
            while let Ok(v) = again.queue("r").get::<i64>(Some(Duration::from_millis(300))) {
                check(v == 7, format!("unexpected value {v}"))?;
                sevens += 1;
            }
            check(sevens <= 1, format!("the put arrived {sevens} times"))?;
            let first: i64 = again.queue("q").get(Some(Duration::from_secs(5)))?;
            check(first == 1, format!("got {first}"))?;
            // The old client connects again on its next call, too.
            c.queue("q").put(&2)?;
            check(again.queue("q").get::<i64>(Some(Duration::from_secs(5)))? == 2, "the old client's put")?;
            Ok(())
        });
        // Stopped whatever the outcome: dropped here, its accept loop could not be woken.
        hosts.stop(m)?;
        outcome?
    }

    pub(super) fn vanish_mid_frame() -> Result<(), Failed> {
        let hosts = Hosts::make()?;
        let m = hosts.serve()?;
        let address = m.address();
        let outcome = hosts.on("worker", || -> Result<(), Failed> {
            // A frame header that announces more than comes, then gone.
            let mut s = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
            s.write_all(&[0, 0, 0, 200, b'{'])?;
            drop(s);
            // Gone in the middle of the handshake, and after it in the middle of a request.
            let mut s = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
            s.write_all(&[0, 0])?;
            drop(s);
            let c = client(address)?;
            c.queue("q").put(&5)?;
            let got: i64 = client(address)?.queue("q").get(Some(Duration::from_secs(5)))?;
            check(got == 5, format!("got {got}"))
        });
        // Stopped whatever the outcome: dropped here, its accept loop could not be woken.
        hosts.stop(m)?;
        outcome?
    }

    fn threads() -> usize {
        std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
    }

    fn descriptors() -> usize {
        std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
    }

    fn eventually(bound: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let t = Instant::now();
        while t.elapsed() < bound {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        cond()
    }

    pub(super) fn thousand_vanish() -> Result<(), Failed> {
        let hosts = Hosts::make()?;
        let m = hosts.serve()?;
        let outcome = thousand_against(&hosts, m.address());
        // Stopped whatever the outcome: dropped here, its accept loop could not be woken.
        hosts.stop(m)?;
        outcome
    }

    fn thousand_against(hosts: &Hosts, address: SocketAddr) -> Result<(), Failed> {
        // One round first, so that everything made once (buffers, the accept thread) is made.
        hosts.on("worker", || -> Result<(), Failed> {
            client(address)?.queue("q").put(&0)?;
            Ok(())
        })??;
        let (t0, d0) = (threads(), descriptors());
        let started = Instant::now();
        let done = hosts.on("worker", || -> Result<usize, Failed> {
            let mut done = 0;
            for i in 0..1_000usize {
                if started.elapsed() > Duration::from_secs(120) {
                    break;
                }
                match i % 4 {
                    // Connects and is gone.
                    0 => drop(TcpStream::connect_timeout(&address, Duration::from_secs(5))?),
                    // Gone mid-frame.
                    1 => {
                        let mut s = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
                        let _ = s.write_all(&[0, 0, 1]);
                    }
                    // Authenticated, then gone without a word.
                    2 => drop(client(address)?),
                    // Gone after a get that waited.
                    _ => {
                        let c = client(address)?;
                        let _ = c.queue("r").get::<i64>(Some(Duration::from_millis(1)));
                    }
                }
                done += 1;
            }
            Ok(done)
        })??;
        check(done == 1_000, format!("only {done} clients within the time bound"))?;
        // They crossed the link: every connection is a few packets each way through it.
        let crossed = hosts.lab.stats().forwarded;
        check(crossed >= 4_000, format!("only {crossed} packets crossed the link"))?;
        let settled = eventually(Duration::from_secs(30), || threads() <= t0 && descriptors() <= d0);
        check(
            settled,
            format!(
                "threads {t0} -> {}, descriptors {d0} -> {} after 1,000 vanished clients",
                threads(),
                descriptors()
            ),
        )
    }
}

#[cfg(not(target_os = "linux"))]
mod lab {
    use libtest_mimic::Failed;

    fn none() -> Result<(), Failed> {
        Err("network namespaces exist only on Linux".into())
    }
    pub(super) fn cut_and_restore() -> Result<(), Failed> {
        none()
    }
    pub(super) fn vanish_mid_frame() -> Result<(), Failed> {
        none()
    }
    pub(super) fn thousand_vanish() -> Result<(), Failed> {
        none()
    }
}
