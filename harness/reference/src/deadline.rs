//! Timeouts to deadlines without overflow: `Duration::MAX` (or any timeout past what `Instant`
//! can hold) means "no deadline", never a panic.

use std::time::{Duration, Instant};

/// The instant `timeout` from now, or `None` (wait for ever) when it is past what `Instant` holds.
pub(crate) fn after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_timeouts_saturate_to_no_deadline() {
        assert!(after(Duration::MAX).is_none());
        assert!(after(Duration::from_secs(1)).is_some());
    }
}
