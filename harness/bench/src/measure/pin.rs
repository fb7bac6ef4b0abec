//! Pinning this process (and the children it starts, which inherit it) to one CPU, so that a
//! round trip measures the software and not the hypervisor's cross-CPU wake-up.

/// Pins to CPU 0; `false` where the OS has no such call here (the report says so).
#[cfg(target_os = "linux")]
pub fn pin_to_first_cpu() -> bool {
    use nix::sched::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    set.set(0).is_ok() && sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).is_ok()
}

#[cfg(not(target_os = "linux"))]
pub fn pin_to_first_cpu() -> bool {
    false
}
