//! Where a run's snapshot lives, and reading one back (insta's `.snap` format) for `harness run`.

use std::path::{Path, PathBuf};

use procthread_scenario::Backend;

/// Backends of one family share a snapshot: `queue-ipc@processes`.
pub fn name(scenario: &str, backend: Backend) -> String {
    format!("{scenario}@{}", backend.family())
}

pub fn path(dir: &Path, scenario: &str, backend: Backend) -> PathBuf {
    dir.join(format!("{}.snap", name(scenario, backend)))
}

/// The body of an insta snapshot file (what follows its header).
pub fn read(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(rest[end + 5..].to_string())
}

/// Whether two snapshot bodies say the same (insta trims surrounding blank lines).
pub fn same(a: &str, b: &str) -> bool {
    a.trim_matches('\n') == b.trim_matches('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_body_after_the_header() {
        let dir = tempfile::tempdir().expect("dir");
        let f = dir.path().join("x.snap");
        std::fs::write(&f, "---\nsource: a\nexpression: b\n---\nline 1\nline 2\n").expect("write");
        assert_eq!(read(&f).as_deref(), Some("line 1\nline 2\n"));
        assert!(same("line 1\nline 2\n", "\nline 1\nline 2"));
        assert_eq!(name("pool", Backend::ThreadPool), "pool@threads");
    }
}
