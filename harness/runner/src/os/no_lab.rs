//! Where there are no network namespaces (macOS, Windows): no host can be made, so every host
//! of a scenario is this machine's loopback, and a scenario that acts on a link is skipped.

use std::io;
use std::path::Path;

use crate::hosts::{Command, LabHost, LabInfo, LinkStats, Spec};

const WHY: &str = "network namespaces exist only on Linux";

/// Never made here.
#[derive(Debug)]
pub struct Lab {
    info: LabInfo,
}

impl Lab {
    pub fn start(_spec: &Spec, _dir: &Path) -> io::Result<Lab> {
        Err(io::Error::new(io::ErrorKind::Unsupported, WHY))
    }

    pub fn info(&self) -> &LabInfo {
        &self.info
    }

    pub fn stats(&self) -> LinkStats {
        LinkStats::default()
    }
}

pub fn available() -> Result<(), String> {
    Err(WHY.to_string())
}

pub fn send(_path: &Path, _command: &Command) -> Result<String, String> {
    Err(WHY.to_string())
}

pub fn enter(_host: &LabHost) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, WHY))
}
