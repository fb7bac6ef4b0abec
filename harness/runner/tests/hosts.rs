//! Hosts of a run, from outside:
//!
//! - `loopback::NAME`: a scenario of `scenarios/hosts/` that never acts on a link passes with
//!   every host on loopback (`PROCTHREAD_HOSTS=loopback`), against the same snapshot; one that
//!   acts on a link is skipped there, with the reason;
//! - `leftovers::*` (Linux as root): after a run that ends well, one killed at its timeout and
//!   one whose executor crashes, none of the run's processes is left, none of its network
//!   namespaces is held by any process, and the machine's own network (`ip netns list`, its
//!   interfaces) is as it was.
//!
//! Tests of the link itself (a cut, its bounds, vanishing clients across it) are in
//! `tests/link.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

fn harness() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_harness"))
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for (name, links) in [("master-workers", false), ("wrong-key", false), ("cut-link", true), ("slow-link", true)] {
        trials.push(Trial::test(format!("loopback::{name}"), move || on_loopback(name, links)));
    }
    let namespaces = procthread_harness::hosts::namespaces_here();
    for (name, how) in
        [("after_a_run", End::Well), ("after_a_timeout", End::Timeout), ("after_an_executor_crash", End::Crash)]
    {
        let name = format!("leftovers::{name}");
        trials.push(match &namespaces {
            Ok(()) => Trial::test(name, move || leftovers::check(how)),
            Err(why) => {
                let why = format!("network namespaces cannot be made here: {why}");
                Trial::ignorable_test(name, move || Ok(Completion::ignored_with(why))).with_ignored_flag(true)
            }
        });
    }
    libtest_mimic::run(&args, trials).exit();
}

/// `harness run` of one scenario of `scenarios/hosts/` on spawn, every host on loopback.
fn on_loopback(name: &str, links: bool) -> Result<(), Failed> {
    let out = Command::new(harness())
        .current_dir(workspace())
        .env(procthread_harness::hosts::MODE_ENV, "loopback")
        .args(["run", "--scenario", &format!("hosts/{name}"), "--backend", "spawn"])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("`harness run` failed:\n{said}").into());
    }
    let (want, also) =
        if links { ("1 skipped", "its steps act on a link, which needs hosts of their own") } else { ("1 passed", "") };
    if !stdout.contains(want) || !stdout.contains(also) {
        return Err(format!("expected `{want}` and `{also}` in:\n{said}").into());
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    Well,
    Timeout,
    Crash,
}

/// A master on one host serving a manager, a worker on another connected to it: the worker
/// stays as long as the run lets it (`Timeout`, `Crash`), or exits (`Well`).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn scenario_text(how: End) -> String {
    let (worker_stays, main_end, timeout) = match how {
        End::Well => ("{ sleep_ms = 1000 },", "", 30_000),
        End::Timeout => ("{ sleep_ms = 600000 },", "", 8_000),
        // A second before the crash, so that the poller sees both hosts' processes.
        End::Crash => ("{ sleep_ms = 600000 },", "{ sleep_ms = 1000 }, { crash = \"abort\" },", 30_000),
    };
    let join = if how == End::Crash { "" } else { "{ join = \"worker\" }," };
    format!(
        r#"
title = "leftovers"
timeout_ms = {timeout}

[hosts]
master = {{}}
worker = {{}}

[resources]
m = {{ kind = "manager", queues = ["q"], authkey = "k" }}
up = {{ kind = "event", scope = "shared" }}

[actors.main]
host = "master"
steps = [
  {{ serve = "m" }},
  {{ start = "worker", host = "worker" }},
  {{ wait = "up", timeout_ms = 20000 }},
  {{ get = "m/q", timeout_ms = 20000 }},
  {main_end}
  {join}
]

[actors.worker]
steps = [
  {{ connect = "m" }},
  {{ put = "m/q", value = 1 }},
  {{ set = "up" }},
  {worker_stays}
]
"#
    )
}

#[cfg(target_os = "linux")]
mod leftovers {
    //! What a run leaves: its processes, found as our descendants while it runs; its network
    //! namespaces, found as theirs; then, after the run, whether anything on the machine still
    //! holds one of them.

    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    use libtest_mimic::Failed;
    use procthread_scenario::Backend;

    use super::{End, harness, scenario_text};

    /// How long the run may take to show its hosts' processes.
    const SEEN_WITHIN: Duration = Duration::from_secs(30);

