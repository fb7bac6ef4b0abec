//! Passing pipe handles to a child process inside its serialized arguments.
//!
//! A [`Queue`](crate::Queue) or [`PipeEnd`](crate::PipeEnd) serializes as the number of its OS
//! handles, and only while a start is collecting them ([`collect`]): the start then lets the
//! child inherit exactly those handles. In the child, deserialization adopts each listed handle
//! once ([`with_inherited`]); anywhere else, serializing or deserializing a handle is an error,
//! so a handle number can never be forged from data.

use std::cell::RefCell;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::os::{self, BorrowedOs, OwnedOs};

thread_local! {
    static EXPORTING: RefCell<Option<Vec<u64>>> = const { RefCell::new(None) };
    static IMPORTING: RefCell<Option<Vec<u64>>> = const { RefCell::new(None) };
}

/// Serializes `value`, returning its JSON and the numbers of every handle inside it.
pub(crate) fn collect<T: Serialize>(value: &T) -> Result<(String, Vec<u64>), serde_json::Error> {
    EXPORTING.with(|e| *e.borrow_mut() = Some(Vec::new()));
    let json = serde_json::to_string(value);
    let handles = EXPORTING.with(|e| e.borrow_mut().take()).unwrap_or_default();
    Ok((json?, handles))
}

/// Runs `f` (a deserialization) with the inherited handles available for adoption.
/// Handles listed but not adopted are closed afterwards.
pub(crate) fn with_inherited<R>(handles: Vec<u64>, f: impl FnOnce() -> R) -> R {
    IMPORTING.with(|i| *i.borrow_mut() = Some(handles));
    let out = f();
    let left = IMPORTING.with(|i| i.borrow_mut().take()).unwrap_or_default();
    for number in left {
        // SAFETY: an inherited handle that no argument claimed: we own it and close it.
        drop(unsafe { os::adopt_inherited(number) });
    }
    out
}

pub(crate) fn serialize_handle<S: Serializer>(h: BorrowedOs<'_>, s: S) -> Result<S::Ok, S::Error> {
    let number = os::handle_number(h);
    let recorded = EXPORTING.with(|e| match e.borrow_mut().as_mut() {
        Some(list) => {
            list.push(number);
            true
        }
        None => false,
    });
    if !recorded {
        return Err(serde::ser::Error::custom(
            "pipe and queue handles can only be serialized as arguments of a process being started",
        ));
    }
    number.serialize(s)
}

pub(crate) fn deserialize_handle<'de, D: Deserializer<'de>>(d: D) -> Result<OwnedOs, D::Error> {
    let number = u64::deserialize(d)?;
    let listed = IMPORTING.with(|i| {
        let mut slot = i.borrow_mut();
        let list = slot.as_mut()?;
        let at = list.iter().position(|&n| n == number)?;
        Some(list.swap_remove(at))
    });
    match listed {
        // SAFETY: the parent passed this handle to us and listed it; `swap_remove` guarantees
        // it is adopted once.
        Some(n) => unsafe { os::adopt_inherited(n) }.map_err(serde::de::Error::custom),
        None => Err(serde::de::Error::custom(format!(
            "handle {number} was not inherited from the parent (handles deserialize only in a started child)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_cannot_be_deserialized_outside_a_child() {
        let err = deserialize_handle(&mut serde_json::Deserializer::from_str("7")).expect_err("refused");
        assert!(err.to_string().contains("not inherited"), "{err}");
    }
}
