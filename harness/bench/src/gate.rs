//! `harness gate`: compares a report with a committed baseline by ratios (never by absolute
//! times), on the figures that are stable from run to run, with tolerances from `ci/gate.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::report::{Report, SCHEMA};

/// The ratios a report is gated on, as committed in `ci/baselines/<os>-<arch>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema: u32,
    pub os: String,
    pub arch: String,
    pub quick: bool,
    /// `"figure ratio"` (e.g. `"thread.start_join reference/floor"`) to its value.
    pub ratios: BTreeMap<String, f64>,
}

/// Tolerances: a default relative change, one for ratios involving CPython (whose own timings
/// swing more), and overrides keyed by figure id or by `"figure ratio"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub default_tolerance: f64,
    pub cpython_tolerance: Option<f64>,
    #[serde(default)]
    pub figures: BTreeMap<String, FigureConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureConfig {
    pub tolerance: Option<f64>,
    /// Shown but never failing (a figure known to swing on shared runners).
    #[serde(default)]
    pub informational: bool,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let c: Config =
            toml::from_str(&text).with_context(|| format!("{}: invalid gate configuration", path.display()))?;
        if !(0.0..10.0).contains(&c.default_tolerance) {
            bail!("{}: default_tolerance must be between 0 and 10", path.display());
        }
        Ok(c)
    }

    /// The most specific setting wins: `"figure ratio"`, then the CPython tolerance for a ratio
    /// involving CPython, then the figure's, then the default.
    fn tolerance(&self, key: &str) -> f64 {
        let figure = key.split(' ').next().unwrap_or_default();
        let exact = self.figures.get(key).and_then(|f| f.tolerance);
        let cpython = self.cpython_tolerance.filter(|_| key.contains("cpython"));
        let per_figure = self.figures.get(figure).and_then(|f| f.tolerance);
        exact.or(cpython).or(per_figure).unwrap_or(self.default_tolerance)
    }

    fn informational(&self, key: &str) -> bool {
        let figure = key.split(' ').next().unwrap_or_default();
        self.figures.get(key).or_else(|| self.figures.get(figure)).is_some_and(|f| f.informational)
    }
}

/// The gated ratios of a report, keyed like a baseline, with their direction.
pub fn gated_ratios(r: &Report) -> BTreeMap<String, (f64, bool)> {
    let mut out = BTreeMap::new();
    for f in r.figures.iter().filter(|f| f.gated) {
        for ratio in &f.ratios {
            if let Some(v) = ratio.value.filter(|v| v.is_finite()) {
                out.insert(format!("{} {}", f.id, ratio.name), (v, ratio.higher_is_better));
            }
        }
    }
    out
}

pub fn baseline_from(r: &Report) -> Baseline {
    Baseline {
        schema: SCHEMA,
        os: r.machine.os.clone(),
        arch: r.machine.arch.clone(),
        quick: r.quick,
        ratios: gated_ratios(r).into_iter().map(|(k, (v, _))| (k, v)).collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Ok,
    Improved,
    Regression,
    /// Beyond tolerance on a figure marked informational.
    Noted,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub key: String,
    pub baseline: f64,
    pub now: f64,
    /// How much worse the reference got, as a factor minus one (`0.3`: 30% worse); negative
    /// when it got better. Symmetric for both directions of ratio.
    pub worse_by: f64,
    pub tolerance: f64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub rows: Vec<Row>,
    /// Ratios in the report that the baseline does not have yet.
    pub new: Vec<String>,
}

impl Outcome {
    pub fn regressions(&self) -> usize {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regression).count()
    }
}

