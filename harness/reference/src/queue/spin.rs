//! How long a reader polls the ring before it sleeps.

use std::sync::atomic::{AtomicU32, Ordering};

/// How long a reader polls the ring before it sleeps, adapted to what polling found lately
/// (per process and queue). Polling pays off when the writer runs on another CPU and commits
/// within a microsecond or two: the reader then makes no system call, and the writer has no
/// one to wake. It is wasted when the writer cannot run meanwhile (both on one CPU), so the
/// budget drops to a quarter after each poll that found nothing, down to none; at none, one
/// wait in [`PROBE_EVERY`] polls briefly to notice when polling would pay again.
#[derive(Debug, Default)]
pub(crate) struct Spin {
    budget: AtomicU32,
    waits: AtomicU32,
}

/// Most polls before sleeping (each a `pause`, tens of cycles).
const MAX_POLLS: u32 = 256;
/// Polls of a probe, and how often one runs when the budget is spent.
const PROBE: u32 = 16;
const PROBE_EVERY: u32 = 16;

impl Spin {
    /// Polls `ready` up to the current budget: whether it became true.
    pub(crate) fn poll(&self, ready: impl Fn() -> bool) -> bool {
        let mut budget = self.budget.load(Ordering::Relaxed);
        if budget == 0 {
            if !self.waits.fetch_add(1, Ordering::Relaxed).is_multiple_of(PROBE_EVERY) {
                return false;
            }
            budget = PROBE;
        }
        for i in 0..budget {
            if ready() {
                // Enough to have caught this one with room to spare.
                self.budget.store((i * 2).clamp(PROBE, MAX_POLLS), Ordering::Relaxed);
                return true;
            }
            std::hint::spin_loop();
        }
        self.budget.store(budget / 4, Ordering::Relaxed);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn the_budget_follows_what_polling_finds() {
        let spin = Spin::default();
        // At none: only every PROBE_EVERY-th wait probes.
        let probes = (0..PROBE_EVERY * 2).filter(|_| spin.poll(|| true)).count();
        assert!(probes >= 1, "a probe ran");
        // Found after 100 polls: the budget covers twice that.
        let n = Cell::new(0);
        spin.budget.store(MAX_POLLS, Ordering::Relaxed);
        assert!(spin.poll(|| {
            n.set(n.get() + 1);
            n.get() > 100
        }));
        assert_eq!(spin.budget.load(Ordering::Relaxed), 200);
        // Nothing found: down to a quarter, then to none.
        for _ in 0..5 {
            assert!(!spin.poll(|| false));
        }
        assert_eq!(spin.budget.load(Ordering::Relaxed), 0);
    }
}
