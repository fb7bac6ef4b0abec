//! Messages with descriptors attached, over a Unix stream socket (`SCM_RIGHTS`): how the fork
//! server receives a new worker's pipes and stdio from the pool that asks for it.
//!
//! A message is a 4-byte little-endian length and its body, sent by one `sendmsg` that also
//! carries the descriptors; the receiver reads the length with `recvmsg`, which delivers the
//! descriptors with the message's first bytes, then the body.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};

/// The most descriptors one message carries.
pub(crate) const MAX_FDS: usize = 8;

/// Sends `body` with `fds` attached.
pub(crate) fn send_message(sock: &UnixStream, body: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let len = u32::try_from(body.len()).map_err(|_| io::Error::other("message too long"))?.to_le_bytes();
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let iov = [IoSlice::new(&len), IoSlice::new(body)];
    let cmsgs: Vec<ControlMessage<'_>> =
        if raw.is_empty() { Vec::new() } else { vec![ControlMessage::ScmRights(&raw)] };
    let sent = loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsgs, MsgFlags::empty(), None) {
            Ok(n) => break n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    // The descriptors went with the first byte; the rest, if the socket took only part, follows.
    let total = len.len() + body.len();
    if sent < total {
        let mut whole = Vec::with_capacity(total);
        whole.extend_from_slice(&len);
        whole.extend_from_slice(body);
        (&*sock).write_all(&whole[sent..])?;
    }
    Ok(())
}

/// Receives one message and the descriptors attached to it (close-on-exec). `Ok(None)` at
/// end-of-file before a message began.
pub(crate) fn recv_message(sock: &UnixStream, limit: usize) -> io::Result<Option<(Vec<u8>, Vec<OwnedFd>)>> {
    let mut len = [0u8; 4];
    let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = MsgFlags::MSG_CMSG_CLOEXEC;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = MsgFlags::empty();
    let (got, fds) = loop {
        let mut iov = [IoSliceMut::new(&mut len)];
        match recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), flags) {
            Ok(msg) => {
                let mut fds = Vec::new();
                for c in msg.cmsgs().map_err(io::Error::from)? {
                    if let ControlMessageOwned::ScmRights(list) = c {
                        // SAFETY: the kernel just installed these descriptors in this process
                        // for us; nothing else refers to them.
                        fds.extend(list.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
                    }
                }
                break (msg.bytes, fds);
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if got == 0 {
        return Ok(None);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    for fd in &fds {
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))
            .map_err(io::Error::from)?;
    }
    (&*sock).read_exact(&mut len[got..])?;
    let size = u32::from_le_bytes(len) as usize;
    if size > limit {
        return Err(io::Error::other(format!("message of {size} bytes is over the limit of {limit}")));
    }
    let mut body = vec![0u8; size];
    (&*sock).read_exact(&mut body)?;
    Ok(Some((body, fds)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_descriptor_crosses_with_its_message() {
        let (a, b) = UnixStream::pair().expect("pair");
        let (r, mut w) = io::pipe().expect("pipe");
        send_message(&a, b"hello", &[r.as_fd()]).expect("send");
        drop(r);
        let (body, fds) = recv_message(&b, 100).expect("recv").expect("a message");
        assert_eq!(body, b"hello");
        assert_eq!(fds.len(), 1);
        w.write_all(b"x").expect("write");
        let mut got = [0u8; 1];
        io::PipeReader::from(fds.into_iter().next().expect("fd")).read_exact(&mut got).expect("read");
        assert_eq!(&got, b"x");
        drop(a);
        assert!(recv_message(&b, 100).expect("eof").is_none());
    }
}