/// Compares; a report from another OS, or missing a baseline's ratio, is an error.
pub fn compare(report: &Report, baseline: &Baseline, config: &Config) -> Result<Outcome> {
    if report.schema != SCHEMA || baseline.schema != SCHEMA {
        bail!("schema mismatch: report {}, baseline {}, this harness {SCHEMA}", report.schema, baseline.schema);
    }
    if report.machine.os != baseline.os || report.machine.arch != baseline.arch {
        bail!(
            "the report is from {}-{} but the baseline is for {}-{}",
            report.machine.os,
            report.machine.arch,
            baseline.os,
            baseline.arch
        );
    }
    let now = gated_ratios(report);
    let missing: Vec<&String> = baseline.ratios.keys().filter(|k| !now.contains_key(*k)).collect();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        bail!("the report lacks figures the baseline gates on: {}", list.join(", "));
    }
    let mut rows = Vec::new();
    for (key, &base) in &baseline.ratios {
        let (value, higher_is_better) = now[key];
        let tolerance = config.tolerance(key);
        let (worse, better) =
            if higher_is_better { (base / value, value / base) } else { (value / base, base / value) };
        let worse_by = worse - 1.0;
        let verdict = if worse_by > tolerance {
            if config.informational(key) { Verdict::Noted } else { Verdict::Regression }
        } else if better - 1.0 > tolerance {
            Verdict::Improved
        } else {
            Verdict::Ok
        };
        rows.push(Row { key: key.clone(), baseline: base, now: value, worse_by, tolerance, verdict });
    }
    let new = now.keys().filter(|k| !baseline.ratios.contains_key(*k)).cloned().collect();
    Ok(Outcome { rows, new })
}

