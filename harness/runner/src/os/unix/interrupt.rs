//! SIGINT, SIGTERM and SIGHUP to the runner: the handler runs on a thread of its own (fed by the
//! signal pipe), then the runner ends as the signal would have ended it.

use std::os::fd::AsFd;
use std::sync::Arc;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigHandler, Signal, raise, signal};

use super::signal_pipe;

const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Calls `handler` once, on its own thread, when the first of those signals arrives; then ends
/// the process by that signal. A second signal meanwhile ends it at once (its supervisors still
/// clean up their runs by themselves).
pub fn on_interrupt(handler: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<()> {
    let read = signal_pipe::install(&SIGNALS)?;
    std::thread::Builder::new().name("interrupt".into()).spawn(move || {
        loop {
            let mut fds = [PollFd::new(read.as_fd(), PollFlags::POLLIN)];
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue;
            }
            let mut byte = [0u8; 1];
            let Ok(1) = nix::unistd::read(read.as_fd(), &mut byte) else { continue };
            let Some(&sig) = SIGNALS.iter().find(|s| **s as i32 == i32::from(byte[0])) else { continue };
            for s in SIGNALS {
                // SAFETY: restoring the default action installs no handler code.
                let _ = unsafe { signal(s, SigHandler::SigDfl) };
            }
            handler();
            let _ = raise(sig);
            crate::exit_now(128 + sig as i32);
        }
    })?;
    Ok(())
}
