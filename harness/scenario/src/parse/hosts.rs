//! `[hosts]` and where actors run: each host a table of its link's initial qualities, each
//! actor definition's `host`, checked against the declared hosts.

use crate::diag::{Sink, one_of};
use crate::model::{Host, Hosts, MAIN, MAX_DELAY_MS, MAX_HOSTS};
use crate::tree::{Node, Sp};

use super::fields::{self, Fields};

/// The declared hosts, in file order.
pub(crate) fn parse(node: &Sp<Node>, sink: &mut Sink<'_>) -> Vec<Host> {
    let Some(mut all) = Fields::of(node, "`hosts`", sink) else { return Vec::new() };
    let mut hosts = Vec::new();
    for (name, spec) in all.rest() {
        if !valid_name(&name.v) {
            sink.error(
                &name.span,
                format!("host name `{}`: use letters, digits, `-` and `_` (at most 32 characters)", name.v),
            );
            continue;
        }
        let Some(mut f) = Fields::of(spec, format!("host `{}`", name.v), sink) else { continue };
        let delay = f.take("delay_ms").map_or(Some(0), |d| fields::int(d, "`delay_ms`", 0, MAX_DELAY_MS, sink));
        let loss = f.take("loss_percent").map_or(Some(0), |l| fields::int(l, "`loss_percent`", 0, 100, sink));
        f.finish(&["delay_ms", "loss_percent"], sink);
        // Declared even with a bad setting (already reported), so that its uses are not errors too.
        let (delay_ms, loss_percent) = (delay.unwrap_or(0) as u32, loss.unwrap_or(0) as u32);
        hosts.push(Host { name: name.v.clone(), delay_ms, loss_percent });
    }
    if hosts.len() > MAX_HOSTS {
        sink.error(&node.span, format!("at most {MAX_HOSTS} hosts, found {}", hosts.len()));
    }
    hosts
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks a host name written at `node` against the declared hosts.
pub(crate) fn host_name(node: &Sp<Node>, hosts: &[String], sink: &mut Sink<'_>) -> Option<String> {
    let s = fields::string(node, "a host name", sink)?;
    if hosts.contains(&s.v) {
        return Some(s.v);
    }
    let message = if hosts.is_empty() {
        format!("unknown host `{}`: this scenario declares no hosts (add a `[hosts]` table)", s.v)
    } else {
        let names: Vec<&str> = hosts.iter().map(String::as_str).collect();
        format!("unknown host `{}`; hosts declared: {}", s.v, one_of(&names))
    };
    sink.error(&s.span, message);
    None
}

/// Each actor definition's `host`, checked; `main` must name one when hosts are declared (an
/// actor left on this machine's own network could reach past the scenario's hosts).
pub(crate) fn placement<'t>(
    hosts: Vec<Host>,
    actors: impl Iterator<Item = (&'t Sp<String>, Option<&'t Sp<Node>>)>,
    actors_span: &std::ops::Range<usize>,
    sink: &mut Sink<'_>,
) -> Hosts {
    let names: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
    let mut placed = Vec::new();
    let mut main_placed = false;
    for (actor, host) in actors {
        let Some(host) = host else { continue };
        if let Some(h) = host_name(host, &names, sink) {
            main_placed |= actor.v == MAIN;
            placed.push((actor.v.clone(), h));
        } else if actor.v == MAIN {
            main_placed = true;
        }
    }
    if !names.is_empty() && !main_placed {
        sink.error(
            actors_span,
            "`[actors.main]` needs `host`: in a scenario with hosts every actor runs on one (an actor without \
             `host` runs on the host of whoever starts it)",
        );
    }
    Hosts { hosts, placed }
}
