//! A buffer an end keeps between messages. Allocating a large buffer per message costs more
//! than copying into it: the allocator hands large blocks back to the OS when they are freed,
//! and the next message's block then faults in every page afresh.

use std::sync::{Mutex, TryLockError};

/// Capacity kept after a message; a larger buffer is freed.
const KEEP: usize = 4 << 20;

#[derive(Debug, Default)]
pub(crate) struct Reused(Mutex<Vec<u8>>);

impl Reused {
    /// Runs `f` with the kept buffer, or with a fresh one if another thread of this end is
    /// using it. The buffer holds whatever the last message left (callers clear or overwrite).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut guard = match self.0.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return f(&mut Vec::new()),
        };
        let out = f(&mut guard);
        if guard.capacity() > KEEP {
            *guard = Vec::new();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_is_kept_unless_busy_or_too_large() {
        let r = Reused::default();
        r.with(|b| b.extend_from_slice(b"abc"));
        assert_eq!(r.with(|b| b.clone()), b"abc");
        r.with(|outer| {
            outer.push(b'd');
            r.with(|inner| assert!(inner.is_empty(), "busy: a fresh buffer"));
        });
        r.with(|b| b.resize(KEEP + 1, 0));
        assert_eq!(r.with(|b| b.capacity()), 0, "freed");
    }
}
