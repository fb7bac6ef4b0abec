//! Ported from CPython's `lock_tests.py` (run by `test_threading.py`): the thread primitives;
//! and from the synchronization classes of `_test_multiprocessing.py`: the same primitives
//! shared by processes, run once per start method.

mod lock_tests;
mod multiprocessing;
mod support;

use crate::case::Case;

pub use multiprocessing::REGISTRY;

pub fn cases() -> Vec<Case> {
    [lock_tests::cases(), multiprocessing::cases()].concat()
}
