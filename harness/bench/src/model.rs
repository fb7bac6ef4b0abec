//! The report as data: what `report.json` holds (its JSON Schema is
//! `reports/report.schema.json`), and the raw series a measurement prints.

use serde::{Deserialize, Serialize};

use crate::stats::{Interval, Summary};

/// The version of `report.json`'s layout (and of a gate baseline's).
pub const SCHEMA: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Nanoseconds per operation (lower is better).
    Nanos,
    /// Messages per second (higher is better).
    PerSecond,
    /// Wall time relative to sequential (lower is better).
    Relative,
    /// Percentage of runs.
    Percent,
}

impl Unit {
    pub fn higher_is_better(self) -> bool {
        self == Unit::PerSecond
    }
}

/// What one measurement (`harness measure ID`, or CPython's `bench.py OP`) prints: a JSON list
/// of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawSeries {
    pub label: String,
    /// For sweeps: the message size or worker count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    pub samples: Vec<f64>,
}

/// The machine and the moment a report was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub os: String,
    pub arch: String,
    pub kernel: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub rustc: String,
    pub commit: String,
    /// Uncommitted changes to tracked files when the run started (`None`: no git here).
    pub dirty: Option<bool>,
    /// When the run started, RFC 3339 in UTC.
    pub timestamp: String,
    /// Load averages (1, 5, 15 minutes) before and after the run, where the OS gives them.
    pub load_before: Option<[f64; 3]>,
    pub load_after: Option<[f64; 3]>,
    /// `None`: python3 was not found, and the CPython columns say "not measured".
    pub cpython: Option<String>,
}

/// How the intervals were computed, so that a reader can reproduce them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub confidence: f64,
    pub resamples: usize,
    pub seed: u64,
    pub method: String,
}

impl Analysis {
    pub fn current() -> Analysis {
        use crate::stats::{CONFIDENCE, RESAMPLES, SEED};
        Analysis {
            confidence: CONFIDENCE,
            resamples: RESAMPLES,
            seed: SEED,
            method: "percentile bootstrap of the median; a ratio resamples its numerator and denominator \
                     independently; outliers by Tukey's fences (1.5 and 3 IQR)"
                .into(),
        }
    }
}

/// One series with every raw sample and their summary (`None` when no sample is finite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    pub samples: Vec<f64>,
    pub summary: Option<Summary>,
}

/// One side of a ratio: a series label, at a sweep's `x` if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
}

/// A ratio of two medians (or one median where `den` is `None`), with its interval and target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioValue {
    pub name: String,
    pub num: Point,
    pub den: Option<Point>,
    pub value: Option<f64>,
    pub ci: Option<Interval>,
    pub target: Option<f64>,
    /// The target is a lower bound (`value >= target`) rather than an upper one.
    pub at_least: bool,
    /// Whether a larger value is better for the reference (the gate's direction).
    pub higher_is_better: bool,
    /// Compared with the baseline by the CI gate.
    pub gated: bool,
    /// Whether the median meets the target (`None` without a target or a value).
    pub met: Option<bool>,
    /// Measured significantly better than the OS floor: the measurement is suspect.
    pub suspect: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub id: String,
    pub group: String,
    pub title: String,
    pub unit: Unit,
    /// Pinned to one CPU as asked (`false` where the OS could not pin).
    pub pinned: bool,
    pub gated: bool,
    pub note: String,
    pub series: Vec<Series>,
    pub ratios: Vec<RatioValue>,
    /// What could not be measured, and why (kept from the run).
    pub errors: Vec<String>,
    /// What the analysis noticed: outliers, wide intervals, suspect ratios.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub quick: bool,
    pub machine: Machine,
    pub analysis: Analysis,
    pub figures: Vec<Figure>,
}

impl Series {
    pub fn median(&self) -> Option<f64> {
        self.summary.as_ref().map(|s| s.median)
    }
}

impl Figure {
    pub fn find(&self, label: &str, x: Option<f64>) -> Option<&Series> {
        self.series.iter().find(|s| s.label == label && s.x == x)
    }
    pub fn is_sweep(&self) -> bool {
        self.series.iter().any(|s| s.x.is_some())
    }
    /// Series labels in first-seen order.
    pub fn labels(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.series {
            if !out.contains(&s.label.as_str()) {
                out.push(&s.label);
            }
        }
        out
    }
    /// A sweep's x values, ascending.
    pub fn xs(&self) -> Vec<f64> {
        let mut xs: Vec<f64> = Vec::new();
        for x in self.series.iter().filter_map(|s| s.x) {
            if !xs.contains(&x) {
                xs.push(x);
            }
        }
        xs.sort_by(f64::total_cmp);
        xs
    }
    /// The SVG chart's file name beside the report.
    pub fn chart_file(&self) -> String {
        format!("{}.svg", self.id.replace('.', "-"))
    }
}

impl Report {
    pub fn figure(&self, id: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.id == id)
    }
}
