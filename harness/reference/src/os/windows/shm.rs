//! Shared memory on Windows: an unnamed file mapping backed by the paging file.
//!
//! The mapping handle reaches a spawned child by inheritance (see [`crate::handles`]), which
//! maps a view of it again.

use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, FromRawHandle};
use std::ptr::NonNull;

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_ALL_ACCESS, FILE_MAP_READ, MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS,
    MapViewOfFile, PAGE_READWRITE, UnmapViewOfFile, VirtualQuery,
};

use super::{BorrowedOs, OwnedOs};

/// A zero-filled region of `len` bytes shared with every process that maps the same mapping.
#[derive(Debug)]
pub(crate) struct SharedMemory {
    handle: OwnedOs,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the view is plain memory owned by this value until `Drop`; callers access it only
// through atomics (see `crate::shared::region`).
unsafe impl Send for SharedMemory {}
// SAFETY: as above.
unsafe impl Sync for SharedMemory {}

impl SharedMemory {
    pub(crate) fn create(len: usize) -> io::Result<SharedMemory> {
        let len = len.max(1);
        let size = len as u64;
        // SAFETY: INVALID_HANDLE_VALUE asks for a paging-file-backed mapping; no name, no
        // security attributes (the handle is not inheritable until a spawn makes it so).
        let raw = unsafe {
            CreateFileMappingW(
                INVALID_HANDLE_VALUE,
                std::ptr::null(),
                PAGE_READWRITE,
                (size >> 32) as u32,
                size as u32,
                std::ptr::null(),
            )
        };
        if raw.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh handle that nothing else owns.
        let handle = unsafe { OwnedOs::from_raw_handle(raw as _) };
        Self::map(handle, len)
    }

    /// Maps a region received from the parent; the view must fit in the mapping.
    pub(crate) fn attach(handle: OwnedOs, len: usize) -> io::Result<SharedMemory> {
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "empty shared memory region"));
        }
        Self::map(handle, len)
    }

    fn map(handle: OwnedOs, len: usize) -> io::Result<SharedMemory> {
        // SAFETY: `handle` is a live file mapping; a view larger than the mapping fails.
        let view = unsafe { MapViewOfFile(handle.as_raw_handle() as HANDLE, FILE_MAP_ALL_ACCESS, 0, 0, len) };
        let ptr = NonNull::new(view.Value.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        let mem = SharedMemory { handle, ptr, len };
        // A view is rounded up to whole pages: check that the mapping really covers `len`.
        // SAFETY: an all-zero MEMORY_BASIC_INFORMATION is valid storage for VirtualQuery.
        let mut info: MEMORY_BASIC_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: `ptr` is the base of our view; `info` is valid storage of the given size.
        let got =
            unsafe { VirtualQuery(ptr.as_ptr().cast(), &mut info, std::mem::size_of::<MEMORY_BASIC_INFORMATION>()) };
        if got == 0 || info.RegionSize < len {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "shared memory mapping smaller than expected"));
        }
        Ok(mem)
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn handle(&self) -> BorrowedOs<'_> {
        self.handle.as_handle()
    }
}

/// Whether `raw` is a file mapping (a regular file's handle is not: mapping a view of it fails).
pub(crate) fn is_file_mapping(raw: HANDLE) -> bool {
    // SAFETY: mapping one byte read-only has no effect beyond the view, unmapped at once; an
    // invalid or non-mapping handle makes the call fail with a null view.
    let view = unsafe { MapViewOfFile(raw, FILE_MAP_READ, 0, 0, 1) };
    if view.Value.is_null() {
        return false;
    }
    // SAFETY: the view was just mapped.
    unsafe { UnmapViewOfFile(view) };
    true
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        // SAFETY: the view was mapped by `map` and is unmapped once, here; no reference into it
        // outlives `self`.
        unsafe { UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS { Value: self.ptr.as_ptr().cast() }) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_is_zeroed_and_seen_through_a_second_view() {
        let a = SharedMemory::create(100).expect("create");
        // SAFETY: the region is 100 bytes long and nothing else touches it in this test.
        unsafe {
            assert_eq!(*a.as_ptr().add(99), 0);
            *a.as_ptr().add(7) = 42;
        }
        let h = a.handle().try_clone_to_owned().expect("duplicate");
        let b = SharedMemory::attach(h, 100).expect("attach");
        // SAFETY: `b` maps the same 100 bytes.
        assert_eq!(unsafe { *b.as_ptr().add(7) }, 42);
    }

    /// A spawned child checks every handle it is told to adopt: those of `crate::shared` pass.
    #[test]
    fn a_child_accepts_shared_handles_among_its_inherited_handles() {
        use std::os::windows::io::AsRawHandle;
        let a = SharedMemory::create(16).expect("create");
        assert_eq!(crate::os::check_inherited(a.handle().as_raw_handle() as usize as u64), Ok(()));
        let parker = crate::os::Parker::new().expect("parker");
        let (json, handles) = crate::handles::collect(&parker).expect("collect");
        assert_eq!(handles.len(), 1, "{json}");
        assert_eq!(crate::os::check_inherited(handles[0]), Ok(()));
        let file = std::fs::File::open(std::env::current_exe().expect("exe")).expect("open");
        assert!(crate::os::check_inherited(file.as_raw_handle() as usize as u64).is_err(), "a file is refused");
    }
}
