//! Ported from CPython's `test_threading_local.py`.

use crate::case::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
