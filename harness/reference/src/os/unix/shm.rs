//! Shared memory on Unix: an anonymous file mapped `MAP_SHARED`.
//!
//! Linux makes the file with `memfd_create`; macOS (which has no memfd) with `shm_open` under a
//! random name that is unlinked at once, so nothing outlives the processes that map it. Either
//! way the region is a descriptor: a forked child inherits the mapping itself, a spawned child
//! inherits the descriptor (see [`crate::handles`]) and maps it again.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd};

use nix::sys::stat::SFlag;
use std::ptr::NonNull;

use super::{BorrowedOs, OwnedOs};

/// A zero-filled region of `len` bytes shared with every process that maps the same file.
#[derive(Debug)]
pub(crate) struct SharedMemory {
    fd: OwnedOs,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value until `Drop`; the callers access it
// only through atomics (see `crate::shared::region`), so sharing the pointer between threads is
// no different from sharing an `&[AtomicU8]`.
unsafe impl Send for SharedMemory {}
// SAFETY: as above.
unsafe impl Sync for SharedMemory {}

impl SharedMemory {
    /// A new zero-filled region of at least one byte.
    pub(crate) fn create(len: usize) -> io::Result<SharedMemory> {
        let len = len.max(1);
        let fd = anonymous_file()?;
        let size = libc::off_t::try_from(len).map_err(|_| io::Error::other("shared memory size out of range"))?;
        // SAFETY: `fd` is a valid descriptor we own.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Self::map(fd, len)
    }

    /// Maps a region received from the parent. The file must be at least `len` bytes, or the
    /// mapping would fault on access past its end.
    pub(crate) fn attach(fd: OwnedOs, len: usize) -> io::Result<SharedMemory> {
        // SAFETY: an all-zero `stat` is a valid value for `fstat` to overwrite.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is a valid descriptor and `st` a valid out-pointer.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if len == 0 || (st.st_size as u64) < len as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("shared memory object of {} bytes is smaller than the {len} bytes expected", st.st_size),
            ));
        }
        Self::map(fd, len)
    }

    fn map(fd: OwnedOs, len: usize) -> io::Result<SharedMemory> {
        // SAFETY: a fresh shared mapping of a file we hold open; the kernel picks the address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(SharedMemory { fd, ptr, len })
    }

    /// The start of the region, page-aligned.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn handle(&self) -> BorrowedOs<'_> {
        self.fd.as_fd()
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `map` with this address and length and is unmapped
        // once, here; no reference into it outlives `self` (users borrow from `self`).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Whether `fd`, of file type `kind`, is shared memory as [`SharedMemory`] makes it.
/// Linux: a memfd (or other shmem file), the only regular files whose seals can be read.
#[cfg(target_os = "linux")]
pub(crate) fn is_shared_memory(fd: BorrowedFd<'_>, kind: SFlag) -> bool {
    // SAFETY: F_GET_SEALS only reads the descriptor's seals; EINVAL on other files.
    kind == SFlag::S_IFREG && unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) } >= 0
}

/// Elsewhere (macOS): a POSIX shared memory object, which `fstat` reports as a regular file or
/// with no file type at all.
#[cfg(not(target_os = "linux"))]
pub(crate) fn is_shared_memory(_fd: BorrowedFd<'_>, kind: SFlag) -> bool {
    kind == SFlag::S_IFREG || kind.is_empty()
}

#[cfg(target_os = "linux")]
fn anonymous_file() -> io::Result<OwnedOs> {
    // SAFETY: the name is a valid C string; the flags are valid for memfd_create.
    let fd = unsafe { libc::memfd_create(c"procthread-shared".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by memfd_create and is owned by nobody else.
    Ok(unsafe { OwnedOs::from_raw_fd(fd) })
}

/// `shm_open` with a random name, unlinked as soon as it is open: the object then lives exactly
/// as long as descriptors and mappings of it do.
#[cfg(not(target_os = "linux"))]
fn anonymous_file() -> io::Result<OwnedOs> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    for _ in 0..16 {
        let tag = getrandom::u64().map_err(|e| io::Error::other(format!("no randomness for a shm name: {e}")))?;
        // macOS limits these names to 31 bytes.
        let name = std::ffi::CString::new(format!("/pt.{tag:016x}")).map_err(io::Error::other)?;
        // SAFETY: `name` is a valid C string; the mode is passed as the variadic third argument.
        let fd = unsafe {
            libc::shm_open(name.as_ptr(), libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o600 as libc::c_uint)
        };
        if fd < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::AlreadyExists {
                continue;
            }
            return Err(err);
        }
        // SAFETY: `fd` was just returned by shm_open and is owned by nobody else.
        let owned = unsafe { OwnedOs::from_raw_fd(fd) };
        // SAFETY: `name` is a valid C string naming the object we just made.
        unsafe { libc::shm_unlink(name.as_ptr()) };
        fcntl(&owned, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(io::Error::from)?;
        return Ok(owned);
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free shm_open name after 16 tries"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_is_zeroed_and_seen_through_a_second_mapping() {
        let a = SharedMemory::create(100).expect("create");
        // SAFETY: the region is 100 bytes long and nothing else touches it in this test.
        unsafe {
            assert_eq!(*a.as_ptr().add(99), 0);
            *a.as_ptr().add(7) = 42;
        }
        let fd = a.handle().try_clone_to_owned().expect("dup");
        let b = SharedMemory::attach(fd, 100).expect("attach");
        assert_ne!(a.as_ptr(), b.as_ptr(), "a distinct mapping");
        // SAFETY: `b` maps the same 100 bytes.
        assert_eq!(unsafe { *b.as_ptr().add(7) }, 42);
    }

    #[test]
    fn attaching_past_the_end_is_refused() {
        let a = SharedMemory::create(16).expect("create");
        let fd = a.handle().try_clone_to_owned().expect("dup");
        let err = SharedMemory::attach(fd, 1 << 20).expect_err("too long");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    }

    /// A spawned child checks every handle it is told to adopt: a region must pass.
    #[test]
    fn a_child_accepts_a_region_among_its_inherited_handles() {
        let a = SharedMemory::create(16).expect("create");
        assert_eq!(crate::os::check_inherited(a.handle().as_raw_fd() as u64), Ok(()));
        #[cfg(target_os = "linux")]
        {
            let file = std::fs::File::open(std::env::current_exe().expect("exe")).expect("open");
            assert!(crate::os::check_inherited(file.as_raw_fd() as u64).is_err(), "a plain file is refused");
        }
    }
}
