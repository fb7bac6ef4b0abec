//! `[divergence.IMPL]`: what another implementation does differently, why, and where that is
//! documented. One table per implementation, or an array of them (`[[divergence.cpython]]`) for
//! differences on separate backends.
//!
//! ```toml
//! [divergence.cpython]
//! reason = "a worker that dies takes its task with it: the pool waits for ever"
//! source = "https://bugs.python.org/issue22393"
//! backends = ["process-pool"]          # optional: where it differs (default: everywhere)
//! os = ["macos"]                       # optional: on which OS (default: every one)
//! hang = { main = "join" }             # the run must time out, main in a `join` step
//! timeout_ms = 5000                    # optional: this implementation's run timeout
//! expect = { exit = { main = 0 } }     # optional: keys replacing those of `[expect]`
//! ```

use std::ops::Range;
use std::time::Duration;

use crate::backend::{Applicability, Backend, applicability};
use crate::diag::{Sink, did_you_mean, one_of};
use crate::divergence::{Divergence, Hang, Implementation, OSES};
use crate::model::Scenario;
use crate::tree::{Node, Sp, Table};

use super::Known;
use super::fields::{self, Fields};

const KEYS: [&str; 7] = ["reason", "source", "backends", "os", "expect", "hang", "timeout_ms"];

/// A parsed divergence, with the span of its `backends` (checked once the scenario is built).
pub(crate) struct Parsed {
    pub(crate) divergence: Divergence,
    backends_span: Range<usize>,
}

/// Parses the `divergence` table; `expect` is the scenario's own `[expect]`, which each
/// divergence's `expect` keys replace.
pub(crate) fn parse(node: &Sp<Node>, expect: Option<&Sp<Node>>, known: &Known, sink: &mut Sink<'_>) -> Vec<Parsed> {
    let Some(mut all) = Fields::of(node, "`divergence`", sink) else { return Vec::new() };
    let mut out = Vec::new();
    for (key, value) in all.rest() {
        let Some(implementation) = implementation(key, sink) else { continue };
        let tables: Vec<&Sp<Node>> = match &value.v {
            Node::Array(items) => items.iter().collect(),
            _ => vec![value],
        };
        for t in tables {
            let what = format!("`divergence.{}`", key.v);
            if let Some(p) = one(implementation, t, &what, expect, known, sink) {
                out.push(p);
            }
        }
    }
    out
}

fn implementation(key: &Sp<String>, sink: &mut Sink<'_>) -> Option<Implementation> {
    match Implementation::parse(&key.v) {
        Some(Implementation::Reference) => {
            sink.error(
                &key.span,
                "the reference is what `[expect]` and the snapshots describe: a divergence is declared for another implementation (`cpython`)",
            );
            None
        }
        Some(i) => Some(i),
        None => {
            let others: Vec<&str> =
                Implementation::ALL.iter().filter(|i| **i != Implementation::Reference).map(|i| i.as_str()).collect();
            let hint = did_you_mean(&key.v, &others, "expected");
            sink.error(&key.span, format!("unknown implementation `{}`; {hint}", key.v));
            None
        }
    }
}

fn one(
    implementation: Implementation,
    node: &Sp<Node>,
    what: &str,
    scenario_expect: Option<&Sp<Node>>,
    known: &Known,
    sink: &mut Sink<'_>,
) -> Option<Parsed> {
    let mut f = Fields::of(node, what, sink)?;
    let reason = text(&mut f, "reason", "why the implementation differs, in a sentence", sink);
    let source = text(&mut f, "source", "a link to where the difference is documented", sink);
    if let Some(s) = &source
        && !(s.v.starts_with("https://") || s.v.starts_with("http://"))
    {
        sink.error(&s.span, "`source` must be a link (https://...) to where the difference is documented");
    }
    let backends_node = f.take("backends");
    let backends = backends_node.and_then(|b| backend_list(b, sink));
    let os = f.take("os").and_then(|o| os_list(o, sink));
    let expect = f.take("expect").map(|e| {
        // Errors are reported where the divergence writes them; the merged table is then read
        // quietly, as its other keys were checked with `[expect]` itself.
        super::expect::parse(e, known, sink);
        let mut quiet = sink.quiet();
        super::expect::parse(&merged(scenario_expect, e), known, &mut quiet)
    });
    let hang = f.take("hang").and_then(|h| hang(h, known, sink));
    let timeout = f
        .take("timeout_ms")
        .and_then(|t| fields::int(t, "`timeout_ms`", 1, 3_600_000, sink))
        .map(|ms| Duration::from_millis(ms as u64));
    if expect.is_none() && hang.is_none() && !f.has("expect") && !f.has("hang") {
        sink.error(
            &node.span,
            format!("{what} must say what differs: `expect` (expectations in place of `[expect]`'s) or `hang` (the run must time out)"),
        );
    }
    f.finish(&KEYS, sink);
    let divergence =
        Divergence { implementation, reason: reason?.v, source: source?.v, backends, os, expect, hang, timeout };
    Some(Parsed { divergence, backends_span: backends_node.map_or(node.span.clone(), |b| b.span.clone()) })
}

