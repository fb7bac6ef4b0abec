//! Ported from CPython's `lock_tests.py` (run by `test_threading.py`) and the synchronization
//! classes of `_test_multiprocessing.py`.

use std::time::Duration;

use libtest_mimic::Failed;
use procthread::{Lock, Registry};

use crate::case::{Case, Run, check};

pub static REGISTRY: Registry = &[];

pub fn cases() -> Vec<Case> {
    vec![Case {
        file: "lock_tests.py",
        class: "LockTests",
        test: "test_state_after_timeout",
        checks: "a timed-out acquire leaves the lock held by its owner, then free after release",
        difference: None,
        run: Run::Once(lock_state_after_timeout),
    }]
}

fn lock_state_after_timeout() -> Result<(), Failed> {
    let lock = Lock::new();
    lock.acquire();
    check(!lock.acquire_timeout(Duration::from_millis(10)), "a held lock cannot be taken within 10 ms")?;
    lock.release()?;
    check(!lock.is_locked(), "free after release")?;
    check(lock.acquire_timeout(Duration::ZERO), "a non-blocking acquire of a free lock succeeds")?;
    lock.release()?;
    Ok(())
}
