//! Ported from CPython's `_test_multiprocessing.py` (queue).

use procthread::Registry;

use crate::case::Case;

/// Entry points and tasks the children of these cases run.
pub static REGISTRY: Registry = &[];

pub fn cases() -> Vec<Case> {
    vec![]
}
