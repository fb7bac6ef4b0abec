//! Unix side of `subprocess`: spawning (no lock needed: descriptors are close-on-exec unless a
//! spawn clears the flag in the child alone), and the pump that feeds a child's stdin and drains
//! its stdout and stderr on the calling thread with `poll`, as CPython's `communicate` does, so
//! that it can stop at any deadline and resume later.

use std::io::{self, Read, Write};
use std::io::{PipeReader, PipeWriter};
use std::os::fd::{AsFd, BorrowedFd};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Spawns `cmd`. The twin of the Windows version, which must serialize spawns.
pub(crate) fn spawn_locked(cmd: &mut Command) -> io::Result<Child> {
    cmd.spawn()
}

/// How much is read or written per system call.
const CHUNK: usize = 64 << 10;

/// Moves bytes between this process and a child's pipes until each reaches its end.
#[derive(Debug)]
pub(crate) struct Pump {
    stdin: Option<(PipeWriter, Vec<u8>, usize)>,
    stdout: Option<PipeReader>,
    stderr: Option<PipeReader>,
    out: Option<Vec<u8>>,
    err: Option<Vec<u8>>,
}

fn nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

impl Pump {
    /// `input` is written to `stdin`, which is then closed (at once if there is no input).
    pub(crate) fn new(
        stdin: Option<PipeWriter>,
        input: Vec<u8>,
        stdout: Option<PipeReader>,
        stderr: Option<PipeReader>,
    ) -> io::Result<Pump> {
        // Our ends only: the child's ends are separate open files and stay blocking.
        for fd in
            [stdin.as_ref().map(|s| s.as_fd()), stdout.as_ref().map(|s| s.as_fd()), stderr.as_ref().map(|s| s.as_fd())]
                .into_iter()
                .flatten()
        {
            nonblocking(fd)?;
        }
        let stdin = stdin.filter(|_| !input.is_empty()).map(|s| (s, input, 0));
        Ok(Pump {
            stdin,
            out: stdout.as_ref().map(|_| Vec::new()),
            err: stderr.as_ref().map(|_| Vec::new()),
            stdout,
            stderr,
        })
    }

    /// Moves bytes until every stream is at its end (`true`) or `deadline` passes (`false`).
    pub(crate) fn run(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
        loop {
            if self.stdin.is_none() && self.stdout.is_none() && self.stderr.is_none() {
                return Ok(true);
            }
            let timeout = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(false);
                    }
                    // Round up: a sub-millisecond remainder must not spin at zero.
                    let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
                    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
                }
            };
            let (w, r_out, r_err) = {
                let mut fds = Vec::with_capacity(3);
                let w = self.stdin.as_ref().map(|(s, ..)| {
                    fds.push(PollFd::new(s.as_fd(), PollFlags::POLLOUT));
                    fds.len() - 1
                });
                let r_out = self.stdout.as_ref().map(|s| {
                    fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
                    fds.len() - 1
                });
                let r_err = self.stderr.as_ref().map(|s| {
                    fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
                    fds.len() - 1
                });
                match poll(&mut fds, timeout) {
                    Ok(_) => {}
                    Err(Errno::EINTR) => continue,
                    Err(e) => return Err(e.into()),
                }
                let ready = |i: Option<usize>| i.is_some_and(|i| fds[i].revents().is_some_and(|r| !r.is_empty()));
                (ready(w), ready(r_out), ready(r_err))
            };
            if w {
                self.feed()?;
            }
            if r_out && drain(&mut self.stdout, self.out.get_or_insert_with(Vec::new))? {
                self.stdout = None;
            }
            if r_err && drain(&mut self.stderr, self.err.get_or_insert_with(Vec::new))? {
                self.stderr = None;
            }
        }
    }

    /// Writes what the pipe takes now; closes stdin once all is written or the child closed it.
    fn feed(&mut self) -> io::Result<()> {
        let Some((stdin, input, at)) = self.stdin.as_mut() else { return Ok(()) };
        let end = (*at + CHUNK).min(input.len());
        match stdin.write(&input[*at..end]) {
            Ok(n) => *at += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
            // The child stopped reading (exited, or closed its stdin): not our error, as in CPython.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => *at = input.len(),
            Err(e) => return Err(e),
        }
        if *at >= input.len() {
            self.stdin = None;
        }
        Ok(())
    }

    /// What was read so far: `None` for a stream that is not a pipe.
    pub(crate) fn output(&self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        (self.out.clone(), self.err.clone())
    }

    /// Everything read, leaving the pump empty.
    pub(crate) fn take(&mut self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        (self.out.take(), self.err.take())
    }

    /// Stops waiting for the streams' ends: closes our side of each pipe (a process that still
    /// holds the other side then gets end of file or a broken pipe).
    pub(crate) fn abandon(&mut self) {
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
    }
}

/// Reads what is there (a bounded amount, so that a fast writer cannot keep the loop from its
/// deadline); `true` at end of file.
fn drain(stream: &mut Option<impl Read>, into: &mut Vec<u8>) -> io::Result<bool> {
    let Some(s) = stream.as_mut() else { return Ok(true) };
    let mut buf = vec![0u8; CHUNK];
    for _ in 0..16 {
        match s.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// A copy of this process's stdout, for a child's stderr (`stderr=STDOUT` with stdout inherited).
pub(crate) fn stdout_for_child() -> io::Result<Stdio> {
    Ok(Stdio::from(std::io::stdout().as_fd().try_clone_to_owned()?))
}
