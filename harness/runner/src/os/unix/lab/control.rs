//! The link emulator's control socket: a Unix socket in the run's temp dir (a path, so that
//! processes in any host's namespace reach it) taking one [`Command`] per connection, as a JSON
//! line, and answering one line: `ok` (or the stats as JSON) or `error: WHY`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::wire::State;
use crate::hosts::Command;

/// How long a client may take to send its command, and to read the answer.
const CLIENT_WAIT: Duration = Duration::from_secs(5);
/// The longest command line read.
const MAX_LINE: u64 = 4096;

/// Serves commands for the links of `names` until `state.stop`; `wake` becomes readable then.
pub(crate) fn serve(listener: &UnixListener, names: &[String], state: &Arc<State>, wake: &OwnedFd) {
    let _ = listener.set_nonblocking(true);
    while !state.stop.load(Ordering::SeqCst) {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN), PollFd::new(wake.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(1000u16)).is_err() {
            continue;
        }
        if let Ok((stream, _)) = listener.accept() {
            let _ = answer(stream, names, state);
        }
    }
}

fn answer(stream: UnixStream, names: &[String], state: &State) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(CLIENT_WAIT))?;
    stream.set_write_timeout(Some(CLIENT_WAIT))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_LINE)).read_line(&mut line)?;
    let reply = match serde_json::from_str::<Command>(line.trim()) {
        Ok(command) => apply(&command, names, state),
        Err(e) => Err(format!("not a command: {e}")),
    };
    let text = match reply {
        Ok(text) => text,
        Err(why) => format!("error: {why}"),
    };
    (&stream).write_all(format!("{text}\n").as_bytes())
}

fn apply(command: &Command, names: &[String], state: &State) -> Result<String, String> {
    let at = |host: &str| {
        names.iter().position(|n| n == host).ok_or_else(|| format!("no host `{host}`; hosts: {}", names.join(", ")))
    };
    let mut links = state.links();
    match command {
        Command::Cut { host } => {
            let link = &mut links[at(host)?];
            link.cut = true;
            link.cuts += 1;
        }
        Command::Restore { host } => links[at(host)?].cut = false,
        Command::Set { host, delay_ms, loss_percent } => {
            let link = &mut links[at(host)?];
            if let Some(ms) = delay_ms {
                link.delay = Duration::from_millis(u64::from(*ms));
            }
            if let Some(p) = loss_percent {
                link.loss_percent = (*p).min(100);
            }
        }
        Command::Stats => {
            drop(links);
            return serde_json::to_string(&*state.stats()).map_err(|e| e.to_string());
        }
    }
    Ok("ok".to_string())
}

/// Sends `command` to the control socket at `path`; the answer (`ok`, or the stats), or why not.
pub fn send(path: &Path, command: &Command) -> Result<String, String> {
    let talk = || -> io::Result<String> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(CLIENT_WAIT))?;
        stream.set_write_timeout(Some(CLIENT_WAIT))?;
        let line = serde_json::to_string(command).map_err(io::Error::other)?;
        (&stream).write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        BufReader::new((&stream).take(MAX_LINE)).read_line(&mut reply)?;
        Ok(reply.trim().to_string())
    };
    match talk() {
        Ok(reply) => match reply.strip_prefix("error: ") {
            Some(why) => Err(why.to_string()),
            None if reply.is_empty() => Err("the link emulator closed without answering".to_string()),
            None => Ok(reply),
        },
        Err(e) => Err(format!("cannot reach the link emulator at {}: {e}", path.display())),
    }
}
