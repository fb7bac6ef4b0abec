//! Handles inside serialized arguments: [`Adopted`] takes one over in a started child,
//! [`Exported`] writes one's number while a start collects them (see [`crate::handles`]).

use serde::{Deserialize, Serialize};

use crate::os;

/// A handle adopted from the parent during deserialization.
pub(crate) struct Adopted(pub(crate) os::OwnedOs);

impl<'de> Deserialize<'de> for Adopted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::handles::deserialize_handle(d).map(Adopted)
    }
}

/// A borrowed handle that serializes as an exported handle number.
pub(crate) struct Exported<'a>(pub(crate) os::BorrowedOs<'a>);

impl Serialize for Exported<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::handles::serialize_handle(self.0, s)
    }
}
