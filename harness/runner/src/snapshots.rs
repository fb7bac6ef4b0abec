//! Where a run's snapshot lives, and reading one back (insta's `.snap` format) for `harness run`.

use std::path::{Path, PathBuf};

use procthread_scenario::Backend;

/// Backends of one family share a snapshot: `queue-ipc@processes`. A scenario in a subfolder
/// keeps its folders: `cpython/lock_tests/EventTests.test_timeout@threads`, a file under
/// `snapshots/cpython/lock_tests/`.
pub fn name(scenario: &str, backend: Backend) -> String {
    format!("{scenario}@{}", backend.family())
}

/// The folder a snapshot (or scenario) name's file is in under `dir`: `dir` itself, or its
/// subfolders.
pub fn folder(dir: &Path, name: &str) -> PathBuf {
    match name.rsplit_once('/') {
        Some((folders, _)) => folders.split('/').fold(dir.to_path_buf(), |d, f| d.join(f)),
        None => dir.to_path_buf(),
    }
}

/// A snapshot name without its folders: the file's name without `.snap` (what insta is given,
/// with [`folder`] as its snapshot path).
pub fn file_stem(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

pub fn path(dir: &Path, scenario: &str, backend: Backend) -> PathBuf {
    let name = name(scenario, backend);
    folder(dir, &name).join(format!("{}.snap", file_stem(&name)))
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
