//! A run contained by a job object: the executor is created suspended, assigned to the job and
//! only then resumed, so nothing it starts is ever outside the job. The job kills everything in
//! it when its last handle closes (the runner's, even if the runner is killed) and allows no
//! breakaway.

use std::fs::File;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::os::windows::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE, WAIT_OBJECT_0};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectBasicAccountingInformation,
    JobObjectExtendedLimitInformation, QueryInformationJobObject, SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    CREATE_SUSPENDED, OpenThread, ResumeThread, THREAD_SUSPEND_RESUME, WaitForSingleObject,
};

use crate::supervise::{Ended, Stopper};

/// How long killing may take before the run is reported as not cleaned up.
const KILL_WAIT: Duration = Duration::from_secs(10);
/// How long processes already exiting when the executor ends get before they count as left.
const SETTLE: Duration = Duration::from_millis(100);

#[derive(Debug)]
struct Job(OwnedHandle);

impl Job {
    fn raw(&self) -> HANDLE {
        self.0.as_raw_handle() as HANDLE
    }

    fn terminate(&self) {
        // SAFETY: the job handle is live while `self` is.
        unsafe { TerminateJobObject(self.raw(), 1) };
    }

    fn active(&self) -> u32 {
        // SAFETY: a plain C struct of integers: all-zero bytes are a valid value.
        let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a correctly sized out-buffer for this information class.
        let ok = unsafe {
            QueryInformationJobObject(
                self.raw(),
                JobObjectBasicAccountingInformation,
                (&mut info as *mut JOBOBJECT_BASIC_ACCOUNTING_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 { 0 } else { info.ActiveProcesses }
    }

    /// Waits until no process is left in the job, up to `until`.
    fn drained(&self, until: Instant) -> bool {
        while self.active() > 0 {
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

/// A run in its job.
#[derive(Debug)]
pub struct Isolated {
    child: Child,
    job: Arc<Job>,
    stopped: Arc<AtomicBool>,
    timeout: Duration,
}

/// Starts the `executor` command in a job of its own; its stderr goes to `stderr`.
pub fn start(_harness: &Path, executor: Command, stderr: File, timeout: Duration, _dir: &Path) -> io::Result<Isolated> {
    let job = new_job()?;
    let mut cmd = executor;
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr).creation_flags(CREATE_SUSPENDED);
    let mut child = cmd.spawn()?;
    // SAFETY: both handles are live for the duration of the call.
    let assigned = unsafe { AssignProcessToJobObject(job.raw(), child.as_raw_handle() as HANDLE) } != 0;
    let started = if assigned { resume_threads(child.id()) } else { Err(io::Error::last_os_error()) };
    if let Err(e) = started {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(Isolated { child, job: Arc::new(job), stopped: Arc::new(AtomicBool::new(false)), timeout })
}

fn new_job() -> io::Result<Job> {
    // SAFETY: no security attributes (not inheritable) and no name: a fresh anonymous job.
    let raw = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
    if raw.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new handle we own from here on.
    let job = Job(unsafe { OwnedHandle::from_raw_handle(raw as _) });
    // SAFETY: a plain C struct of integers: all-zero bytes are a valid value (no limits).
    let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    // Kill on close; no JOB_OBJECT_LIMIT_BREAKAWAY_OK nor SILENT_BREAKAWAY_OK: nothing leaves.
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    // SAFETY: `limits` is a correctly sized in-buffer for this information class.
    let ok = unsafe {
        SetInformationJobObject(
            job.raw(),
            JobObjectExtendedLimitInformation,
            (&limits as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
            std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(job)
}

/// Resumes the threads of a process created suspended (std does not hand out its thread handle).
fn resume_threads(pid: u32) -> io::Result<()> {
    // SAFETY: a snapshot of all threads; the handle is closed below.
    let snap = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    if snap == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a plain C struct of integers: all-zero bytes are a valid value.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
    let mut resumed = 0;
    // SAFETY: `snap` is live and `entry` is a correctly sized out-buffer with dwSize set.
    let mut more = unsafe { Thread32First(snap, &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: plain calls on a thread handle we open and close here.
            unsafe {
                let thread = OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID);
                if !thread.is_null() {
                    if ResumeThread(thread) != u32::MAX {
                        resumed += 1;
                    }
                    CloseHandle(thread);
                }
            }
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(snap, &mut entry) } != 0;
    }
    // SAFETY: the snapshot handle is ours and closed once.
    unsafe { CloseHandle(snap) };
    if resumed == 0 { Err(io::Error::other(format!("could not resume process {pid}"))) } else { Ok(()) }
}

impl Isolated {
    /// Stops the run from another thread: the whole job is terminated.
    pub fn stopper(&self) -> Stopper {
        let (job, stopped) = (self.job.clone(), self.stopped.clone());
        Box::new(move || {
            stopped.store(true, Ordering::SeqCst);
            job.terminate();
        })
    }

    /// Waits until the run is over and every process of it is gone.
    pub fn wait(mut self) -> io::Result<Ended> {
        let deadline = Instant::now().checked_add(self.timeout);
        let mut ended = Ended::default();
        let status = loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                break None;
            }
            let ms = left.map_or(u32::MAX - 1, |l| l.as_millis().clamp(1, u128::from(u32::MAX - 1)) as u32);
            // SAFETY: the process handle is live while `self.child` is.
            let r = unsafe { WaitForSingleObject(self.child.as_raw_handle() as HANDLE, ms) };
            if r == WAIT_OBJECT_0 {
                break self.child.try_wait()?;
            }
        };
        match status {
            Some(status) if !self.stopped.load(Ordering::SeqCst) => {
                ended.executor_code = Some(super::exitcode(status));
                let settled = self.job.drained(Instant::now() + SETTLE);
                if !settled {
                    ended.leftovers = vec![format!("{} process(es) still in the run's job", self.job.active())];
                }
            }
            Some(_) => ended.stopped = true,
            None => ended.timed_out = true,
        }
        self.job.terminate();
        let _ = self.child.wait();
        ended.clean = self.job.drained(Instant::now() + KILL_WAIT);
        ended.stopped |= self.stopped.load(Ordering::SeqCst);
        Ok(ended)
    }
}