    pub(super) fn check(how: End) -> Result<(), Failed> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("leftovers.toml");
        std::fs::write(&file, scenario_text(how))?;
        let scenario = procthread_scenario::load(&file).map_err(|e| e.to_string())?;
        let machine_before = machine_network();
        let own_ns = ns_of(std::process::id())?;
        let run =
            std::thread::spawn(move || procthread_harness::run::run_isolated(harness(), &scenario, Backend::Spawn));
        let (mut pids, mut namespaces) = (BTreeSet::new(), BTreeSet::new());
        let started = Instant::now();
        while !run.is_finished() && started.elapsed() < SEEN_WITHIN * 2 {
            for pid in descendants(std::process::id()) {
                pids.insert((pid, start_time(pid)));
                if let Some(ns) = ns_of(pid).ok().filter(|ns| *ns != own_ns) {
                    namespaces.insert(ns);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let record = run.join().map_err(|_| "the run's thread panicked")??;
        match how {
            End::Well if record.executor_code != Some(0) || record.timed_out => {
                return Err(format!("the run should have ended well: {record:?}").into());
            }
            End::Timeout if !record.timed_out => {
                return Err(format!("the run should have timed out: {record:?}").into());
            }
            End::Crash if record.executor_code == Some(0) || record.timed_out => {
                return Err(format!("the executor should have crashed: {record:?}").into());
            }
            _ => {}
        }
        // Both hosts were seen (master and worker in namespaces other than ours).
        if namespaces.len() < 2 {
            return Err(format!("expected the run's processes in 2 namespaces of their own, saw {namespaces:?}").into());
        }
        let alive: Vec<_> = pids.iter().filter(|(pid, t)| t.is_some() && start_time(*pid) == *t).collect();
        if !alive.is_empty() {
            return Err(format!("processes of the run still alive: {alive:?}").into());
        }
        let held = holders(&namespaces);
        if !held.is_empty() {
            return Err(format!("namespaces of the run still held (pid, how): {held:?}").into());
        }
        let machine_after = machine_network();
        if machine_after != machine_before {
            return Err(format!("the machine's network changed: {machine_before:?} -> {machine_after:?}").into());
        }
        Ok(())
    }

    /// `ip netns list` and the interfaces of this namespace.
    fn machine_network() -> (String, BTreeSet<String>) {
        let netns = std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let links = std::fs::read_dir("/sys/class/net")
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        (netns, links)
    }

    fn ns_of(pid: u32) -> std::io::Result<String> {
        Ok(std::fs::read_link(format!("/proc/{pid}/ns/net"))?.to_string_lossy().into_owned())
    }

    /// A process's start time (field 22 of its stat), so that a reused pid is not mistaken.
    fn start_time(pid: u32) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = stat.rsplit_once(')')?.1;
        after.split_whitespace().nth(19)?.parse().ok()
    }

    fn parent(pid: u32) -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
    }

    fn all_pids() -> Vec<u32> {
        std::fs::read_dir("/proc")
            .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
            .unwrap_or_default()
    }

    fn descendants(root: u32) -> Vec<u32> {
        let parents: Vec<(u32, u32)> = all_pids().into_iter().filter_map(|p| Some((p, parent(p)?))).collect();
        let mut found = vec![root];
        let mut i = 0;
        while i < found.len() {
            let of = found[i];
            found.extend(parents.iter().filter(|(_, pp)| *pp == of).map(|(p, _)| *p));
            i += 1;
        }
        found.remove(0);
        found
    }

    /// Every process that is in, or holds a descriptor to, one of `namespaces`.
    fn holders(namespaces: &BTreeSet<String>) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        for pid in all_pids() {
            let tasks =
                std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.filter_map(|e| e.ok()).collect::<Vec<_>>());
            for task in tasks.unwrap_or_default() {
                if let Ok(ns) = std::fs::read_link(task.path().join("ns/net"))
                    && namespaces.contains(&*ns.to_string_lossy())
                {
                    out.push((pid, format!("a thread in {}", ns.display())));
                }
            }
            let fds =
                std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.filter_map(|e| e.ok()).collect::<Vec<_>>());
            for fd in fds.unwrap_or_default() {
                if let Ok(target) = std::fs::read_link(fd.path())
                    && namespaces.contains(&*target.to_string_lossy())
                {
                    out.push((pid, format!("a descriptor to {}", target.display())));
                }
            }
        }
        out
    }
}

#[cfg(not(target_os = "linux"))]
mod leftovers {
    pub(super) fn check(_how: super::End) -> Result<(), libtest_mimic::Failed> {
        Err("network namespaces exist only on Linux".into())
    }
}
