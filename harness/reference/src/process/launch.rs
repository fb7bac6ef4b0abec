//! Making the child: by spawn (this executable again, told what to run through an inherited
//! boot channel) or by fork (Unix).

use std::io::{self, Write};
use std::process::Command;

use serde::Serialize;

use super::started::Started;
use crate::entry::{BOOT_LIMIT, Boot, CHILD_FLAG};
use crate::error::ProcessError;
use crate::framing;
use crate::handles;
use crate::os::{self, ChildProc};

fn start_error(name: &str) -> impl FnOnce(io::Error) -> ProcessError + '_ {
    move |source| ProcessError::Start { name: name.to_string(), source }
}

/// Spawns this executable to run `entry_name(args)`.
///
/// The command line carries only the child flag and the number of the boot channel; the boot
/// record (entry, name, handle numbers, parent) and then the arguments come through that
/// channel, which the child checks before trusting (see `entry::run_spawned_child`).
pub(super) fn spawn<A: Serialize>(
    entry_name: &str,
    name: &str,
    daemon: bool,
    args: A,
) -> Result<Started, ProcessError> {
    let (json, handles) = handles::collect(&args).map_err(ProcessError::Arguments)?;
    let (status_r, status_w) = io::pipe().map_err(start_error(name))?;
    let (mut boot_w, boot_r) = os::boot_channel().map_err(start_error(name))?;
    let liveness = os::liveness_handle().map_err(start_error(name))?;
    let status = os::handle_number(os::borrow(&status_w));
    let boot_no = os::handle_number(os::borrow(&boot_r));
    let boot = Boot {
        entry: entry_name.to_string(),
        name: name.to_string(),
        daemon,
        status,
        handles: handles.clone(),
        ppid: std::process::id(),
        parent_name: crate::entry::current_process_name(),
        liveness,
    };
    let frame = framing::encode(&boot, BOOT_LIMIT).map_err(|e| start_error(name)(io::Error::other(e.to_string())))?;
    let exe = std::env::current_exe().map_err(start_error(name))?;
    let mut cmd = Command::new(exe);
    cmd.arg(CHILD_FLAG).arg(boot_no.to_string());
    let mut inherit = handles;
    inherit.extend([boot_no, status, liveness]);
    let child = ChildProc::from(os::spawn_with_handles(&mut cmd, &inherit).map_err(start_error(name))?);
    // The child has its copies now: close ours, so that end-of-file means what it should.
    drop((boot_r, status_w));
    // A child that died at once closed its end: its exit code will tell why, not this write.
    let _ = boot_w.write_all(&frame).and_then(|()| boot_w.write_all(json.as_bytes()));
    drop(boot_w);
    drop(args);
    Ok(Started::new(name.to_string(), daemon, child, status_r))
}

/// Forks a child that runs `func(args)` directly.
#[cfg(unix)]
pub(super) fn fork<A: Serialize>(func: fn(A), name: &str, daemon: bool, args: A) -> Result<Started, ProcessError> {
    use std::os::fd::{FromRawFd, OwnedFd};

    use crate::entry;

    let (_, mut keep) = handles::collect(&args).map_err(ProcessError::Arguments)?;
    let (status_r, status_w) = io::pipe().map_err(start_error(name))?;
    let liveness = os::liveness_handle().map_err(start_error(name))?;
    keep.extend([os::handle_number(os::borrow(&status_w)), liveness]);
    let (ppid, parent_name) = (std::process::id(), entry::current_process_name());
    let child = crate::fork::fork_running(&keep, || {
        // SAFETY: `fork_running` kept the parent's liveness read end open in this child and
        // made every static forget it (`fork::after_fork_in_child`): this is its one owner.
        let watch = os::ParentWatch::from_owned(unsafe { OwnedFd::from_raw_fd(liveness as i32) });
        super::parent::set(super::ParentProcess::new(ppid, parent_name, watch));
        entry::set_current_process(name, daemon);
        let outcome = entry::run_caught(|| func(args));
        let panic = outcome.err();
        let code = if panic.is_some() { entry::PANIC_EXIT } else { 0 };
        entry::send_report(&status_w, panic);
        code
    })?;
    Ok(Started::new(name.to_string(), daemon, ChildProc::from(child), status_r))
}

#[cfg(not(unix))]
pub(super) fn fork<A: Serialize>(_func: fn(A), _name: &str, _daemon: bool, _args: A) -> Result<Started, ProcessError> {
    Err(ProcessError::Unsupported { method: "fork", reason: "Windows has no fork; use spawn" })
}
