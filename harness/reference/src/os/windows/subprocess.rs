//! Windows side of `subprocess`: anonymous pipes cannot be polled, so the pump feeds stdin and
//! drains stdout and stderr on threads of its own, each filling a buffer the caller can wait on
//! with a deadline and read at any time (for a retried `communicate`).

use std::io::{self, Read, Write};
use std::io::{PipeReader, PipeWriter};
use std::os::windows::io::AsHandle;
use std::os::windows::io::AsRawHandle;
use std::process::Stdio;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::IO::CancelSynchronousIo;

/// What the threads share with the caller.
#[derive(Debug, Default)]
struct State {
    out: Option<Vec<u8>>,
    err: Option<Vec<u8>>,
    /// Threads still running.
    running: usize,
    /// Set by `abandon`: readers stop at their next chance.
    stop: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Moves bytes between this process and a child's pipes until each reaches its end.
#[derive(Debug)]
pub(crate) struct Pump {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Pump {
    /// `input` is written to `stdin`, which is then closed (at once if there is no input).
    pub(crate) fn new(
        stdin: Option<PipeWriter>,
        input: Vec<u8>,
        stdout: Option<PipeReader>,
        stderr: Option<PipeReader>,
    ) -> io::Result<Pump> {
        let shared = Arc::new(Shared::default());
        {
            let mut st = shared.lock();
            st.out = stdout.as_ref().map(|_| Vec::new());
            st.err = stderr.as_ref().map(|_| Vec::new());
        }
        let mut pump = Pump { shared, threads: Vec::new() };
        if let Some(mut stdin) = stdin.filter(|_| !input.is_empty()) {
            pump.start(move |_| {
                // A child that exits without reading its input closes the pipe: not our error.
                let _ = stdin.write_all(&input);
            })?;
        }
        if let Some(r) = stdout {
            pump.start(move |shared| read_into(r, shared, true))?;
        }
        if let Some(r) = stderr {
            pump.start(move |shared| read_into(r, shared, false))?;
        }
        Ok(pump)
    }

    fn start(&mut self, work: impl FnOnce(&Shared) + Send + 'static) -> io::Result<()> {
        let shared = self.shared.clone();
        shared.lock().running += 1;
        let spawned = std::thread::Builder::new().name("subprocess-pump".into()).spawn(move || {
            work(&shared);
            shared.lock().running -= 1;
            shared.changed.notify_all();
        });
        match spawned {
            Ok(t) => {
                self.threads.push(t);
                Ok(())
            }
            Err(e) => {
                self.shared.lock().running -= 1;
                Err(e)
            }
        }
    }

    /// Waits until every stream is at its end (`true`) or `deadline` passes (`false`).
    pub(crate) fn run(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
        let mut st = self.shared.lock();
        while st.running > 0 {
            let wait = match deadline {
                None => Duration::from_secs(3600),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(false);
                    }
                    left
                }
            };
            st = self.shared.changed.wait_timeout(st, wait).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
        }
        drop(st);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        Ok(true)
    }

    /// What was read so far: `None` for a stream that is not a pipe.
    pub(crate) fn output(&self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let st = self.shared.lock();
        (st.out.clone(), st.err.clone())
    }

    /// Everything read, leaving the pump empty.
    pub(crate) fn take(&mut self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let mut st = self.shared.lock();
        (st.out.take(), st.err.take())
    }

    /// Stops waiting for the streams' ends: the threads blocked on a pipe that another process
    /// still holds are cancelled (`CancelSynchronousIo`), closing our side. Where cancelling does
    /// not take, a thread stays blocked until that process closes the pipe.
    pub(crate) fn abandon(&mut self) {
        self.shared.lock().stop = true;
        let until = Instant::now() + Duration::from_millis(200);
        while self.shared.lock().running > 0 && Instant::now() < until {
            for t in &self.threads {
                // SAFETY: the thread handle stays valid while its JoinHandle lives; cancelling
                // a thread that is not in a synchronous I/O call does nothing.
                unsafe { CancelSynchronousIo(t.as_raw_handle() as HANDLE) };
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let done: Vec<JoinHandle<()>> = self.threads.drain(..).filter(JoinHandle::is_finished).collect();
        for t in done {
            let _ = t.join();
        }
    }
}

fn read_into(mut r: impl Read, shared: &Shared, stdout: bool) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if shared.lock().stop {
            return;
        }
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut st = shared.lock();
                let into = if stdout { &mut st.out } else { &mut st.err };
                into.get_or_insert_with(Vec::new).extend_from_slice(&buf[..n]);
            }
        }
    }
}

/// A copy of this process's stdout, for a child's stderr (`stderr=STDOUT` with stdout inherited).
pub(crate) fn stdout_for_child() -> io::Result<Stdio> {
    Ok(Stdio::from(std::io::stdout().as_handle().try_clone_to_owned()?))
}
