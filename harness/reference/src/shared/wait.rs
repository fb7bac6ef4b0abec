//! One blocking wait on a shared word: its deadline, and how often it has parked (the macOS
//! poller's backoff).

use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

use crate::os::{self, Parker};

#[derive(Debug)]
pub(crate) struct Wait {
    deadline: Option<Instant>,
    round: u32,
}

impl Wait {
    pub(crate) fn new(deadline: Option<Instant>) -> Wait {
        Wait { deadline, round: 0 }
    }

    /// Parks on `word` while it holds `expected`, until woken, the deadline, or `cap` from now
    /// (whichever is first), or spuriously. `false`, without parking, once the deadline passed.
    pub(crate) fn park(&mut self, parker: &Parker, word: &AtomicU32, expected: u32, cap: Option<Duration>) -> bool {
        let left = os::remaining(self.deadline);
        if left.is_some_and(|l| l.is_zero()) {
            return false;
        }
        let timeout = match (left, cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        parker.park(word, expected, timeout, self.round);
        self.round = self.round.saturating_add(1);
        true
    }
}
