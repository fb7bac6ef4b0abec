//! Conformance: one run of a scenario on a backend by an implementation, judged against the
//! reference's expectations and snapshot, or against the divergence the scenario declares for
//! that implementation (the results are gathered in a [`Matrix`]).
//!
//! Agreement is the default: a run passes when its verdict holds and its normalized trace equals
//! the reference's snapshot. Where a divergence is declared, the run must diverge as declared
//! (its own expectations, its hang, its own snapshot `NAME@FAMILY.IMPL.snap`); a divergence that
//! does not happen is reported, as an unexpected pass is in web-platform-tests, so that a stale
//! declaration cannot hide a fixed bug or a new one.

use std::path::{Path, PathBuf};

use procthread_scenario::{Backend, Divergence, Implementation, Scenario};

use crate::events::EventKind;
pub use crate::matrix::{Cell, DeclaredDivergence, Matrix, Status};
use crate::outcome::{self, RunRecord, Verdict};
use crate::snapshots;

/// The snapshot a run is compared with: the reference's, shared by every implementation
/// (`NAME@FAMILY`), or a divergence's own (`NAME@FAMILY.IMPL`, and `.OS` after it for a
/// divergence declared for some operating systems only).
pub fn snapshot_name(scenario: &str, backend: Backend, divergent: Option<(&Divergence, &str)>) -> String {
    let shared = snapshots::name(scenario, backend);
    match divergent {
        Some((d, os)) if d.os.is_some() => format!("{shared}.{}.{os}", d.implementation),
        Some((d, _)) => format!("{shared}.{}", d.implementation),
        None => shared,
    }
}

/// Where a snapshot of `scenario` lives: under `dir`, in the scenario's subfolders if it has
/// any (`cpython/lock_tests/X` keeps its snapshots in `dir/cpython/lock_tests/`).
pub fn snapshot_file(dir: &Path, scenario: &str, name: &str) -> PathBuf {
    let folder = match scenario.rsplit_once('/') {
        Some((folders, _)) => folders.split('/').fold(dir.to_path_buf(), |d, f| d.join(f)),
        None => dir.to_path_buf(),
    };
    // The name may carry the scenario's folders itself (`cpython/x/Y@threads`): its file is its
    // last part.
    let stem = name.rsplit('/').next().unwrap_or(name);
    folder.join(format!("{stem}.snap"))
}

/// A run judged against one expected outcome.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub verdict: Verdict,
    /// The normalized trace, with the verdict's checks.
    pub trace: String,
    /// The snapshot it is compared with (its name and file), and what it holds (`None`: no such
    /// file yet).
    pub snapshot: String,
    pub file: PathBuf,
    pub expected: Option<String>,
}

impl Judgement {
    /// The verdict holds, and the trace matches the snapshot (or there is none yet).
    pub fn holds(&self) -> bool {
        self.verdict.passed() && self.expected.as_deref().is_none_or(|e| snapshots::same(e, &self.trace))
    }

    fn problems(&self) -> Vec<String> {
        let mut out = self.verdict.failures.clone();
        if self.verdict.passed()
            && let Some(e) = &self.expected
            && !snapshots::same(e, &self.trace)
        {
            let diff = snapshots::Diff::new(&self.file.display().to_string(), e, &self.trace);
            out.push(format!("trace differs from {}:\n{}", self.file.display(), diff.plain("    ")));
        }
        out
    }
}

/// Judges a run as the reference's expectations and snapshot say.
pub fn as_reference(scenario: &Scenario, backend: Backend, record: &RunRecord, dir: &Path) -> Judgement {
    let verdict = outcome::judge(scenario, backend, record);
    let trace = outcome::normalize(scenario, backend, record, &verdict);
    let snapshot = snapshot_name(&scenario.name, backend, None);
    let file = snapshot_file(dir, &scenario.name, &snapshot);
    let expected = snapshots::read(&file);
    Judgement { verdict, trace, snapshot, file, expected }
}

