//! A thread of the test in a network namespace of its own (Linux; needs CAP_SYS_ADMIN, so a
//! test that uses it is listed as ignored where it is not granted).

use nix::sched::{CloneFlags, unshare as unshare_ns};

/// Moves the calling thread, and only it, into a new network namespace: its loopback is down,
/// so it reaches no address at all.
pub fn unshare() -> Result<(), nix::Error> {
    unshare_ns(CloneFlags::CLONE_NEWNET)
}

/// Whether this process may make network namespaces: tried on a thread that ends at once (the
/// namespace goes with it).
pub fn can_unshare() -> bool {
    std::thread::spawn(|| unshare().is_ok()).join().unwrap_or(false)
}
