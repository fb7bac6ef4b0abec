//! Network namespaces without names: each host is a namespace made by a short-lived thread
//! (`unshare(CLONE_NEWNET)` affects only the calling thread), kept alive by an open descriptor
//! to it and by whatever process enters it. Nothing is mounted or named, so nothing outlives
//! the run: a namespace goes away with the last process in it and the last descriptor to it,
//! and its tun device with it.

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sched::{CloneFlags, setns, unshare};

/// The name of the tun device in every host's namespace (each namespace has its own names).
const DEVICE: &str = "pt0";

/// One host: its namespace and the tun device that is its link, as the lab holds them.
#[derive(Debug)]
pub(crate) struct HostNs {
    pub(crate) ns: File,
    /// Packets the host sends on its link are read here; packets written here reach it.
    pub(crate) tun: OwnedFd,
}

/// Makes a namespace with `lo` up and a tun device addressed `address`/24, up (its prefix
/// route comes with the address). Everything else is unreachable from inside: no default route.
pub(crate) fn make_host(address: Ipv4Addr) -> io::Result<HostNs> {
    in_new_thread(move || {
        unshare(CloneFlags::CLONE_NEWNET).map_err(|e| io::Error::other(format!("unshare(CLONE_NEWNET): {e}")))?;
        // Only IPv4 of a documentation range crosses the link: no IPv6 chatter (router
        // solicitations, duplicate address detection) on it. Best effort: IPv6 may be absent.
        for conf in ["default", "all"] {
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6"), "1");
        }
        let ns = File::open("/proc/thread-self/ns/net")?;
        let tun = open_tun()?;
        let sock = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        let fd = sock.as_raw_fd();
        set_sockaddr(fd, DEVICE, libc::SIOCSIFADDR, address)?;
        set_sockaddr(fd, DEVICE, libc::SIOCSIFNETMASK, Ipv4Addr::new(255, 255, 255, 0))?;
        set_up(fd, DEVICE)?;
        set_up(fd, "lo")?;
        Ok(HostNs { ns, tun })
    })
}

/// Moves the calling thread into the namespace at `path` (a `/proc/PID/fd/N` of the lab). A
/// thread's namespace is inherited by the threads and processes it starts.
pub(crate) fn enter(path: &Path) -> io::Result<()> {
    let ns = File::open(path)?;
    setns(&ns, CloneFlags::CLONE_NEWNET).map_err(|e| io::Error::other(format!("setns({}): {e}", path.display())))
}

/// Runs `f` on a thread of its own that ends with it, so that the namespace it enters never
/// sticks to a thread of ours.
fn in_new_thread<T: Send + 'static>(f: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    std::thread::Builder::new()
        .name("lab-netns".into())
        .spawn(f)?
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
}

fn ifreq(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain old data (a name and a union of plain fields): all zeroes is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes().take(libc::IFNAMSIZ - 1)) {
        *dst = src as libc::c_char;
    }
    req
}

fn check(r: libc::c_int, what: &str) -> io::Result<()> {
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(())
}

/// A tun device (IP packets, no extra header) in the calling thread's namespace, non-blocking.
fn open_tun() -> io::Result<OwnedFd> {
    let path = c"/dev/net/tun";
    // SAFETY: a valid NUL-terminated path and flags; the result is checked before use.
    let fd: RawFd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK) };
    check(fd, "open /dev/net/tun")?;
    // SAFETY: `fd` was just opened and is owned by nothing else.
    let tun = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = ifreq(DEVICE);
    req.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads (and writes back the name into) the ifreq we pass, which lives
    // across the call.
    check(unsafe { libc::ioctl(tun.as_raw_fd(), libc::TUNSETIFF as _, &mut req) }, "TUNSETIFF")?;
    Ok(tun)
}

fn set_sockaddr(sock: RawFd, device: &str, request: libc::c_ulong, address: Ipv4Addr) -> io::Result<()> {
    let mut req = ifreq(device);
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr { s_addr: u32::from(address).to_be() },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in fits in the union's sockaddr (both 16 bytes) and is plain data.
    unsafe { std::ptr::write((&raw mut req.ifr_ifru.ifru_addr).cast::<libc::sockaddr_in>(), sin) };
    // SAFETY: the request reads the ifreq we pass, which lives across the call.
    check(unsafe { libc::ioctl(sock, request as _, &mut req) }, "setting an interface address")
}

fn set_up(sock: RawFd, device: &str) -> io::Result<()> {
    let mut req = ifreq(device);
    // SAFETY: SIOCGIFFLAGS fills the flags of the ifreq we pass, which lives across the call.
    check(unsafe { libc::ioctl(sock, libc::SIOCGIFFLAGS as _, &mut req) }, "SIOCGIFFLAGS")?;
    // SAFETY: the kernel just wrote the flags member of the union.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    req.ifr_ifru.ifru_flags = flags | (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    // SAFETY: as above, the ifreq lives across the call.
    check(unsafe { libc::ioctl(sock, libc::SIOCSIFFLAGS as _, &mut req) }, "SIOCSIFFLAGS")
}
