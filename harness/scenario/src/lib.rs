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
pub use divergence::{Divergence, Hang, Implementation};
pub use model::*;
pub use parse::{parse_bytes, parse_str};
pub use template::{BUILTINS, Part, Placeholder, Template};

/// Reads and parses one scenario file.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
    Ok(parse_bytes(path, &bytes)?)
}

/// The `*.toml` files of a directory, sorted by name.
pub fn discover(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests;
