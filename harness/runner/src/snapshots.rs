//! Where a run's snapshot lives, and reading one back (insta's `.snap` format) for `harness run`.

use std::path::{Path, PathBuf};

use procthread_scenario::Backend;

/// Backends of one family share a snapshot: `queue-ipc@processes`. A scenario in a subfolder
/// (`cpython/lock_tests/EventTests.test_timeout`) keeps its folders: the name is the file's.
pub fn name(scenario: &str, backend: Backend) -> String {
    format!("{}@{}", scenario.rsplit('/').next().unwrap_or(scenario), backend.family())
}

/// The folder of a scenario's snapshots under `dir`: `dir` itself, or the scenario's subfolders.
pub fn folder(dir: &Path, scenario: &str) -> PathBuf {
    match scenario.rsplit_once('/') {
        Some((folders, _)) => folders.split('/').fold(dir.to_path_buf(), |d, f| d.join(f)),
        None => dir.to_path_buf(),
    }
}

pub fn path(dir: &Path, scenario: &str, backend: Backend) -> PathBuf {
    folder(dir, scenario).join(format!("{}.snap", name(scenario, backend)))
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
        let nested = path(Path::new("snaps"), "cpython/lock_tests/EventTests.test_timeout", Backend::Spawn);
        assert_eq!(
            nested,
            Path::new("snaps").join("cpython").join("lock_tests").join("EventTests.test_timeout@processes.snap")
        );
    }
}
