//! Ctrl-C, Ctrl-Break and closing the console: the handler runs (on a thread the system starts
//! for it), then the runner exits with STATUS_CONTROL_C_EXIT, as a Ctrl-C'd program does.

use std::sync::{Arc, OnceLock};

use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT, CTRL_CLOSE_EVENT, SetConsoleCtrlHandler};
use windows_sys::core::BOOL;

type Handler = Arc<dyn Fn() + Send + Sync>;

static HANDLER: OnceLock<Handler> = OnceLock::new();

const STATUS_CONTROL_C_EXIT: u32 = 0xC000_013A;

unsafe extern "system" fn on_ctrl(kind: u32) -> BOOL {
    if !matches!(kind, CTRL_C_EVENT | CTRL_BREAK_EVENT | CTRL_CLOSE_EVENT) {
        return 0;
    }
    if let Some(handler) = HANDLER.get() {
        handler();
    }
    crate::exit_now(STATUS_CONTROL_C_EXIT as i32)
}

pub fn on_interrupt(handler: Handler) -> std::io::Result<()> {
    let _ = HANDLER.set(handler);
    // SAFETY: `on_ctrl` has the signature the system expects and lives for the whole program.
    let ok = unsafe { SetConsoleCtrlHandler(Some(on_ctrl), 1) };
    if ok == 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}
