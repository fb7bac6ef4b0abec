//! Arguments more than one subcommand takes, and loading the scenarios they name.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use procthread_harness::workspace;
use procthread_scenario::{Backend, Implementation, Scenario};

/// Where the scenarios are (`list`, `check`).
#[derive(Debug, Clone, clap::Args)]
pub struct ScenarioDir {
    /// Directory of scenario files [default: the workspace's `scenarios/`, from any folder of it].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl ScenarioDir {
    pub fn dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| workspace::folder("scenarios"))
    }
}

/// Where the scenarios and their snapshots are (`run`, `show`).
#[derive(Debug, Clone, clap::Args)]
pub struct Paths {
    /// Directory of scenario files [default: the workspace's `scenarios/`, from any folder of it].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Directory of snapshots [default: the workspace's `snapshots/`].
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
}

impl Paths {
    pub fn dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| workspace::folder("scenarios"))
    }

    pub fn snapshots(&self) -> PathBuf {
        self.snapshots.clone().unwrap_or_else(|| workspace::folder("snapshots"))
    }

    /// These paths as options of another command (those given explicitly), for the commands
    /// the harness suggests (`harness show ...`).
    pub fn as_options(&self) -> String {
        let mut out = String::new();
        for (flag, value) in [("--dir", &self.dir), ("--snapshots", &self.snapshots)] {
            if let Some(v) = value {
                out.push_str(&format!(" {flag} {}", shell_word(&v.to_string_lossy())));
            }
        }
        out
    }
}

/// `word` as one shell word (quoted if it needs to be).
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | '+' | ','));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

/// A backend, as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Actors are threads of the executor.
    Thread,
    /// Actors are processes made by fork (Unix only).
    Fork,
    /// Actors are processes made by re-executing the harness.
    Spawn,
    /// Actors are threads; pools are thread pools.
    ThreadPool,
    /// Actors are spawned processes; pools are process pools.
    ProcessPool,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Backend {
        match b {
            BackendArg::Thread => Backend::Thread,
            BackendArg::Fork => Backend::Fork,
            BackendArg::Spawn => Backend::Spawn,
            BackendArg::ThreadPool => Backend::ThreadPool,
            BackendArg::ProcessPool => Backend::ProcessPool,
        }
    }
}

/// One implementation (`show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OneImpl {
    /// The Rust reference (`harness exec`).
    Reference,
    /// CPython's own multiprocessing and threading (`harness/cpython/`).
    Cpython,
}

impl From<OneImpl> for Implementation {
    fn from(i: OneImpl) -> Implementation {
        match i {
            OneImpl::Reference => Implementation::Reference,
            OneImpl::Cpython => Implementation::Cpython,
        }
    }
}

/// Implementations to run (`run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImplArg {
    /// The Rust reference (`harness exec`).
    Reference,
    /// CPython's own multiprocessing and threading (`harness/cpython/`).
    Cpython,
    /// Both: the run ends with the conformance matrix.
    All,
}

impl ImplArg {
    pub fn implementations(self) -> Vec<Implementation> {
        match self {
            ImplArg::Reference => vec![Implementation::Reference],
            ImplArg::Cpython => vec![Implementation::Cpython],
            ImplArg::All => Implementation::ALL.to_vec(),
        }
    }
}

/// Colours in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

impl Color {
    /// Makes this the choice of every `anstream` output of the process.
    pub fn apply(self) {
        let choice = match self {
            Color::Auto => anstream::ColorChoice::Auto,
            Color::Always => anstream::ColorChoice::Always,
            Color::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

/// The scenario name of a file given by path: its path under `dir` however either is written
/// (`./scenarios/...`, an absolute path, a path from a subfolder), so that a scenario of a
/// subfolder finds its snapshot; its stem if it is not under `dir`.
pub fn name_under(dir: &Path, file: &Path) -> String {
    match (dir.canonicalize(), file.canonicalize()) {
        (Ok(dir), Ok(file)) => procthread_scenario::name_in(&dir, &file),
        _ => procthread_scenario::name_in(dir, file),
    }
}

/// A scenario file that cannot be used, on stderr: each problem's `file:line:col: message`
/// line, then its source line with a caret (coloured where stderr takes colours).
pub fn print_load_error(e: &procthread_scenario::LoadError) {
    use std::io::Write;
    let text = match e {
        procthread_scenario::LoadError::Invalid(d) => d.render(true),
        other => other.to_string(),
    };
    // A closed stderr leaves nothing to tell.
    let _ = writeln!(anstream::stderr(), "{text}");
}

/// The scenarios of `dir` (subfolders included, each named by its path under `dir`:
/// `cpython/lock_tests/X`) whose names `wanted` accepts: a file not wanted is not read, so that
/// one broken file does not stop running the others.
pub fn load_all(dir: &Path, wanted: impl Fn(&str) -> bool) -> Result<Vec<Scenario>> {
    let files = procthread_scenario::discover(dir)
        .with_context(|| format!("cannot read scenario directory {}", dir.display()))?;
    let mut out = Vec::new();
    let mut bad = 0;
    for f in files.iter().filter(|f| wanted(&procthread_scenario::name_in(dir, f))) {
        match procthread_scenario::load_in(dir, f) {
            Ok(s) => out.push(s),
            Err(e) => {
                print_load_error(&e);
                bad += 1;
            }
        }
    }
    if bad > 0 {
        bail!("{bad} scenario file(s) are invalid (see above)");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_commands_keep_the_paths_given() {
        let p = Paths { dir: Some("my scenarios".into()), snapshots: Some("snaps".into()) };
        assert_eq!(p.as_options(), " --dir 'my scenarios' --snapshots snaps");
        assert_eq!(Paths { dir: None, snapshots: None }.as_options(), "");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
