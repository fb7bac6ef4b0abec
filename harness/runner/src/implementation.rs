//! The implementations a scenario runs on, and the command line that starts each one's executor:
//! the reference as `harness exec`, CPython as `python3 -m procthread_cpython exec` (the package in
//! `harness/cpython/`). Both are started, isolated and killed by the same code (`run.rs`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use procthread_scenario::{Backend, Implementation};

/// The oldest Python the CPython executor runs on (`tomllib` is new in 3.11).
pub const MIN_PYTHON: (u32, u32) = (3, 11);

/// The environment variable naming the Python to run (`none`: no CPython here, skip its runs).
pub const PYTHON_ENV: &str = "PROCTHREAD_PYTHON";

/// The environment variable naming the folder that holds the `procthread_cpython` package.
pub const CPYTHON_DIR_ENV: &str = "PROCTHREAD_CPYTHON_DIR";

/// How to start one implementation's executor.
#[derive(Debug, Clone)]
pub enum Executor {
    /// `harness exec`: this program.
    Reference { harness: PathBuf },
    /// `python -m procthread_cpython exec`; `harness` runs the portable tools of `run` steps.
    Cpython { python: PathBuf, package_dir: PathBuf, harness: PathBuf },
}

impl Executor {
    pub fn reference(harness: &Path) -> Executor {
        Executor::Reference { harness: harness.to_path_buf() }
    }

    pub fn cpython(python: &Python, harness: &Path) -> Executor {
        Executor::Cpython { python: python.path.clone(), package_dir: cpython_dir(), harness: harness.to_path_buf() }
    }

    pub fn implementation(&self) -> Implementation {
        match self {
            Executor::Reference { .. } => Implementation::Reference,
            Executor::Cpython { .. } => Implementation::Cpython,
        }
    }

    /// The command that runs `scenario` on `backend`, writing its events under `events`.
    pub fn command(&self, backend: Backend, events: &Path, scenario: &Path) -> Command {
        match self {
            Executor::Reference { harness } => {
                let mut cmd = Command::new(harness);
                cmd.arg("exec").arg("--backend").arg(backend.as_str()).arg("--events").arg(events).arg(scenario);
                cmd
            }
            Executor::Cpython { python, package_dir, harness } => {
                let mut cmd = Command::new(python);
                cmd.arg("-m").arg("procthread_cpython").arg("exec");
                cmd.arg("--backend").arg(backend.as_str()).arg("--events").arg(events);
                cmd.arg("--harness").arg(harness).arg(scenario);
                python_env(&mut cmd, package_dir);
                cmd
            }
        }
    }
}

/// Makes the package importable (spawned children inherit it) and keeps `__pycache__` out of the
/// source tree.
pub fn python_env(cmd: &mut Command, package_dir: &Path) {
    let mut paths = vec![package_dir.to_path_buf()];
    if let Some(old) = std::env::var_os("PYTHONPATH") {
        paths.extend(std::env::split_paths(&old));
    }
    let joined = std::env::join_paths(paths).unwrap_or_else(|_| OsString::from(package_dir));
    cmd.env("PYTHONPATH", joined).env("PYTHONDONTWRITEBYTECODE", "1");
}

/// The folder holding the `procthread_cpython` package: `$PROCTHREAD_CPYTHON_DIR`, or
/// `harness/cpython` of the source tree this program was built from.
pub fn cpython_dir() -> PathBuf {
    std::env::var_os(CPYTHON_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("cpython"))
}

/// Elements of the language (`Scenario::elements`) the CPython executor does not implement: a
/// scenario that uses one is skipped on CPython, with them named. Whoever implements one in
/// `harness/cpython/` removes it here (and reviews the snapshots that then run). Empty: every
/// element has a CPython meaning; where CPython behaves otherwise (a cut link, where
/// `BaseManager` has no peer timeout), the scenario declares the divergence.
pub const CPYTHON_LACKS: &[&str] = &[];

/// Why `scenario` is not run on CPython (the elements of [`CPYTHON_LACKS`] it uses), if it is.
pub fn cpython_lacks(scenario: &procthread_scenario::Scenario) -> Option<String> {
    let lacks: Vec<String> = scenario.elements().into_iter().filter(|e| CPYTHON_LACKS.contains(&e.as_str())).collect();
    if lacks.is_empty() {
        return None;
    }
    Some(format!("the CPython executor does not implement yet: {}", lacks.join(", ")))
}

/// A Python found to be recent enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Python {
    pub path: PathBuf,
    pub version: (u32, u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PythonError {
    #[error("no Python found (tried {tried}); install Python {}.{} or later, or name one with --python or {PYTHON_ENV}", MIN_PYTHON.0, MIN_PYTHON.1)]
    NotFound { tried: String },
    #[error("{path} is Python {}.{}; the CPython executor needs {}.{} or later (for tomllib)", version.0, version.1, MIN_PYTHON.0, MIN_PYTHON.1, path = path.display())]
    TooOld { path: PathBuf, version: (u32, u32) },
    #[error("{PYTHON_ENV}=none: CPython runs are turned off here")]
    TurnedOff,
}

/// Finds the Python to run: `explicit` (`--python`), else `$PROCTHREAD_PYTHON`, else `python3`
/// (then `python`) on the PATH.
pub fn find_python(explicit: Option<&Path>) -> Result<Python, PythonError> {
    let named = explicit.map(Path::to_path_buf).or_else(|| std::env::var_os(PYTHON_ENV).map(PathBuf::from));
    if named.as_deref().is_some_and(|p| p == Path::new("none")) {
        return Err(PythonError::TurnedOff);
    }
    let candidates = match named {
        Some(p) => vec![p],
        None => vec![PathBuf::from("python3"), PathBuf::from("python")],
    };
    let mut too_old = None;
    for c in &candidates {
        match version_of(c) {
            // The interpreter itself, not a launcher in front of it (pyenv's shims are scripts).
            Some((v, exe)) if v >= MIN_PYTHON => {
                return Ok(Python { path: exe.unwrap_or_else(|| c.clone()), version: v });
            }
            Some((v, _)) => too_old = too_old.or(Some(PythonError::TooOld { path: c.clone(), version: v })),
            None => {}
        }
    }
    Err(too_old.unwrap_or_else(|| PythonError::NotFound {
        tried: candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", "),
    }))
}