/// Judges a run as `divergence` says it must come out.
pub fn as_declared(
    scenario: &Scenario,
    divergence: &Divergence,
    backend: Backend,
    record: &RunRecord,
    dir: &Path,
) -> Judgement {
    let diverged = scenario.diverged(divergence);
    let verdict = match &divergence.hang {
        None => outcome::judge(&diverged, backend, record),
        Some(hang) if record.timed_out => {
            // The timeout is the declared outcome: judge the rest of the run as it stood when it
            // was killed. What happened must hold; its end never came, so the variables main
            // reports at its end, the exits of actors that never ended, and the bounds on
            // actors or tasks none of which ended, are not judged.
            let stood = RunRecord { timed_out: false, ..record.clone() };
            let ends = |e: &crate::events::Event| matches!(e.kind, EventKind::Exit { .. } | EventKind::Finished { .. });
            // An exit is judged on the `exit` event its joiner recorded.
            let ended = |actor: &str| {
                record.events.iter().any(|e| e.actor == actor && matches!(e.kind, EventKind::Exit { .. }))
            };
            let one_ended = |target: &str| {
                record.events.iter().any(|e| {
                    ends(e)
                        && if target == "actors" {
                            e.pool.is_none() && e.actor != procthread_scenario::MAIN
                        } else {
                            e.pool.as_deref() == Some(target)
                        }
                })
            };
            let mut as_it_stood = diverged.clone();
            as_it_stood.expect.variables.clear();
            as_it_stood
                .expect
                .exit
                .retain(|(pattern, _)| record.events.iter().any(|e| pattern.matches(&e.actor) && ended(&e.actor)));
            as_it_stood.expect.max_concurrent.retain(|(target, _)| one_ended(target));
            let mut v = outcome::judge(&as_it_stood, backend, &stood);
            for (i, (actor, verb)) in hang.at.iter().enumerate() {
                let here = hang.location(&scenario.path, i);
                match step_at_end(&record.events, actor) {
                    Some(at) if at == *verb => v.checks.push(format!("hung as declared: {actor} in {verb}")),
                    Some(at) => v.failures.push(format!("{here}hung with `{actor}` in {at}, declared in {verb}")),
                    None => v.failures.push(format!(
                        "{here}`{actor}` had ended, or never started, when the run was killed; declared hanging in {verb}"
                    )),
                }
            }
            v.checks.push(format!("timed out as declared, after {:?}", diverged.timeout));
            v
        }
        Some(_) => {
            let mut v = outcome::judge(&diverged, backend, record);
            v.failures.insert(0, format!("declared to hang until its timeout ({:?}), but it ended", diverged.timeout));
            v
        }
    };
    let trace = outcome::normalize(&diverged, backend, record, &verdict);
    let snapshot = snapshot_name(&scenario.name, backend, Some((divergence, std::env::consts::OS)));
    let file = snapshot_file(dir, &scenario.name, &snapshot);
    let expected = snapshots::read(&file);
    Judgement { verdict, trace, snapshot, file, expected }
}

/// The verb of the step `actor` was in when the events end, if it had not ended.
fn step_at_end(events: &[crate::events::Event], actor: &str) -> Option<String> {
    let mut at = None;
    for e in events.iter().filter(|e| e.actor == actor) {
        match &e.kind {
            EventKind::At { verb, .. } => at = Some(verb.clone()),
            EventKind::Finished { .. } | EventKind::Exit { .. } => return None,
            _ => {}
        }
    }
    at
}

/// The outcome of one run, and the judgement that decided it (for showing its trace).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub details: Vec<String>,
    pub judgement: Judgement,
}

/// Decides a run's status: agreement, a divergence held, gone, or a failure.
pub fn evaluate(
    scenario: &Scenario,
    backend: Backend,
    implementation: Implementation,
    record: &RunRecord,
    dir: &Path,
) -> Outcome {
    let reference = as_reference(scenario, backend, record, dir);
    let Some(divergence) = scenario.divergence(implementation, backend) else {
        let status = if reference.holds() { Status::Pass } else { Status::Fail };
        return Outcome { status, details: notes(&reference), judgement: reference };
    };
    let declared = as_declared(scenario, divergence, backend, record, dir);
    let agrees = reference.holds() && reference.expected.is_some();
    let (status, details) = if declared.holds()
        && reference.expected.as_deref().is_some_and(|e| snapshots::same(e, &declared.trace))
    {
        (
            Status::Gone,
            vec![format!(
                "the divergence declared for {implementation} changes nothing on {backend}: its trace is the reference's; remove it, or narrow its `backends`"
            )],
        )
    } else if declared.holds() {
        (Status::Held, notes(&declared))
    } else if agrees {
        (
            Status::Gone,
            vec![format!(
                "the divergence declared for {implementation} did not happen: the run agrees with the reference ({}); remove the declaration, or narrow its `backends`",
                reference.snapshot
            )],
        )
    } else {
        let mut d = declared.problems();
        d.push(format!("(judged as the scenario's [divergence.{implementation}] declares; it does not agree with the reference either)"));
        (Status::Fail, d)
    };
    Outcome { status, details, judgement: declared }
}

fn notes(j: &Judgement) -> Vec<String> {
    let mut out = j.problems();
    if j.verdict.passed() && j.expected.is_none() {
        out.push(format!("no snapshot at {} yet", j.file.display()));
    }
    out
}

