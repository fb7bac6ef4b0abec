//! The repository the harness works in, found from the current directory: the default
//! `scenarios/` and `snapshots/` are the repository's wherever in it the harness is started.

use std::path::{Path, PathBuf};

/// The workspace root above `from` (or `from` itself): the nearest folder whose `Cargo.toml`
/// has a `[workspace]` table, or else the nearest one holding a `scenarios/` folder. `None` if
/// neither is found up to the filesystem's root.
pub fn root_from(from: &Path) -> Option<PathBuf> {
    let mut with_scenarios = None;
    for dir in from.ancestors() {
        if is_workspace_manifest(&dir.join("Cargo.toml")) {
            return Some(dir.to_path_buf());
        }
        if with_scenarios.is_none() && dir.join("scenarios").is_dir() {
            with_scenarios = Some(dir.to_path_buf());
        }
    }
    with_scenarios
}

fn is_workspace_manifest(file: &Path) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| text.lines().any(|l| l.trim() == "[workspace]"))
}

/// A folder of the workspace (`scenarios`, `snapshots`) as the harness names it: relative to the
/// current directory (`scenarios`, `../../scenarios`), so that file:line:col messages stay short
/// and clickable. Outside any workspace: the folder under the current directory.
pub fn folder(name: &str) -> PathBuf {
    let Ok(cwd) = std::env::current_dir() else { return PathBuf::from(name) };
    match root_from(&cwd) {
        Some(root) => below(&cwd, &root).join(name),
        None => PathBuf::from(name),
    }
}

/// The way up from `dir` to its ancestor `root`: `.`, `..`, `../..`.
fn below(dir: &Path, root: &Path) -> PathBuf {
    let depth = dir.strip_prefix(root).map_or(0, |rest| rest.components().count());
    if depth == 0 { PathBuf::new() } else { (0..depth).map(|_| "..").collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_workspace_manifest_above() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path().join("repo");
        let deep = root.join("harness").join("runner").join("src");
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = []\n").expect("write");
        // A member's manifest is not the root, nor is a folder with scenarios below the root.
        std::fs::write(root.join("harness").join("runner").join("Cargo.toml"), "[package]\n").expect("write");
        std::fs::create_dir_all(root.join("harness").join("scenarios")).expect("mkdir");
        assert_eq!(root_from(&deep), Some(root.clone()));
        assert_eq!(root_from(&root), Some(root.clone()));
    }

    #[test]
    fn without_a_workspace_the_folder_with_scenarios_is_the_root() {
        let dir = tempfile::tempdir().expect("dir");
        let deep = dir.path().join("a").join("b");
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("a").join("scenarios")).expect("mkdir");
        assert_eq!(root_from(&deep), Some(dir.path().join("a")));
    }

    #[test]
    fn folders_are_named_from_the_current_directory() {
        let root = Path::new("/repo");
        assert_eq!(below(&root.join("x").join("y"), root).join("scenarios"), Path::new("../../scenarios"));
        assert_eq!(below(root, root).join("scenarios"), Path::new("scenarios"));
    }
}