/// A Python's version, and the path of its interpreter (`sys.executable`), if it runs.
fn version_of(python: &Path) -> Option<((u32, u32), Option<PathBuf>)> {
    let out = Command::new(python)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let (major, minor) = lines.next()?.trim().split_once('.')?;
    let exe = lines.next().map(str::trim).filter(|e| !e.is_empty() && Path::new(e).is_file()).map(PathBuf::from);
    Some(((major.parse().ok()?, minor.parse().ok()?), exe))
}

/// Whether CPython runs can happen here, and what to do when they cannot.
#[derive(Debug, Clone)]
pub enum Availability {
    Ready(Python),
    /// No usable Python, outside CI (or turned off): the runs are skipped, with this reason.
    Skip(String),
    /// No usable Python under CI (`CI=true`), where one is installed: the runs fail.
    Fail(String),
}

/// The Python of this process's runs, found once: `$PROCTHREAD_PYTHON` or `python3`.
pub fn cpython_availability() -> &'static Availability {
    static FOUND: OnceLock<Availability> = OnceLock::new();
    FOUND.get_or_init(|| availability(find_python(None), std::env::var("CI").is_ok_and(|v| v == "true")))
}

/// A search's result as a policy: a missing Python fails under CI, and is a skip elsewhere.
pub fn availability(found: Result<Python, PythonError>, under_ci: bool) -> Availability {
    match found {
        Ok(p) => Availability::Ready(p),
        Err(e @ PythonError::TurnedOff) => Availability::Skip(e.to_string()),
        Err(e) if under_ci => Availability::Fail(format!("{e} (CI=true: Python must be installed)")),
        Err(e) => Availability::Skip(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpython_runs_every_hosts_scenario() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("scenarios");
        for name in ["master-workers", "wrong-key", "slow-link", "cut-link"] {
            let file = dir.join("hosts").join(format!("{name}.toml"));
            let scenario = procthread_scenario::load_in(&dir, &file).expect("a scenario of the repository");
            assert_eq!(cpython_lacks(&scenario), None, "{name}");
        }
    }

    #[test]
    fn a_missing_python_skips_locally_and_fails_under_ci() {
        let missing = || Err(PythonError::NotFound { tried: "python3".into() });
        assert!(matches!(availability(missing(), false), Availability::Skip(r) if r.starts_with("no Python found")));
        assert!(
            matches!(availability(missing(), true), Availability::Fail(r) if r.ends_with("(CI=true: Python must be installed)"))
        );
        assert!(matches!(availability(Err(PythonError::TurnedOff), true), Availability::Skip(_)));
        let old = PythonError::TooOld { path: "py".into(), version: (3, 8) };
        assert_eq!(old.to_string(), "py is Python 3.8; the CPython executor needs 3.11 or later (for tomllib)");
    }

    #[test]
    fn a_named_python_that_does_not_exist_is_not_found() {
        let err = find_python(Some(Path::new("/no/such/python3"))).expect_err("missing");
        assert!(matches!(&err, PythonError::NotFound { tried } if tried == "/no/such/python3"), "{err}");
        assert_eq!(find_python(Some(Path::new("none"))), Err(PythonError::TurnedOff));
    }

    #[test]
    fn a_found_python_is_its_interpreter_not_a_launcher() {
        let Ok(py) = find_python(None) else { return }; // no Python here: nothing to check
        let out = Command::new(&py.path).args(["-c", "import sys; print(sys.executable)"]).output().expect("runs");
        assert_eq!(Path::new(String::from_utf8_lossy(&out.stdout).trim()), py.path);
        assert!(py.version >= MIN_PYTHON);
    }

    #[test]
    fn the_cpython_command_line_names_the_package_backend_and_tools() {
        let py = Python { path: "python3".into(), version: (3, 11) };
        let cmd = Executor::cpython(&py, Path::new("/bin/harness")).command(
            Backend::Spawn,
            Path::new("ev"),
            Path::new("s.toml"),
        );
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "-m",
                "procthread_cpython",
                "exec",
                "--backend",
                "spawn",
                "--events",
                "ev",
                "--harness",
                "/bin/harness",
                "s.toml"
            ]
        );
        let env: Vec<_> = cmd.get_envs().map(|(k, _)| k.to_string_lossy().into_owned()).collect();
        assert!(env.contains(&"PYTHONPATH".to_string()) && env.contains(&"PYTHONDONTWRITEBYTECODE".to_string()));
    }
}
