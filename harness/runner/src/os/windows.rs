//! Windows: the executor runs in a job object; everything it starts joins the job, and
//! terminating the job ends them all.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOBOBJECT_BASIC_ACCOUNTING_INFORMATION,
    JobObjectBasicAccountingInformation, QueryInformationJobObject, TerminateJobObject,
};

#[derive(Debug)]
pub struct Tree {
    child: Child,
    job: OwnedHandle,
}

pub fn start(cmd: &mut Command) -> io::Result<Tree> {
    // SAFETY: no security attributes and no name: a fresh anonymous job object.
    let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
    if job.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `job` is a new handle we own from here on.
    let job = unsafe { OwnedHandle::from_raw_handle(job as _) };
    let child = cmd.spawn()?;
    // The executor does nothing but parse its scenario in its first moments, so it has started
    // nothing yet when it joins the job; all it starts later belongs to the job too.
    // SAFETY: both handles are live for the duration of the call.
    let ok = unsafe { AssignProcessToJobObject(job.as_raw_handle() as HANDLE, child.as_raw_handle() as HANDLE) };
    let mut tree = Tree { child, job };
    if ok == 0 {
        let err = io::Error::last_os_error();
        let _ = tree.child.kill();
        let _ = tree.child.wait();
        return Err(err);
    }
    Ok(tree)
}

impl Tree {
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }

    fn active(&self) -> u32 {
        let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe_zeroed();
        // SAFETY: `info` is a correctly sized out-buffer for this information class.
        let ok = unsafe {
            QueryInformationJobObject(
                self.job.as_raw_handle() as HANDLE,
                JobObjectBasicAccountingInformation,
                (&mut info as *mut JOBOBJECT_BASIC_ACCOUNTING_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 { 0 } else { info.ActiveProcesses }
    }

    pub fn anyone_left(&self) -> bool {
        self.active() > 0
    }

    pub fn kill_all(&mut self) -> bool {
        // SAFETY: the job handle is live.
        unsafe { TerminateJobObject(self.job.as_raw_handle() as HANDLE, 1) };
        let _ = self.child.try_wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.anyone_left() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

fn unsafe_zeroed() -> JOBOBJECT_BASIC_ACCOUNTING_INFORMATION {
    // SAFETY: a plain C struct of integers, for which all-zero bytes are a valid value.
    unsafe { std::mem::zeroed() }
}

pub fn exitcode(status: ExitStatus) -> i32 {
    match status.code() {
        Some(0x10000) => -15,
        Some(c) => c,
        None => -1,
    }
}

/// Plain codes as numbers; NTSTATUS-style codes (a crash) in hex as well, as Windows shows them.
pub fn describe_exit(code: i32) -> String {
    if (0..=0xFFFF).contains(&code) || code == -15 {
        format!("exit code {code}")
    } else {
        format!("exit code {code} ({:#010x})", code as u32)
    }
}

pub fn segfault() -> ! {
    std::process::abort()
}

/// `TerminateProcess` on this process, with the code `kill` gives (read back as -15).
pub fn kill_self() -> ! {
    // SAFETY: the pseudo-handle of the current process is always valid; terminating it ends
    // this process here.
    unsafe {
        windows_sys::Win32::System::Threading::TerminateProcess(
            windows_sys::Win32::System::Threading::GetCurrentProcess(),
            0x10000,
        );
    }
    std::process::abort()
}