fn text(f: &mut Fields<'_>, key: &str, meaning: &str, sink: &mut Sink<'_>) -> Option<Sp<String>> {
    let Some(node) = f.take(key) else {
        sink.error(&f.span, format!("{} needs `{key}`: {meaning}", f.what()));
        return None;
    };
    let s = fields::string(node, &format!("`{key}`"), sink)?;
    if s.v.trim().is_empty() {
        sink.error(&s.span, format!("`{key}` must not be empty: {meaning}"));
        return None;
    }
    Some(s)
}

fn backend_list(node: &Sp<Node>, sink: &mut Sink<'_>) -> Option<Vec<Backend>> {
    let names = fields::strings(node, "`backends`", sink)?;
    let mut out = Vec::new();
    for n in names {
        match Backend::parse(&n.v) {
            Some(b) => out.push(b),
            None => {
                let all: Vec<&str> = Backend::ALL.iter().map(|b| b.as_str()).collect();
                sink.error(&n.span, format!("unknown backend `{}`; {}", n.v, did_you_mean(&n.v, &all, "expected")));
            }
        }
    }
    Some(out)
}

fn os_list(node: &Sp<Node>, sink: &mut Sink<'_>) -> Option<Vec<String>> {
    let names = fields::strings(node, "`os`", sink)?;
    let mut out = Vec::new();
    for n in names {
        if OSES.contains(&n.v.as_str()) {
            out.push(n.v);
        } else {
            let hint = did_you_mean(&n.v, &OSES, "expected");
            sink.error(&n.span, format!("unknown operating system `{}`; {hint}", n.v));
        }
    }
    Some(out)
}

/// The scenario's `[expect]` with each key of the divergence's `expect` in place of its own.
fn merged(base: Option<&Sp<Node>>, over: &Sp<Node>) -> Sp<Node> {
    let mut entries: Table = match base.map(|b| &b.v) {
        Some(Node::Table(t)) => t.clone(),
        _ => Vec::new(),
    };
    if let Node::Table(keys) = &over.v {
        for (k, v) in keys {
            match entries.iter_mut().find(|(old, _)| old.v == k.v) {
                Some(slot) => *slot = (k.clone(), v.clone()),
                None => entries.push((k.clone(), v.clone())),
            }
        }
    }
    Sp { v: Node::Table(entries), span: over.span.clone() }
}

fn hang(node: &Sp<Node>, known: &Known, sink: &mut Sink<'_>) -> Option<Hang> {
    let mut f = Fields::of(node, "`hang`", sink)?;
    let verbs: Vec<&str> = super::steps::VERBS.iter().map(|(v, _)| *v).collect();
    let (mut at, mut offsets) = (Vec::new(), Vec::new());
    for (k, v) in f.rest() {
        if !known.is_instance(&k.v) {
            let names: Vec<&str> = known.instances.iter().map(String::as_str).collect();
            sink.error(
                &k.span,
                format!(
                    "unknown actor instance `{}`; {}",
                    k.v,
                    did_you_mean(&k.v, &names, "instances started in this scenario:")
                ),
            );
            continue;
        }
        let Some(verb) = fields::string(v, "the step the actor hangs in (its verb)", sink) else { continue };
        if !verbs.contains(&verb.v.as_str()) {
            let hint = did_you_mean(&verb.v, &verbs, "a step is one of");
            sink.error(&verb.span, format!("unknown step `{}`; {hint}", verb.v));
            continue;
        }
        at.push((k.v.clone(), verb.v));
        offsets.push(k.span.start);
    }
    Some(Hang { at, written: sink.locate(&offsets) })
}

