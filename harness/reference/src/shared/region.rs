//! Shared memory regions, and typed views of them, that pass to child processes.
//!
//! A [`SharedRegion`] is a zero-filled block of memory mapped by every process that holds it:
//! a forked child inherits the mapping, a spawned child receives the OS handle (serialized
//! through [`crate::handles`] while a start collects them, as a `Queue`'s pipes are) and maps
//! it again. Clones share one mapping.

use std::io;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::os;

/// `len` bytes of zero-filled memory shared by processes. Clone it to share it between threads.
///
/// Only atomics may be used to access it: other processes write to it concurrently.
#[derive(Debug, Clone)]
pub(crate) struct SharedRegion {
    mem: Arc<os::SharedMemory>,
}

impl SharedRegion {
    /// A new region of `len` bytes (at least one), all zero.
    pub(crate) fn new(len: usize) -> io::Result<SharedRegion> {
        Ok(SharedRegion { mem: Arc::new(os::SharedMemory::create(len)?) })
    }

    /// The first byte: page-aligned, valid for `len()` bytes as long as `self` (or a clone) lives.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.mem.as_ptr()
    }

    pub(crate) fn len(&self) -> usize {
        self.mem.len()
    }
}

/// A region's handle, serialized as the number of an OS handle being passed to a child.
struct Exported<'a>(os::BorrowedOs<'a>);

impl Serialize for Exported<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::handles::serialize_handle(self.0, s)
    }
}

/// A handle adopted from the parent while deserializing in a started child.
struct Adopted(os::OwnedOs);

impl<'de> Deserialize<'de> for Adopted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::handles::deserialize_handle(d).map(Adopted)
    }
}

impl Serialize for SharedRegion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (Exported(self.mem.handle()), self.mem.len()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for SharedRegion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (handle, len) = <(Adopted, usize)>::deserialize(d)?;
        let mem = os::SharedMemory::attach(handle.0, len).map_err(D::Error::custom)?;
        Ok(SharedRegion { mem: Arc::new(mem) })
    }
}

/// State that can live in shared memory.
///
/// # Safety
/// All-zero bytes must be a valid value, the type must need no alignment beyond a page, have
/// no pointers and no `Drop`, and be usable from several processes at once through `&self`
/// (atomics only).
pub(crate) unsafe trait Zeroed: Sync {}

/// A `T` at the start of its own shared region.
#[derive(Debug)]
pub(crate) struct SharedCell<T: Zeroed> {
    region: SharedRegion,
    _t: PhantomData<T>,
}

impl<T: Zeroed> SharedCell<T> {
    /// A new cell holding the all-zero `T`.
    pub(crate) fn new() -> io::Result<SharedCell<T>> {
        Ok(SharedCell { region: SharedRegion::new(std::mem::size_of::<T>())?, _t: PhantomData })
    }
}

impl<T: Zeroed> Clone for SharedCell<T> {
    fn clone(&self) -> Self {
        SharedCell { region: self.region.clone(), _t: PhantomData }
    }
}

impl<T: Zeroed> Deref for SharedCell<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the region is at least size_of::<T>() bytes (checked when made or attached),
        // page-aligned, starts as zeroes (a valid T by `Zeroed`) and stays mapped while
        // `self.region` lives; `Zeroed` types are only accessed through shared references.
        unsafe { &*self.region.as_ptr().cast::<T>() }
    }
}

impl<T: Zeroed> Serialize for SharedCell<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.region.serialize(s)
    }
}

impl<'de, T: Zeroed> Deserialize<'de> for SharedCell<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let region = SharedRegion::deserialize(d)?;
        if region.len() < std::mem::size_of::<T>() {
            return Err(D::Error::custom(format!(
                "shared region of {} bytes is too small for {} bytes of state",
                region.len(),
                std::mem::size_of::<T>()
            )));
        }
        Ok(SharedCell { region, _t: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn a_region_serializes_only_while_a_start_collects_handles() {
        let r = SharedRegion::new(64).expect("region");
        assert!(serde_json::to_string(&r).is_err(), "no handle numbers outside a start");
        let (json, handles) = crate::handles::collect(&r).expect("collect");
        assert_eq!(handles.len(), 1, "{json}");
        assert!(serde_json::from_str::<SharedRegion>(&json).is_err(), "not adoptable outside a child");
    }

    #[test]
    fn clones_share_the_memory() {
        #[repr(C)]
        struct Counter(AtomicU32);
        // SAFETY: one atomic, zero is valid.
        unsafe impl Zeroed for Counter {}
        let a = SharedCell::<Counter>::new().expect("cell");
        let b = a.clone();
        a.0.fetch_add(3, Ordering::SeqCst);
        assert_eq!(b.0.load(Ordering::SeqCst), 3);
    }
}
