//! The conformance matrix: how each (scenario, backend, implementation) came out, as the
//! `harness run --impl all` table and as JSON. Plain serde data, so that reports (the HTML
//! conformance page) can read it back without running anything.

use std::collections::BTreeMap;

use procthread_scenario::{Backend, Implementation};
use serde::{Deserialize, Serialize};

/// How one (scenario, backend, implementation) came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Agrees with the reference: verdict and snapshot.
    Pass,
    /// Differs from the reference exactly as the scenario declares.
    Held,
    /// Neither agrees with the reference nor diverges as declared.
    Fail,
    /// A declared divergence did not happen: the run agrees with the reference (a failure, until
    /// the declaration is removed or narrowed).
    Gone,
    /// Not run here (a backend this OS lacks, or no Python).
    Skipped,
}

impl Status {
    /// The word in the matrix.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Held => "held",
            Status::Fail => "FAIL",
            Status::Gone => "GONE",
            Status::Skipped => "skip",
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(self, Status::Fail | Status::Gone)
    }
}

/// A declared divergence as the matrix shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredDivergence {
    pub reason: String,
    pub source: String,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub scenario: String,
    pub backend: Backend,
    pub implementation: Implementation,
    pub status: Status,
    pub elapsed_ms: Option<u128>,
    /// Why it failed, or what to know (no snapshot yet, the skip's reason).
    pub details: Vec<String>,
    /// The divergence declared here, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divergence: Option<DeclaredDivergence>,
}

/// Every cell of a run: scenario x backend x implementation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Matrix {
    pub implementations: Vec<Implementation>,
    pub cells: Vec<Cell>,
}

impl Matrix {
    pub fn count(&self, status: Status) -> usize {
        self.cells.iter().filter(|c| c.status == status).count()
    }

    pub fn failures(&self) -> usize {
        self.cells.iter().filter(|c| c.status.is_failure()).count()
    }

    /// The table: one row per scenario and backend, one column per implementation; then each
    /// divergence with its reason and source.
    pub fn table(&self) -> String {
        let mut rows: BTreeMap<(&str, Backend), BTreeMap<Implementation, &Cell>> = BTreeMap::new();
        for c in &self.cells {
            rows.entry((c.scenario.as_str(), c.backend)).or_default().insert(c.implementation, c);
        }
        let width = rows.keys().map(|(s, _)| s.len()).max().unwrap_or(8).max(8);
        let mut header = format!("{:<width$}  {:<13}", "scenario", "backend");
        for i in &self.implementations {
            header.push_str(&format!("  {:<9}", i.as_str()));
        }
        let mut out = format!("{}\n", header.trim_end());
        for ((scenario, backend), cells) in &rows {
            let mut line = format!("{scenario:<width$}  {:<13}", backend.as_str());
            for i in &self.implementations {
                let label = cells.get(i).map_or("-", |c| c.status.label());
                line.push_str(&format!("  {label:<9}"));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let mut seen = Vec::new();
        for c in &self.cells {
            if let Some(d) = &c.divergence
                && !seen.contains(&(&c.scenario, c.implementation))
            {
                seen.push((&c.scenario, c.implementation));
                out.push_str(&format!("\n{} on {}: {}\n    {}\n", c.scenario, c.implementation, d.reason, d.source));
            }
        }
        out.push_str(&format!(
            "\n{} pass, {} held (declared divergences), {} FAIL, {} GONE (declared divergences that did not happen), {} skipped\n",
            self.count(Status::Pass),
            self.count(Status::Held),
            self.count(Status::Fail),
            self.count(Status::Gone),
            self.count(Status::Skipped),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_has_a_column_per_implementation_and_lists_divergences() {
        let cell = |backend, implementation, status| Cell {
            scenario: "race".into(),
            backend,
            implementation,
            status,
            elapsed_ms: Some(1),
            details: vec![],
            divergence: (status == Status::Held)
                .then(|| DeclaredDivergence { reason: "no update is lost".into(), source: "https://e.org".into() }),
        };
        let m = Matrix {
            implementations: Implementation::ALL.to_vec(),
            cells: vec![
                cell(Backend::Thread, Implementation::Reference, Status::Pass),
                cell(Backend::Thread, Implementation::Cpython, Status::Held),
                cell(Backend::Spawn, Implementation::Reference, Status::Pass),
                cell(Backend::Spawn, Implementation::Cpython, Status::Fail),
            ],
        };
        let t = m.table();
        assert!(t.starts_with("scenario  backend        reference  cpython\nrace      thread         pass       held\nrace      spawn          pass       FAIL\n"), "{t}");
        assert!(t.contains("\nrace on cpython: no update is lost\n    https://e.org\n"), "{t}");
        assert_eq!(m.failures(), 1);
        let json: Matrix = serde_json::from_str(&serde_json::to_string(&m).expect("json")).expect("back");
        assert_eq!(json.cells[1].status, Status::Held);
    }
}
