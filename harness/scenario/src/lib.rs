//! The scenario language: a scenario file describes a program of actors (threads or processes)
//! built from the chapter's primitives, and what must hold when it has run.
//!
//! This crate is pure: a model, a parser and validation, with no OS code, so a file parses and
//! fails the same way everywhere. The runner (`procthread-harness`) executes the model. The
//! language is documented, element by element, in `docs/scenarios.md`.

mod backend;
mod diag;
mod divergence;
mod model;
mod parse;
mod template;
mod tree;

use std::path::{Path, PathBuf};

pub use backend::{Applicability, Backend, applicability, applicable};
pub use diag::{Diagnostic, Diagnostics, LoadError};
pub use divergence::{Divergence, Hang, Implementation, OSES};
pub use model::*;
pub use parse::{parse_bytes, parse_str};
pub use template::{BUILTINS, Part, Placeholder, Template};

/// Reads and parses one scenario file; its name is the file's stem.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    let bytes = std::fs::read(path).map_err(|error| LoadError::Read { path: path.to_path_buf(), error })?;
    Ok(parse_bytes(path, &bytes)?)
}

/// Reads and parses a scenario file of `dir` (or of a folder under it); its name is its path
/// under `dir` without `.toml`, folders joined by `/` (`cpython/lock_tests/EventTests.test_timeout`).
pub fn load_in(dir: &Path, path: &Path) -> Result<Scenario, LoadError> {
    let mut scenario = load(path)?;
    scenario.name = name_in(dir, path);
    Ok(scenario)
}

/// A file's scenario name under `dir` (its stem if it is not under `dir`).
pub fn name_in(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let relative = if relative == path { Path::new(path.file_name().unwrap_or_default()) } else { relative };
    let parts: Vec<String> = relative.with_extension("").iter().map(|p| p.to_string_lossy().into_owned()).collect();
    parts.join("/")
}

/// The `*.toml` files of a directory and of its subfolders, sorted by path (a folder's files
/// after the files beside it that sort before it).
pub fn discover(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests;
