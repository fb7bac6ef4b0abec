//! The process table, as far as the supervisor needs it: who is whose parent, in which group,
//! started when (to tell a process from a later one that reuses its pid), alive or a zombie.
//! Linux reads `/proc`; macOS asks libproc.

use std::collections::HashMap;

/// One process as the table shows it at the moment it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    /// When it started, in an OS-specific unit: only compared for equality.
    pub start: u64,
    /// Dead but not yet reaped: gone for every purpose but its pid.
    pub zombie: bool,
    /// Its command name (short), for messages.
    pub name: String,
}

/// Every process this user can see.
#[cfg(target_os = "linux")]
pub fn all() -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()).filter_map(read_linux).collect()
}

/// One process, or `None` once it is gone (or if its entry cannot be read).
#[cfg(target_os = "linux")]
pub fn one(pid: i32) -> Option<ProcInfo> {
    read_linux(pid)
}

/// Parses `/proc/PID/stat`: `pid (comm) state ppid pgrp session ... starttime(22nd) ...`. The
/// command name may hold spaces and parentheses, so fields are counted from the last `)`.
#[cfg(target_os = "linux")]
fn read_linux(pid: i32) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &stat)
}

#[cfg(target_os = "linux")]
fn parse_stat(pid: i32, stat: &str) -> Option<ProcInfo> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    Some(ProcInfo {
        pid,
        zombie: matches!(*rest.first()?, "Z" | "X"),
        ppid: rest.get(1)?.parse().ok()?,
        pgid: rest.get(2)?.parse().ok()?,
        start: rest.get(19)?.parse().ok()?,
        name,
    })
}

#[cfg(target_os = "macos")]
pub fn all() -> Vec<ProcInfo> {
    // Ask for the count first, then read with some headroom for processes started meanwhile.
    // SAFETY: a null buffer of size 0 asks only for the number of pids.
    let n = unsafe { libc::proc_listallpids(std::ptr::null_mut(), 0) };
    if n <= 0 {
        return Vec::new();
    }
    let mut pids = vec![0 as libc::pid_t; n as usize + 64];
    let bytes = (pids.len() * std::mem::size_of::<libc::pid_t>()) as libc::c_int;
    // SAFETY: `pids` is a writable buffer of exactly `bytes` bytes.
    let got = unsafe { libc::proc_listallpids(pids.as_mut_ptr().cast(), bytes) };
    if got <= 0 {
        return Vec::new();
    }
    pids.truncate((got as usize).min(pids.len()));
    pids.into_iter().filter(|&p| p > 0).filter_map(one).collect()
}

#[cfg(target_os = "macos")]
pub fn one(pid: i32) -> Option<ProcInfo> {
    // SAFETY: a plain C struct of integers and byte arrays: all-zero bytes are a valid value.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
    // SAFETY: `info` is a writable buffer of `size` bytes for this flavor.
    let got = unsafe {
        libc::proc_pidinfo(pid, libc::PROC_PIDTBSDINFO, 0, (&mut info as *mut libc::proc_bsdinfo).cast(), size)
    };
    if got != size {
        return None;
    }
    const SZOMB: u32 = 5;
    let name: String = info.pbi_comm.iter().take_while(|&&c| c != 0).map(|&c| c as u8 as char).collect();
    Some(ProcInfo {
        pid,
        ppid: info.pbi_ppid as i32,
        pgid: info.pbi_pgid as i32,
        start: info.pbi_start_tvsec.wrapping_mul(1_000_000).wrapping_add(info.pbi_start_tvusec),
        zombie: info.pbi_status == SZOMB,
        name,
    })
}

/// Other Unixes: no process table; the supervisor falls back on the process group alone.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn all() -> Vec<ProcInfo> {
    Vec::new()
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn one(_pid: i32) -> Option<ProcInfo> {
    None
}

/// The live (not zombie) descendants of `root` in `table`, parents before children.
pub fn descendants(table: &[ProcInfo], root: i32) -> Vec<ProcInfo> {
    let mut kids: HashMap<i32, Vec<&ProcInfo>> = HashMap::new();
    for p in table {
        if p.pid != root {
            kids.entry(p.ppid).or_default().push(p);
        }
    }
    let mut out = Vec::new();
    let mut next = vec![root];
    while let Some(pid) = next.pop() {
        for k in kids.get(&pid).into_iter().flatten() {
            next.push(k.pid);
            if !k.zombie {
                out.push((*k).clone());
            }
        }
    }
    out
}

/// `pid 123 (sleep)`, for messages.
pub fn describe(p: &ProcInfo) -> String {
    format!("pid {} ({})", p.pid, p.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, zombie: bool) -> ProcInfo {
        ProcInfo { pid, ppid, pgid: pid, start: 0, zombie, name: format!("p{pid}") }
    }

    #[test]
    fn descendants_walk_the_whole_subtree_and_skip_zombies() {
        let table =
            [p(1, 0, false), p(10, 1, false), p(11, 10, false), p(12, 11, true), p(13, 12, false), p(20, 1, false)];
        let mut got: Vec<i32> = descendants(&table, 10).iter().map(|p| p.pid).collect();
        got.sort();
        assert_eq!(got, [11, 13]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn stat_lines_parse_even_with_odd_command_names() {
        let line = "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 1 1 1";
        let info = parse_stat(4242, line).expect("parses");
        assert_eq!((info.ppid, info.pgid, info.start, info.zombie), (17, 4242, 98765, false));
        assert_eq!(info.name, "a (b) c");
        let me = one(std::process::id() as i32).expect("own entry");
        assert_eq!(me.ppid, std::os::unix::process::parent_id() as i32);
    }
}
