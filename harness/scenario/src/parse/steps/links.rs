//! Steps about hosts: `start`'s `host`, and `link`, `cut` and `restore` of a host's link.

use crate::model::{LinkChange, MAX_DELAY_MS, StepKind};
use crate::tree::{Node, Sp};

use super::super::fields::Fields;
use super::super::hosts::host_name;
use super::super::values;
use super::StepParser;

impl StepParser<'_, '_, '_> {
    /// `start`'s `host`: `Some(None)` when the step names none.
    pub(super) fn start_host(&mut self, f: &mut Fields<'_>) -> Option<Option<String>> {
        match f.take("host") {
            Some(h) => Some(Some(host_name(h, &self.known.hosts, self.sink)?)),
            None => Some(None),
        }
    }

    pub(super) fn link_step(&mut self, verb: &str, target: &Sp<Node>, f: &mut Fields<'_>) -> Option<StepKind> {
        let host = host_name(target, &self.known.hosts, self.sink)?;
        let change = match verb {
            "cut" => LinkChange::Cut,
            "restore" => LinkChange::Restore,
            _ => {
                let delay_ms = match f.take("delay_ms") {
                    Some(d) => Some(values::int(d, "`delay_ms`", 0, MAX_DELAY_MS, &self.scope, self.sink)?),
                    None => None,
                };
                let loss_percent = match f.take("loss_percent") {
                    Some(l) => Some(values::int(l, "`loss_percent`", 0, 100, &self.scope, self.sink)?),
                    None => None,
                };
                if delay_ms.is_none() && loss_percent.is_none() {
                    self.sink.error(
                        &target.span,
                        "this `link` step needs `delay_ms` (added each way) or `loss_percent` (dropped each way), \
                         or both",
                    );
                    return None;
                }
                LinkChange::Set { delay_ms, loss_percent }
            }
        };
        Some(StepKind::Link { host, change })
    }
}
