//! A mutex shared by processes that survives the death of its holder.
//!
//! Linux: a `pthread_mutex_t` in shared memory, `PTHREAD_PROCESS_SHARED` and
//! `PTHREAD_MUTEX_ROBUST`. glibc takes an uncontended one with one atomic instruction and no
//! system call, and lists it on the holding thread's robust list; when a thread or process
//! dies holding it, the kernel marks it and wakes a waiter at once, whose lock then returns
//! `EOWNERDEAD` (no polling, no pid to recycle, and a killed holder need not be reaped first).
//!
//! macOS has no robust mutexes (nor `pthread_mutex_timedlock`): there the mutex is a word
//! holding its holder's pid ([`crate::shared::pid_lock`]), polled with backoff while contended,
//! whose waiters check now and then whether the holder is still alive.

pub(crate) use imp::RawRobust;

/// How a lock attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawLock {
    Acquired,
    /// Acquired from a holder that died holding it.
    OwnerDied,
    TimedOut,
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::sync::OnceLock;
    use std::time::Instant;

    use serde::{Deserialize, Serialize};

    use super::RawLock;

    type ClockLock =
        unsafe extern "C" fn(*mut libc::pthread_mutex_t, libc::clockid_t, *const libc::timespec) -> libc::c_int;

    /// `pthread_mutex_clocklock` (glibc 2.30+), looked up at run time so that the binary still
    /// loads on an older glibc, which then gets `pthread_mutex_timedlock` on the wall clock.
    fn clocklock() -> Option<ClockLock> {
        static FOUND: OnceLock<Option<ClockLock>> = OnceLock::new();
        *FOUND.get_or_init(|| {
            // SAFETY: dlsym with a valid C string; RTLD_DEFAULT searches the loaded objects.
            let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"pthread_mutex_clocklock".as_ptr()) };
            // SAFETY: glibc's pthread_mutex_clocklock has exactly the `ClockLock` signature.
            (!sym.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, ClockLock>(sym) })
        })
    }

    /// The mutex lives at the start of its own shared region.
    #[derive(Debug, Serialize, Deserialize)]
    pub(crate) struct RawRobust {
        mem: crate::shared::SharedRegion,
    }

    impl RawRobust {
        pub(crate) fn new() -> io::Result<RawRobust> {
            let mem = crate::shared::SharedRegion::new(std::mem::size_of::<libc::pthread_mutex_t>())?;
            let m = mem.as_ptr().cast::<libc::pthread_mutex_t>();
            // SAFETY: an all-zero attr is valid storage for pthread_mutexattr_init to fill.
            let mut attr: libc::pthread_mutexattr_t = unsafe { std::mem::zeroed() };
            // SAFETY: `attr` is valid storage; `m` points to fresh, page-aligned shared memory of
            // the right size that no other thread or process uses yet.
            unsafe {
                check(libc::pthread_mutexattr_init(&mut attr))?;
                let set = check(libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED))
                    .and_then(|_| check(libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST)))
                    .and_then(|_| check(libc::pthread_mutexattr_settype(&mut attr, libc::PTHREAD_MUTEX_ERRORCHECK)))
                    .and_then(|_| check(libc::pthread_mutex_init(m, &attr)));
                libc::pthread_mutexattr_destroy(&mut attr);
                set?;
            }
            Ok(RawRobust { mem })
        }

        fn ptr(&self) -> *mut libc::pthread_mutex_t {
            self.mem.as_ptr().cast()
        }

        pub(crate) fn lock(&self, deadline: Option<Instant>) -> io::Result<RawLock> {
            let r = match deadline {
                // SAFETY: the mutex was initialized by `new` and its memory lives as long as `self`.
                None => unsafe { libc::pthread_mutex_lock(self.ptr()) },
                Some(d) => self.timed_lock(d),
            };
            match r {
                0 => Ok(RawLock::Acquired),
                libc::ETIMEDOUT => Ok(RawLock::TimedOut),
                libc::EOWNERDEAD => {
                    // We hold it now; mark it usable again, or every later lock would fail
                    // with ENOTRECOVERABLE once we unlock.
                    // SAFETY: we are the holder, as pthread_mutex_consistent requires.
                    check(unsafe { libc::pthread_mutex_consistent(self.ptr()) })?;
                    Ok(RawLock::OwnerDied)
                }
                e => Err(io::Error::from_raw_os_error(e)),
            }
        }

        fn timed_lock(&self, deadline: Instant) -> libc::c_int {
            // A free mutex (the common case), or a try with a deadline already passed: no
            // clock to read.
            // SAFETY: as in `lock`.
            let r = unsafe { libc::pthread_mutex_trylock(self.ptr()) };
            if r != libc::EBUSY {
                return r;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return libc::ETIMEDOUT;
            }
            match clocklock() {
                Some(f) => {
                    let at = after(libc::CLOCK_MONOTONIC, left);
                    // SAFETY: as in `lock`; `at` is a valid timespec.
                    unsafe { f(self.ptr(), libc::CLOCK_MONOTONIC, &at) }
                }
                None => {
                    let at = after(libc::CLOCK_REALTIME, left);
                    // SAFETY: as in `lock`; `at` is a valid timespec.
                    unsafe { libc::pthread_mutex_timedlock(self.ptr(), &at) }
                }
            }
        }

        /// Called only by the thread holding the mutex.
        pub(crate) fn unlock(&self) {
            // SAFETY: the mutex is initialized; the caller holds it. An error (EPERM: not the
            // holder) leaves the mutex as it was, which is all we could do about it.
            unsafe { libc::pthread_mutex_unlock(self.ptr()) };
        }
    }

    /// The time `left` from now on `clock`, as an absolute timespec.
    fn after(clock: libc::clockid_t, left: std::time::Duration) -> libc::timespec {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `now` is a valid out-pointer; both clocks always exist on Linux.
        unsafe { libc::clock_gettime(clock, &mut now) };
        let nanos = now.tv_nsec as u64 + u64::from(left.subsec_nanos());
        let secs = (now.tv_sec as u64).saturating_add(left.as_secs()).saturating_add(nanos / 1_000_000_000);
        libc::timespec {
            tv_sec: secs.min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
        }
    }

    fn check(r: libc::c_int) -> io::Result<()> {
        if r == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(r)) }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;
    use std::time::Instant;

    use serde::{Deserialize, Serialize};

    use super::RawLock;
    use crate::shared::pid_lock::{PidLock, PidLockCell};
    use crate::shared::region::SharedCell;

    #[derive(Debug, Serialize, Deserialize)]
    pub(crate) struct RawRobust {
        cell: SharedCell<PidLockCell>,
        parker: crate::os::Parker,
    }

    impl RawRobust {
        pub(crate) fn new() -> io::Result<RawRobust> {
            Ok(RawRobust { cell: SharedCell::new()?, parker: crate::os::Parker::new()? })
        }

        fn lock_of(&self) -> PidLock<'_> {
            PidLock::new(&self.cell, &self.parker)
        }

        pub(crate) fn lock(&self, deadline: Option<Instant>) -> io::Result<RawLock> {
            Ok(self.lock_of().lock(deadline))
        }

        pub(crate) fn unlock(&self) {
            self.lock_of().unlock();
        }
    }
}
