//! A mutex shared by processes that survives the death of its holder: a kernel mutex.
//!
//! Windows marks a mutex abandoned when the thread holding it ends, and hands it to the next
//! waiter with `WAIT_ABANDONED`. Every lock and unlock is a system call (there is no
//! process-shared user-space fast path for a kernel object).

use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, FromRawHandle};
use std::time::Instant;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use windows_sys::Win32::Foundation::{HANDLE, WAIT_ABANDONED, WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::Threading::{CreateMutexW, INFINITE, ReleaseMutex, WaitForSingleObject};

use super::OwnedOs;

/// How a lock attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawLock {
    Acquired,
    /// Acquired from a holder that died holding it.
    OwnerDied,
    TimedOut,
}

#[derive(Debug)]
pub(crate) struct RawRobust {
    mutex: OwnedOs,
}

impl RawRobust {
    pub(crate) fn new() -> io::Result<RawRobust> {
        // SAFETY: not initially owned, no name, no security attributes; null is checked.
        let raw = unsafe { CreateMutexW(std::ptr::null(), 0, std::ptr::null()) };
        if raw.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh handle that nothing else owns.
        Ok(RawRobust { mutex: unsafe { OwnedOs::from_raw_handle(raw as _) } })
    }

    pub(crate) fn lock(&self, deadline: Option<Instant>) -> io::Result<RawLock> {
        loop {
            let ms = match crate::os::remaining(deadline) {
                None => INFINITE,
                // Rounded up so that a sub-millisecond remainder still waits; capped below INFINITE.
                Some(left) => left.as_micros().div_ceil(1000).min(u128::from(INFINITE - 1)) as u32,
            };
            // SAFETY: the mutex handle lives as long as `self`.
            match unsafe { WaitForSingleObject(self.mutex.as_raw_handle() as HANDLE, ms) } {
                WAIT_OBJECT_0 => return Ok(RawLock::Acquired),
                WAIT_ABANDONED => return Ok(RawLock::OwnerDied),
                WAIT_TIMEOUT => {
                    if crate::os::remaining(deadline).is_none_or(|l| l.is_zero()) {
                        return Ok(RawLock::TimedOut);
                    }
                }
                _ => return Err(io::Error::last_os_error()),
            }
        }
    }

    /// Called only by the thread holding the mutex.
    pub(crate) fn unlock(&self) {
        // SAFETY: the handle is live; failure (not the owner) leaves the mutex as it was.
        unsafe { ReleaseMutex(self.mutex.as_raw_handle() as HANDLE) };
    }
}

impl Serialize for RawRobust {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::handles::serialize_handle(self.mutex.as_handle(), s)
    }
}

impl<'de> Deserialize<'de> for RawRobust {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(RawRobust { mutex: crate::handles::deserialize_handle(d)? })
    }
}
