//! Sleeping until a 32-bit word in shared memory changes, across processes.
//!
//! Windows has no futex across processes (`WaitOnAddress` works within one process only), so
//! each shared object has a kernel semaphore: a parked thread waits on it, a waker releases as
//! many units as threads it wakes. Units are not tied to a waiter: one left over by a waiter
//! that timed out wakes a later waiter spuriously (it re-checks and parks again), and a unit
//! meant for one waiter can be taken by another of the same object that parks again first. So
//! that such a stolen wake-up costs latency rather than a hang, a park never sleeps longer than
//! [`PARK_SLICE`] before its caller looks at the word again.

use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, FromRawHandle};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Threading::{CreateSemaphoreW, ReleaseSemaphore, WaitForSingleObject};

use super::OwnedOs;

/// The longest one park sleeps.
pub(crate) const PARK_SLICE: Duration = Duration::from_millis(20);

/// The wake-up channel of one shared object: a kernel semaphore.
#[derive(Debug)]
pub(crate) struct Parker {
    sem: OwnedOs,
}

impl Parker {
    pub(crate) fn new() -> io::Result<Parker> {
        // SAFETY: no name, no security attributes; a null result is checked.
        let raw = unsafe { CreateSemaphoreW(std::ptr::null(), 0, i32::MAX, std::ptr::null()) };
        if raw.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh handle that nothing else owns.
        Ok(Parker { sem: unsafe { OwnedOs::from_raw_handle(raw as _) } })
    }

    /// Sleeps while `word` holds `expected`, at most `timeout` and [`PARK_SLICE`], returning
    /// early when woken or spuriously: the caller re-checks its condition.
    pub(crate) fn park(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>, _round: u32) {
        if word.load(Ordering::SeqCst) != expected {
            return;
        }
        let t = timeout.map_or(PARK_SLICE, |t| t.min(PARK_SLICE));
        // Round up: a sub-millisecond remainder must not become a busy loop of zero waits.
        let ms = t.as_micros().div_ceil(1000).max(1) as u32;
        // SAFETY: the semaphore handle lives as long as `self`.
        unsafe { WaitForSingleObject(self.sem.as_raw_handle() as HANDLE, ms) };
    }

    /// Wakes up to `n` threads parked on this object.
    pub(crate) fn unpark(&self, _word: &AtomicU32, n: u32) {
        if n == 0 {
            return;
        }
        let n = n.min(i32::MAX as u32) as i32;
        // SAFETY: as above. Failure (the count would pass its maximum) means plenty of units
        // are already there for the waiters.
        unsafe { ReleaseSemaphore(self.sem.as_raw_handle() as HANDLE, n, std::ptr::null_mut()) };
    }
}

impl Serialize for Parker {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::handles::serialize_handle(self.sem.as_handle(), s)
    }
}

impl<'de> Deserialize<'de> for Parker {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Parker { sem: crate::handles::deserialize_handle(d)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn unpark_wakes_a_parked_thread() {
        let p = Parker::new().expect("parker");
        let word = AtomicU32::new(0);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let t = Instant::now();
                while word.load(Ordering::SeqCst) == 0 {
                    p.park(&word, 0, None, 0);
                    assert!(t.elapsed() < Duration::from_secs(30));
                }
            });
            std::thread::sleep(Duration::from_millis(20));
            word.store(1, Ordering::SeqCst);
            p.unpark(&word, 1);
            waiter.join().expect("waiter");
        });
    }
}
