//! Resources of language v2: the new primitives, their settings and their scope.

use super::{errors, parse};
use crate::*;

fn kind(src: &str, name: &str) -> ResourceKind {
    let s = parse(&format!("[resources]\n{src}\n[actors.main]\nsteps = []\n")).expect("valid");
    s.resource(name).expect("defined").kind.clone()
}

#[test]
fn primitives_written_as_words_take_their_defaults() {
    let sync = |k: SyncKind| ResourceKind::Sync { kind: k, scope: Scope::Process, value: 1, parties: 0 };
    assert_eq!(kind("l = \"rlock\"", "l"), sync(SyncKind::RLock));
    assert_eq!(kind("s = \"semaphore\"", "s"), sync(SyncKind::Semaphore));
    assert_eq!(kind("s = \"bounded_semaphore\"", "s"), sync(SyncKind::BoundedSemaphore));
    assert_eq!(kind("e = \"event\"", "e"), sync(SyncKind::Event));
    assert_eq!(kind("c = \"condition\"", "c"), sync(SyncKind::Condition));
    assert_eq!(
        kind("q = \"joinable_queue\"", "q"),
        ResourceKind::Queue { maxsize: 0, joinable: true, scope: Scope::Shared }
    );
}

#[test]
fn queues_are_shared_and_primitives_per_process_unless_told() {
    assert_eq!(kind("q = \"queue\"", "q").scope(), Some(Scope::Shared));
    assert_eq!(kind("l = \"lock\"", "l").scope(), Some(Scope::Process));
    assert_eq!(kind("q = { kind = \"queue\", scope = \"process\" }", "q").scope(), Some(Scope::Process));
    assert_eq!(kind("l = { kind = \"lock\", scope = \"shared\" }", "l").scope(), Some(Scope::Shared));
    assert_eq!(kind("v = \"variable\"", "v").scope(), None, "variables have no scope: threads share, processes copy");
}

#[test]
fn settings_of_queues_semaphores_and_barriers() {
    assert_eq!(
        kind("q = { kind = \"queue\", maxsize = 2 }", "q"),
        ResourceKind::Queue { maxsize: 2, joinable: false, scope: Scope::Shared }
    );
    assert_eq!(
        kind("s = { kind = \"bounded_semaphore\", value = 3, scope = \"shared\" }", "s"),
        ResourceKind::Sync { kind: SyncKind::BoundedSemaphore, scope: Scope::Shared, value: 3, parties: 0 }
    );
    assert_eq!(
        kind("b = { kind = \"barrier\", parties = 3 }", "b"),
        ResourceKind::Sync { kind: SyncKind::Barrier, scope: Scope::Process, value: 1, parties: 3 }
    );
}

#[test]
fn a_barrier_needs_its_parties() {
    let e = errors("[resources]\nb = \"barrier\"\nc = { kind = \"barrier\" }\n[actors.main]\nsteps = []\n");
    assert_eq!(
        e,
        [
            "t.toml:2:5: a barrier needs settings: write it as a table, e.g. { kind = \"barrier\", parties = 3 }",
            "t.toml:3:5: resource `c` needs `parties`: how many actors must wait before all go on",
        ]
    );
}

#[test]
fn wrong_scopes_settings_and_ranges() {
    let e = errors(
        "[resources]\nl = { kind = \"lock\", scope = \"global\" }\nm = { kind = \"lock\", value = 2 }\nq = { kind = \"queue\", maxsize = -1 }\nb = { kind = \"barrier\", parties = 0 }\n[actors.main]\nsteps = []\n",
    );
    assert_eq!(
        e,
        [
            "t.toml:2:30: unknown scope `global`; expected `process` (threading's: one per process) or `shared` (multiprocessing's: one for every process)",
            "t.toml:3:22: unknown key `value` in resource `m`; expected `kind` or `scope`",
            "t.toml:4:33: `maxsize` must be between 0 and 1000000, found -1",
            "t.toml:5:35: `parties` must be between 1 and 10000, found 0",
        ]
    );
}