/// Checks, once the scenario is built, that each divergence names backends the scenario runs on
/// and that no two divergences of one implementation cover the same backend.
pub(crate) fn check(scenario: &Scenario, parsed: &[Parsed], sink: &mut Sink<'_>) {
    let runs_on: Vec<Backend> = applicability(scenario, true)
        .into_iter()
        .filter(|(_, a)| !matches!(a, Applicability::NotApplicable(_)))
        .map(|(b, _)| b)
        .collect();
    let names: Vec<&str> = runs_on.iter().map(|b| b.as_str()).collect();
    for (i, p) in parsed.iter().enumerate() {
        let d = &p.divergence;
        for b in d.backends.iter().flatten() {
            if !runs_on.contains(b) {
                sink.error(
                    &p.backends_span,
                    format!("`{b}` is not a backend this scenario runs on; it runs on {}", one_of(&names)),
                );
            }
        }
        let clash = parsed[..i].iter().map(|q| &q.divergence).find(|q| {
            q.implementation == d.implementation
                && runs_on.iter().any(|b| OSES.iter().any(|os| q.applies_on(*b, os) && d.applies_on(*b, os)))
        });
        if clash.is_some() {
            sink.error(
                &p.backends_span,
                format!(
                    "two divergences of `{}` cover the same backend on the same OS; give each its own `backends` or `os`",
                    d.implementation
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{Backend, Diagnostics, ExitExpect, Implementation, Scenario, VarExpect, parse_str};

    fn parse(src: &str) -> Result<Scenario, Diagnostics> {
        parse_str(Path::new("t.toml"), src)
    }

    fn errors(src: &str) -> Vec<String> {
        match parse(src) {
            Ok(_) => panic!("expected errors"),
            Err(d) => d.0.iter().map(|d| d.to_string()).collect(),
        }
    }

    const RACE: &str = r#"
[resources]
balance = "variable"
[actors.main]
steps = [ { start = "t", as = "t1" }, { join = "t1" } ]
[actors.t]
steps = [ { add = "balance", amount = 1 } ]
[expect]
exit = { t1 = 0 }
variables = { balance = { threads = "nondeterministic", processes = 0 } }
"#;

    #[test]
    fn a_divergence_replaces_the_keys_it_gives_and_keeps_the_others() {
        let src = format!(
            "{RACE}\n[divergence.cpython]\nreason = \"no update is lost\"\nsource = \"https://example.org/x\"\nbackends = [\"thread\"]\nexpect = {{ variables = {{ balance = 0 }} }}\n"
        );
        let s = parse(&src).expect("valid");
        assert!(s.divergence(Implementation::Cpython, Backend::Fork).is_none());
        let d = s.divergence(Implementation::Cpython, Backend::Thread).expect("declared on thread");
        assert_eq!((d.reason.as_str(), d.source.as_str()), ("no update is lost", "https://example.org/x"));
        let e = d.expect.as_ref().expect("expectations");
        assert_eq!(e.variables[0].threads, VarExpect::Exactly(0));
        assert_eq!(
            e.exit,
            [(crate::NamePattern::literal("t1"), ExitExpect::Code(0))],
            "keys it does not give are kept"
        );
        let diverged = s.diverged(d);
        assert_eq!(diverged.expect.variables[0].threads, VarExpect::Exactly(0));
        assert_eq!(s.expect.variables[0].threads, VarExpect::Nondeterministic, "the reference's stay");
    }

    #[test]
    fn a_hang_with_its_own_timeout() {
        let src = format!(
            "{RACE}\n[divergence.cpython]\nreason = \"r\"\nsource = \"https://e.org\"\nhang = {{ main = \"join\" }}\ntimeout_ms = 3000\n"
        );
        let s = parse(&src).expect("valid");
        let d = &s.divergences[0];
        let hang = d.hang.as_ref().expect("a hang");
        assert_eq!(hang.at, [("main".to_string(), "join".to_string())]);
        let line = src.lines().position(|l| l.starts_with("hang = ")).expect("written") + 1;
        assert_eq!(hang.written, [(line, 10)], "where `main` is written");
        assert_eq!(s.diverged(d).timeout.as_millis(), 3000);
        assert!(d.applies_to(Backend::Spawn));
    }

    #[test]
    fn every_mistake_is_located_and_explained() {
        let src = format!(
            "{RACE}\n[divergence.reference]\nreason = \"r\"\n\n[divergence.pypy]\nreason = \"r\"\n\n[divergence.cpython]\nreason = \"r\"\nsource = \"bpo-1\"\nbackends = [\"thread\", \"process-pool\"]\nhang = {{ nobody = \"join\", main = \"sleeping\" }}\nextra = 1\n"
        );
        assert_eq!(
            errors(&src),
            [
                "t.toml:12:13: the reference is what `[expect]` and the snapshots describe: a divergence is declared for another implementation (`cpython`)",
                "t.toml:15:13: unknown implementation `pypy`; expected `cpython`",
                "t.toml:20:10: `source` must be a link (https://...) to where the difference is documented",
                "t.toml:21:12: `process-pool` is not a backend this scenario runs on; it runs on `thread`, `fork` or `spawn`",
                "t.toml:22:10: unknown actor instance `nobody`; instances started in this scenario: `main` or `t1`",
                format!(
                    "t.toml:22:34: unknown step `sleeping`; a step is one of {}",
                    crate::diag::one_of(&super::super::steps::VERBS.iter().map(|(v, _)| *v).collect::<Vec<_>>())
                )
                .as_str(),
                "t.toml:23:1: unknown key `extra` in `divergence.cpython`; expected `reason`, `source`, `backends`, `os`, `expect`, `hang` or `timeout_ms`",
            ]
        );
    }

    #[test]
    fn a_divergence_may_be_declared_for_some_operating_systems() {
        let one = "reason = \"r\"\nsource = \"https://e.org\"\nhang = { main = \"join\" }";
        let src = format!(
            "{RACE}\n[[divergence.cpython]]\n{one}\nos = [\"macos\"]\n\n[[divergence.cpython]]\n{one}\nos = [\"linux\", \"windows\"]\n"
        );
        let s = parse(&src).expect("valid: one per OS");
        assert!(s.divergences[0].applies_on(Backend::Thread, "macos"));
        assert!(!s.divergences[0].applies_on(Backend::Thread, "linux"));
        assert!(s.divergences[1].applies_on(Backend::Thread, "linux"));
        let bad = format!("{RACE}\n[divergence.cpython]\n{one}\nos = [\"plan9\"]\n");
        assert_eq!(
            errors(&bad),
            ["t.toml:16:7: unknown operating system `plan9`; expected `linux`, `macos` or `windows`"]
        );
    }

    #[test]
    fn reason_and_source_are_required() {
        let src = format!("{RACE}\n[divergence.cpython]\nreason = \" \"\nhang = {{ main = \"join\" }}\n");
        assert_eq!(
            errors(&src),
            [
                "t.toml:12:1: `divergence.cpython` needs `source`: a link to where the difference is documented",
                "t.toml:13:10: `reason` must not be empty: why the implementation differs, in a sentence",
            ]
        );
    }

    #[test]
    fn a_divergence_must_say_what_differs_and_not_overlap() {
        let one = "reason = \"r\"\nsource = \"https://e.org\"";
        let src = format!(
            "{RACE}\n[[divergence.cpython]]\n{one}\n\n[[divergence.cpython]]\n{one}\nbackends = [\"thread\"]\nhang = {{ main = \"join\" }}\n"
        );
        let e = errors(&src);
        assert!(e[0].contains("`divergence.cpython` must say what differs"), "{e:?}");
        assert!(
            e[1].ends_with(
                "two divergences of `cpython` cover the same backend on the same OS; give each its own `backends` or `os`"
            ),
            "{e:?}"
        );
        assert_eq!(e.len(), 2, "{e:?}");
    }

    #[test]
    fn errors_in_a_divergences_expect_point_into_it() {
        let src = format!(
            "{RACE}\n[divergence.cpython]\nreason = \"r\"\nsource = \"https://e.org\"\nexpect = {{ exit = {{ ghost = 0 }} }}\n"
        );
        let e = errors(&src);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("t.toml:15:21: unknown actor instance `ghost`"), "{e:?}");
    }
}
