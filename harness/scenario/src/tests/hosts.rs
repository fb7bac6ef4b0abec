//! Hosts and link steps, one edge each.

use super::{errors, parse};
use crate::*;

const TWO_HOSTS: &str = r#"
[hosts]
master = {}
worker1 = { delay_ms = 50, loss_percent = 5 }

[resources]
m = { kind = "manager", queues = ["q"], authkey = "k" }

[actors.main]
host = "master"
steps = [
  { serve = "m" },
  { start = "worker", host = "worker1" },
  { link = "worker1", delay_ms = 10 },
  { cut = "worker1" },
  { restore = "worker1" },
  { link = "worker1", loss_percent = "{i}" },
  { join = "worker" },
]

[actors.worker]
steps = [ { put = "m/q", value = 1, expect = "lost" } ]
"#;

#[test]
fn hosts_placement_and_link_steps_are_read() {
    let s = parse(TWO_HOSTS).expect("valid");
    let names: Vec<&str> = s.hosts.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["master", "worker1"]);
    assert_eq!(s.hosts.host("worker1").map(|h| (h.delay_ms, h.loss_percent)), Some((50, 5)));
    assert_eq!(s.hosts.of_actor("main"), Some("master"));
    assert_eq!(s.hosts.of_actor("worker"), None);
    assert_eq!(s.hosts.address("worker1"), Some(std::net::Ipv4Addr::new(198, 51, 100, 2)));
    let verbs: Vec<&str> = s.actors[0].steps.iter().map(|st| st.kind.verb()).collect();
    assert_eq!(verbs, ["serve", "start", "link", "cut", "restore", "link", "join"]);
    assert!(matches!(&s.actors[0].steps[1].kind, StepKind::Start { host: Some(h), .. } if h == "worker1"));
    assert!(matches!(
        &s.actors[0].steps[3].kind,
        StepKind::Link { host, change: LinkChange::Cut } if host == "worker1"
    ));
    assert!(s.touches_links());
    let elements = s.elements();
    for e in ["setting:hosts", "key:host", "verb:link", "verb:cut", "verb:restore"] {
        assert!(elements.contains(e), "{e} in {elements:?}");
    }
}

#[test]
fn hosts_run_on_process_backends_only() {
    let s = parse(TWO_HOSTS).expect("valid");
    let runs: Vec<Backend> = applicable(&s, true).into_iter().map(|(b, _)| b).collect();
    assert_eq!(runs, [Backend::Fork, Backend::Spawn]);
    let why = applicability(&s, true).into_iter().find(|(b, _)| *b == Backend::Thread).map(|(_, a)| a);
    assert!(matches!(&why, Some(Applicability::NotApplicable(w)) if w.contains("hosts")), "{why:?}");
}

#[test]
fn unknown_hosts_are_named_with_the_declared_ones() {
    let src = TWO_HOSTS.replace("{ cut = \"worker1\" }", "{ cut = \"worker2\" }");
    assert_eq!(errors(&src), ["t.toml:15:11: unknown host `worker2`; hosts declared: `master` or `worker1`"]);
    let src = TWO_HOSTS.replace("host = \"worker1\" }", "host = \"w9\" }");
    assert_eq!(errors(&src), ["t.toml:13:30: unknown host `w9`; hosts declared: `master` or `worker1`"]);
}

#[test]
fn main_needs_a_host_when_hosts_are_declared() {
    let src = TWO_HOSTS.replace("host = \"master\"\n", "");
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("`[actors.main]` needs `host`"), "{e:?}");
}

#[test]
fn a_host_without_hosts_and_bad_settings_are_refused() {
    let e = errors("[actors.main]\nhost = \"x\"\nsteps = [ { cut = \"x\" } ]\n");
    assert_eq!(
        e,
        [
            "t.toml:2:8: unknown host `x`: this scenario declares no hosts (add a `[hosts]` table)",
            "t.toml:3:19: unknown host `x`: this scenario declares no hosts (add a `[hosts]` table)",
        ]
    );
    let e = errors(
        "[hosts]\na = { delay_ms = 20000, jitter = 1 }\n\"b c\" = {}\n[actors.main]\nhost = \"a\"\nsteps = [ { link = \"a\" } ]\n",
    );
    assert_eq!(
        e,
        [
            "t.toml:2:18: `delay_ms` must be between 0 and 10000, found 20000",
            "t.toml:2:25: unknown key `jitter` in host `a`; expected `delay_ms` or `loss_percent`",
            "t.toml:3:1: host name `b c`: use letters, digits, `-` and `_` (at most 32 characters)",
            "t.toml:6:20: this `link` step needs `delay_ms` (added each way) or `loss_percent` (dropped each way), or both",
        ]
    );
}

#[test]
fn lost_is_what_a_remote_put_get_connect_or_shutdown_can_end_with() {
    let src = TWO_HOSTS.replace(
        "{ put = \"m/q\", value = 1, expect = \"lost\" }",
        "{ put = \"m/q\", value = 1, expect = \"timeout\" }",
    );
    let e = errors(&src);
    assert!(e[0].contains("it can end with `auth_refused` or `lost`"), "{e:?}");
    let ok = TWO_HOSTS.replace(
        "{ put = \"m/q\", value = 1, expect = \"lost\" }",
        "{ connect = \"m\", expect = \"lost\" }, { get = \"m/q\", expect = \"lost\" }, { shutdown = \"m\", expect = \"lost\" }",
    );
    parse(&ok).expect("valid");
}