/// The gate table, as Markdown for a CI step summary (and the terminal).
pub fn markdown(o: &Outcome) -> String {
    let mut out = String::from(
        "| figure | ratio | baseline | now | change | tolerance | verdict |\n|---|---|---|---|---|---|---|\n",
    );
    for r in &o.rows {
        let (figure, ratio) = r.key.split_once(' ').unwrap_or((&r.key, ""));
        let verdict = match r.verdict {
            Verdict::Ok => "ok",
            Verdict::Improved => "improved",
            Verdict::Regression => "**REGRESSION**",
            Verdict::Noted => "beyond tolerance (informational)",
        };
        let change = if r.worse_by >= 0.0 {
            format!("{:.1}% worse", r.worse_by * 100.0)
        } else {
            format!("{:.1}% better", (1.0 / (1.0 + r.worse_by) - 1.0) * 100.0)
        };
        out.push_str(&format!(
            "| {figure} | {ratio} | {:.3} | {:.3} | {change} | {:.0}% | {verdict} |\n",
            r.baseline,
            r.now,
            r.tolerance * 100.0
        ));
    }
    for k in &o.new {
        out.push_str(&format!("| {k} | | — | | | | new: not in the baseline (`--update` adds it) |\n"));
    }
    out.push_str(&format!("\n{} ratios compared, {} regression(s)\n", o.rows.len(), o.regressions()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::Unit;
    use crate::report::{Figure, Machine, RatioValue};

    fn report(os: &str, value: f64) -> Report {
        let ratio = |name: &str, v: f64, higher: bool| RatioValue {
            name: name.into(),
            value: Some(v),
            target: None,
            at_least: false,
            higher_is_better: higher,
            met: None,
        };
        Report {
            schema: SCHEMA,
            quick: true,
            machine: Machine {
                os: os.into(),
                arch: "x86_64".into(),
                kernel: String::new(),
                cpu_model: String::new(),
                cpus: 2,
                rustc: String::new(),
                commit: String::new(),
                cpython: None,
            },
            figures: vec![
                Figure {
                    id: "thread.start_join".into(),
                    group: "start".into(),
                    title: String::new(),
                    unit: Unit::Nanos,
                    pinned: false,
                    gated: true,
                    note: String::new(),
                    series: vec![],
                    ratios: vec![ratio("reference/floor", value, false), ratio("cpython/reference", 2.0, true)],
                    warnings: vec![],
                },
                Figure {
                    id: "queue.rtt.free".into(),
                    group: "ipc".into(),
                    title: String::new(),
                    unit: Unit::Nanos,
                    pinned: false,
                    gated: false,
                    note: String::new(),
                    series: vec![],
                    ratios: vec![ratio("reference/floor", 9.0, false)],
                    warnings: vec![],
                },
            ],
        }
    }

    fn config() -> Config {
        toml::from_str("default_tolerance = 0.2\ncpython_tolerance = 0.5\n[figures.\"other\"]\ntolerance = 0.5\n")
            .expect("config")
    }

    #[test]
    fn within_tolerance_passes_and_ungated_figures_are_ignored() {
        let base = baseline_from(&report("linux", 1.0));
        assert_eq!(base.ratios.len(), 2, "only the gated figure's ratios: {:?}", base.ratios);
        let o = compare(&report("linux", 1.15), &base, &config()).expect("compares");
        assert_eq!(o.regressions(), 0);
        assert!(o.rows.iter().all(|r| r.verdict == Verdict::Ok));
    }

    #[test]
    fn a_regression_beyond_tolerance_fails_and_an_improvement_does_not() {
        let base = baseline_from(&report("linux", 1.0));
        let o = compare(&report("linux", 1.3), &base, &config()).expect("compares");
        assert_eq!(o.regressions(), 1);
        assert!(markdown(&o).contains("**REGRESSION**"));
        let o = compare(&report("linux", 0.5), &base, &config()).expect("compares");
        assert_eq!(o.regressions(), 0);
        assert!(o.rows.iter().any(|r| r.verdict == Verdict::Improved));
    }

    #[test]
    fn direction_follows_the_ratio() {
        // cpython/reference falling means the reference got slower relative to CPython.
        let base = baseline_from(&report("linux", 1.0));
        let mut now = report("linux", 1.0);
        now.figures[0].ratios[1].value = Some(1.2); // 2.0 before: 67% worse, beyond the CPython tolerance of 50%
        let o = compare(&now, &base, &config()).expect("compares");
        assert_eq!(o.regressions(), 1, "{}", markdown(&o));
    }

    #[test]
    fn another_os_or_a_missing_figure_is_a_clear_error() {
        let base = baseline_from(&report("linux", 1.0));
        let err = compare(&report("windows", 1.0), &base, &config()).expect_err("mismatch");
        assert_eq!(err.to_string(), "the report is from windows-x86_64 but the baseline is for linux-x86_64");
        let mut partial = report("linux", 1.0);
        partial.figures.remove(0);
        let err = compare(&partial, &base, &config()).expect_err("missing");
        assert!(
            err.to_string().starts_with("the report lacks figures the baseline gates on: thread.start_join"),
            "{err}"
        );
    }

    #[test]
    fn informational_figures_never_fail() {
        let base = baseline_from(&report("linux", 1.0));
        let cfg: Config =
            toml::from_str("default_tolerance = 0.2\n[figures.\"thread.start_join\"]\ninformational = true\n")
                .expect("config");
        let o = compare(&report("linux", 3.0), &base, &cfg).expect("compares");
        assert_eq!(o.regressions(), 0);
        assert!(o.rows.iter().any(|r| r.verdict == Verdict::Noted));
    }

    #[test]
    fn the_most_specific_tolerance_wins() {
        let cfg: Config = toml::from_str(
            "default_tolerance = 0.2\ncpython_tolerance = 1.0\n[figures.\"f\"]\ntolerance = 0.3\n[figures.\"f a/b\"]\ntolerance = 0.4\n",
        )
        .expect("config");
        assert_eq!(cfg.tolerance("f a/b"), 0.4);
        assert_eq!(cfg.tolerance("f c/d"), 0.3);
        assert_eq!(cfg.tolerance("f cpython/c"), 1.0);
        assert_eq!(cfg.tolerance("g cpython/reference"), 1.0);
        assert_eq!(cfg.tolerance("g reference/floor"), 0.2);
    }

    #[test]
    fn unknown_config_keys_are_errors() {
        assert!(toml::from_str::<Config>("default_tolerance = 0.2\ntolerence = 1\n").is_err());
    }
}