/// Per-implementation snapshots (`NAME@FAMILY.IMPL.snap`, in `dir` and its subfolders) that no
/// declared divergence accounts for: each must be removed (the divergence is gone) or its
/// divergence declared.
pub fn orphan_snapshots(dir: &Path, scenarios: &[Scenario]) -> std::io::Result<Vec<PathBuf>> {
    let mut declared = Vec::new();
    for s in scenarios {
        for (b, _) in procthread_scenario::applicable(s, true) {
            for d in s.divergences.iter().filter(|d| d.applies_to(b)) {
                let oses: Vec<&str> = d.os.as_ref().map_or(vec![""], |o| o.iter().map(String::as_str).collect());
                for os in oses {
                    let name = snapshot_name(&s.name, b, Some((d, os)));
                    declared.push(snapshot_file(dir, &s.name, &name));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
                continue;
            }
            let Some(stem) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".snap")) else {
                continue;
            };
            // `NAME@FAMILY.IMPL` or `NAME@FAMILY.IMPL.OS`
            let mut parts = stem.rsplit('.');
            let last = parts.next().unwrap_or_default();
            let before = parts.next().unwrap_or_default();
            let per_implementation = Implementation::parse(last).is_some()
                || (procthread_scenario::OSES.contains(&last) && Implementation::parse(before).is_some());
            if per_implementation && !declared.contains(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;

    fn scenario(extra: &str) -> (tempfile::TempDir, Scenario) {
        let dir = tempfile::tempdir().expect("dir");
        let src = format!(
            "[resources]\nbalance = \"variable\"\n[actors.main]\nsteps = [ {{ start = \"t\" }}, {{ join = \"t\" }} ]\n[actors.t]\nsteps = [ {{ add = \"balance\", amount = 1 }} ]\n[expect]\nvariables = {{ balance = {{ threads = \"nondeterministic\", processes = 0 }} }}\n{extra}"
        );
        let file = dir.path().join("race.toml");
        std::fs::write(&file, src).expect("write");
        let s = procthread_scenario::load(&file).expect("valid");
        (dir, s)
    }

    const DECLARED: &str = "[divergence.cpython]\nreason = \"no update is lost\"\nsource = \"https://example.org\"\nbackends = [\"thread\"]\nexpect = { variables = { balance = 0 } }\n";

    fn record(balance: i64) -> RunRecord {
        let ev = |actor: &str, kind| Event { actor: actor.into(), pid: 1, t_us: 0, pool: None, kind };
        RunRecord::clean(
            "race",
            Backend::Thread,
            vec![
                ev("t", EventKind::Exit { code: 0 }),
                ev("main", EventKind::Variable { name: "balance".into(), value: balance }),
            ],
        )
    }

    /// Writes the snapshots a reviewed run would have: the reference's and the divergence's.
    fn snapshots(dir: &Path, s: &Scenario) {
        let reference = as_reference(s, Backend::Thread, &record(7), dir);
        let body = |t: &str| format!("---\nsource: test\n---\n{t}");
        std::fs::write(&reference.file, body(&reference.trace)).expect("write");
        if let Some(d) = s.divergence(Implementation::Cpython, Backend::Thread) {
            let declared = as_declared(s, d, Backend::Thread, &record(0), dir);
            std::fs::write(&declared.file, body(&declared.trace)).expect("write");
        }
    }

    #[test]
    fn agreement_passes_and_a_difference_fails() {
        let (dir, s) = scenario("");
        snapshots(dir.path(), &s);
        let ok = evaluate(&s, Backend::Thread, Implementation::Cpython, &record(3), dir.path());
        assert_eq!(ok.status, Status::Pass, "{:?}", ok.details);
        let mut crashed = record(3);
        crashed.executor_code = Some(1);
        let bad = evaluate(&s, Backend::Thread, Implementation::Cpython, &crashed, dir.path());
        assert_eq!(bad.status, Status::Fail);
    }

    #[test]
    fn a_declared_divergence_holds_and_one_that_stops_happening_is_reported() {
        let (dir, s) = scenario(DECLARED);
        snapshots(dir.path(), &s);
        let held = evaluate(&s, Backend::Thread, Implementation::Cpython, &record(0), dir.path());
        assert_eq!(held.status, Status::Held, "{:?}", held.details);
        assert!(held.judgement.trace.contains("variable balance = 0"), "{}", held.judgement.trace);
        // CPython loses an update after all: the run is the reference's race, not the declared 0.
        let gone = evaluate(&s, Backend::Thread, Implementation::Cpython, &record(5), dir.path());
        assert_eq!(gone.status, Status::Gone);
        assert!(
            gone.details[0].starts_with("the divergence declared for cpython did not happen"),
            "{:?}",
            gone.details
        );
        // The reference itself is judged by `[expect]` alone.
        let reference = evaluate(&s, Backend::Thread, Implementation::Reference, &record(5), dir.path());
        assert_eq!(reference.status, Status::Pass, "{:?}", reference.details);
    }

    #[test]
    fn a_divergence_that_changes_nothing_is_reported() {
        let src = DECLARED.replace("[\"thread\"]", "[\"fork\"]");
        let (dir, s) = scenario(&src);
        let mut r = record(0);
        r.backend = Backend::Fork;
        let reference = as_reference(&s, Backend::Fork, &r, dir.path());
        std::fs::write(&reference.file, format!("---\nsource: test\n---\n{}", reference.trace)).expect("w");
        let d = s.divergence(Implementation::Cpython, Backend::Fork).expect("declared");
        let declared = as_declared(&s, d, Backend::Fork, &r, dir.path());
        std::fs::write(&declared.file, format!("---\nsource: test\n---\n{}", declared.trace)).expect("w");
        let out = evaluate(&s, Backend::Fork, Implementation::Cpython, &r, dir.path());
        assert_eq!(out.status, Status::Gone);
        assert!(out.details[0].contains("changes nothing on fork"), "{:?}", out.details);
    }

    #[test]
    fn a_declared_hang_holds_only_when_the_run_times_out_in_the_declared_step() {
        let hang = "[divergence.cpython]\nreason = \"r\"\nsource = \"https://e.org\"\nhang = { main = \"join\" }\ntimeout_ms = 2000\n";
        let (dir, s) = scenario(hang);
        let d = s.divergence(Implementation::Cpython, Backend::Thread).expect("declared");
        let mut r = record(0);
        r.events = vec![Event {
            actor: "main".into(),
            pid: 1,
            t_us: 0,
            pool: None,
            kind: EventKind::At { line: 4, verb: "join".into() },
        }];
        (r.timed_out, r.executor_code) = (true, None);
        let j = as_declared(&s, d, Backend::Thread, &r, dir.path());
        assert!(j.verdict.passed(), "{:?}", j.verdict.failures);
        assert!(j.trace.contains("hung as declared: main in join\ntimed out as declared, after 2s"), "{}", j.trace);
        let ended = as_declared(&s, d, Backend::Thread, &record(0), dir.path());
        assert!(ended.verdict.failures[0].starts_with("declared to hang until its timeout (2s), but it ended"));
        // Hung elsewhere: the failure points at the declaration (`main` of `hang`, line 12).
        let mut elsewhere = r.clone();
        elsewhere.events[0].kind = EventKind::At { line: 4, verb: "start".into() };
        let j = as_declared(&s, d, Backend::Thread, &elsewhere, dir.path());
        let want = format!("{}:12:10: hung with `main` in start, declared in join", s.path.display());
        assert_eq!(j.verdict.failures, [want]);
        // What no actor got to the end of is not judged: a bound on started actors, none ended.
        let mut bounded = s.clone();
        bounded.expect.max_concurrent = vec![("actors".to_string(), 1)];
        let j = as_declared(&bounded, d, Backend::Thread, &r, dir.path());
        assert!(j.verdict.passed(), "{:?}", j.verdict.failures);
        assert!(!outcome::judge(&bounded, Backend::Thread, &RunRecord { timed_out: false, ..r.clone() }).passed());
    }

    #[test]
    fn per_implementation_snapshots_need_a_declared_divergence() {
        let (dir, s) = scenario(DECLARED);
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        for name in ["race@threads.cpython", "race@processes.cpython", "race@threads", "other@threads.cpython"] {
            std::fs::write(snapshot_file(dir.path(), "race", name), "---\n---\n").expect("write");
        }
        std::fs::write(snapshot_file(dir.path(), "sub/race", "race@threads.cpython"), "---\n---\n").expect("write");
        let orphans = orphan_snapshots(dir.path(), &[s]).expect("read");
        let names: Vec<String> = orphans
            .iter()
            .filter_map(|p| p.strip_prefix(dir.path()).ok())
            .map(|n| n.to_string_lossy().replace('\\', "/"))
            .collect();
        assert_eq!(
            names,
            ["other@threads.cpython.snap", "race@processes.cpython.snap", "sub/race@threads.cpython.snap"]
        );
        // A divergence declared for some OSes has a snapshot per OS, named after it.
        let macos_only = DECLARED.replace("backends = [\"thread\"]", "backends = [\"thread\"]\nos = [\"macos\"]");
        let (dir, s) = scenario(&macos_only);
        for name in ["race@threads.cpython.macos", "race@threads.cpython.linux", "race@threads.cpython"] {
            std::fs::write(snapshot_file(dir.path(), "race", name), "---\n---\n").expect("write");
        }
        let orphans = orphan_snapshots(dir.path(), &[s]).expect("read");
        let names: Vec<_> =
            orphans.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["race@threads.cpython.linux.snap", "race@threads.cpython.snap"]);
    }
}
