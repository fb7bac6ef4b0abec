//! `harness gate`: compares a report with a committed baseline by ratios (never by absolute
//! times) and on significance: a ratio regresses when its 95 % interval clears the baseline's
//! interval by the tolerance (`ci/gate.toml`), so a real regression of a stable ratio fails while
//! noise, which widens the intervals, does not. A target met in the baseline must stay met, and a
//! ratio measured better than the OS floor is flagged as suspect.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::model::{Report, SCHEMA};

/// A ratio's median and interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// One gated ratio of a baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineRatio {
    #[serde(flatten)]
    pub estimate: Estimate,
    pub higher_is_better: bool,
    /// Compared on significance (`false`: in the gate for its target only).
    pub compared: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    #[serde(default)]
    pub at_least: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

/// The ratios a report is gated on, as committed in `ci/baselines/<os>-<arch>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema: u32,
    pub os: String,
    pub arch: String,
    pub quick: bool,
    pub commit: String,
    pub timestamp: String,
    /// `"figure ratio"` (e.g. `"thread.start_join reference/floor"`) to its estimate.
    pub ratios: BTreeMap<String, BaselineRatio>,
}

/// Tolerances: a default relative margin, one for ratios involving CPython (whose own timings
/// swing more from run to run), and overrides keyed by figure id or by `"figure ratio"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub default_tolerance: f64,
    pub cpython_tolerance: Option<f64>,
    /// Above this load average per CPU (the lower of the report's 1-minute loads before and
    /// after its run), the machine was too busy for its figures to mean anything: the gate
    /// reports but does not fail.
    pub max_load_per_cpu: Option<f64>,
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
        let all = std::iter::once(c.default_tolerance)
            .chain(c.cpython_tolerance)
            .chain(c.figures.values().filter_map(|f| f.tolerance));
        for t in all {
            if !(0.0..10.0).contains(&t) {
                bail!("{}: tolerances must be between 0 and 10, not {t}", path.display());
            }
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

/// The gated ratios of a report (gated figures' ratios and every ratio with a target), keyed
/// like a baseline; only those with a value and an interval.
pub fn gated_ratios(r: &Report) -> BTreeMap<String, BaselineRatio> {
    let mut out = BTreeMap::new();
    for f in &r.figures {
        for x in f.ratios.iter().filter(|x| x.gated) {
            let (Some(value), Some(ci)) = (x.value, x.ci) else { continue };
            if !value.is_finite() {
                continue;
            }
            out.insert(
                format!("{} {}", f.id, x.name),
                BaselineRatio {
                    estimate: Estimate { value, lo: ci.lo, hi: ci.hi },
                    higher_is_better: x.higher_is_better,
                    compared: f.gated,
                    target: x.target,
                    at_least: x.at_least,
                    met: x.met,
                },
            );
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
        commit: r.machine.commit.clone(),
        timestamp: r.machine.timestamp.clone(),
        ratios: gated_ratios(r),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// The intervals do not clear each other by the tolerance.
    Ok,
    /// Better, significantly and beyond the tolerance (reported, never failing).
    Improved,
    /// Worse, significantly and beyond the tolerance: fails the gate.
    Regression,
    /// A regression on a figure marked informational.
    Noted,
    /// In the gate for its target only.
    TargetOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TargetCheck {
    Met,
    /// Not met now, nor in the baseline.
    Missed,
    /// Met in the baseline, missed now within noise: reported, not failing.
    AtRisk,
    /// Met in the baseline, and now significantly missed (the whole interval on the wrong
    /// side): fails the gate.
    Lost,
    /// Missed in the baseline, met now.
    NewlyMet,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub key: String,
    pub baseline: Estimate,
    pub now: Estimate,
    /// How much worse the median got, as a factor minus one (`0.3`: 30 % worse); negative when
    /// it got better. Symmetric for both directions of ratio.
    pub worse_by: f64,
    pub tolerance: f64,
    pub verdict: Verdict,
    pub target: Option<(f64, bool, TargetCheck)>,
    pub suspect: bool,
    pub informational: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub rows: Vec<Row>,
    /// The report's machine was loaded beyond `max_load_per_cpu`: (load per CPU, the limit).
    /// Nothing fails then.
    pub overloaded: Option<(f64, f64)>,
    /// Gated ratios in the report that the baseline does not have yet.
    pub new: Vec<String>,
    /// Every ratio of the report measured better than the OS floor.
    pub suspect: Vec<String>,
}

impl Outcome {
    pub fn regressions(&self) -> usize {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regression).count()
    }
    pub fn targets_lost(&self) -> usize {
        self.rows.iter().filter(|r| !r.informational && matches!(r.target, Some((_, _, TargetCheck::Lost)))).count()
    }
    pub fn passed(&self) -> bool {
        self.overloaded.is_some() || (self.regressions() == 0 && self.targets_lost() == 0)
    }
}

/// Compares on significance: the current interval must clear the baseline's, stretched by the
/// tolerance, for a verdict other than `Ok`.
fn significance(base: Estimate, now: Estimate, higher_is_better: bool, tol: f64) -> Verdict {
    let (worse, better) = if higher_is_better {
        (now.hi < base.lo / (1.0 + tol), now.lo > base.hi * (1.0 + tol))
    } else {
        (now.lo > base.hi * (1.0 + tol), now.hi < base.lo / (1.0 + tol))
    };
    match (worse, better) {
        (true, _) => Verdict::Regression,
        (_, true) => Verdict::Improved,
        _ => Verdict::Ok,
    }
}

/// A target's state now against the baseline's; lost only when the whole interval lies beyond
/// the target by the tolerance (what varies between runs, as for the comparison itself).
fn target_check(base: &BaselineRatio, now: Estimate, target: f64, tol: f64) -> TargetCheck {
    let met_now = if base.at_least { now.value >= target } else { now.value <= target };
    let missed_for_sure = if base.at_least { now.hi < target / (1.0 + tol) } else { now.lo > target * (1.0 + tol) };
    match (base.met == Some(true), met_now) {
        (true, true) => TargetCheck::Met,
        (true, false) if missed_for_sure => TargetCheck::Lost,
        (true, false) => TargetCheck::AtRisk,
        (false, true) => TargetCheck::NewlyMet,
        (false, false) => TargetCheck::Missed,
    }
}

/// Compares; a report from another OS, or missing a baseline's ratio, is an error.
pub fn compare(report: &Report, baseline: &Baseline, config: &Config) -> Result<Outcome> {
    if report.schema != SCHEMA || baseline.schema != SCHEMA {
        bail!(
            "schema mismatch: report {}, baseline {}, this harness {SCHEMA} (regenerate the older one)",
            report.schema,
            baseline.schema
        );
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
    let missing: Vec<&str> = baseline.ratios.keys().filter(|k| !now.contains_key(*k)).map(String::as_str).collect();
    if !missing.is_empty() {
        bail!("the report lacks ratios the baseline gates on: {}", missing.join(", "));
    }
    let suspect: Vec<String> = report
        .figures
        .iter()
        .flat_map(|f| f.ratios.iter().filter(|r| r.suspect).map(move |r| format!("{} {}", f.id, r.name)))
        .collect();
    let mut rows = Vec::new();
    for (key, base) in &baseline.ratios {
        let current = &now[key];
        let (b, n) = (base.estimate, current.estimate);
        let tolerance = config.tolerance(key);
        let informational = config.informational(key);
        let worse_by = if current.higher_is_better { b.value / n.value - 1.0 } else { n.value / b.value - 1.0 };
        let verdict = match significance(b, n, current.higher_is_better, tolerance) {
            _ if !base.compared => Verdict::TargetOnly,
            Verdict::Regression if informational => Verdict::Noted,
            v => v,
        };
        let target = base.target.map(|t| (t, base.at_least, target_check(base, n, t, tolerance)));
        rows.push(Row {
            key: key.clone(),
            baseline: b,
            now: n,
            worse_by,
            tolerance,
            verdict,
            target,
            suspect: suspect.contains(key),
            informational,
        });
    }
    let new = now.keys().filter(|k| !baseline.ratios.contains_key(*k)).cloned().collect();
    Ok(Outcome { rows, overloaded: overloaded(report, config), new, suspect })
}

/// The report's load per CPU when above the configured limit: the lower of the 1-minute load
/// averages before and after the run (a build just before the run raises only the first).
fn overloaded(report: &Report, config: &Config) -> Option<(f64, f64)> {
    let limit = config.max_load_per_cpu?;
    let m = &report.machine;
    let load = match (m.load_before, m.load_after) {
        (Some(a), Some(b)) => a[0].min(b[0]),
        (Some(a), None) | (None, Some(a)) => a[0],
        (None, None) => return None,
    };
    let per_cpu = load / m.cpus.max(1) as f64;
    (per_cpu > limit).then_some((per_cpu, limit))
}

fn estimate(e: Estimate) -> String {
    crate::format::ratio_interval(e.value, Some(crate::stats::Interval { lo: e.lo, hi: e.hi }))
}

/// The gate table, as Markdown for a CI step summary (and the terminal).
pub fn markdown(o: &Outcome) -> String {
    let mut out = String::new();
    if let Some((load, limit)) = o.overloaded {
        out.push_str(&format!(
            "**Not judged: the machine was loaded** (load average {load:.1} per CPU during the run, above \
             the gate's limit of {limit}): the rows below are reported, nothing fails.\n\n"
        ));
    }
    out.push_str(
        "| figure | ratio | baseline [95% CI] | now [95% CI] | change | tolerance | verdict |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in &o.rows {
        let (figure, ratio) = r.key.split_once(' ').unwrap_or((&r.key, ""));
        let mut verdict = match r.verdict {
            Verdict::Ok => "ok".to_string(),
            Verdict::Improved => "improved".into(),
            Verdict::Regression => "**REGRESSION**".into(),
            Verdict::Noted => "regressed (informational)".into(),
            Verdict::TargetOnly => "target only".into(),
        };
        if let Some((t, at_least, check)) = r.target {
            let op = if at_least { "≥" } else { "≤" };
            let c = match check {
                TargetCheck::Met => "met",
                TargetCheck::Missed => "missed",
                TargetCheck::AtRisk => "at risk",
                TargetCheck::Lost => "**LOST**",
                TargetCheck::NewlyMet => "newly met",
            };
            verdict.push_str(&format!("; target {op} {t} {c}"));
        }
        if r.suspect {
            verdict.push_str("; **SUSPECT** (better than the OS floor)");
        }
        let change = if r.worse_by >= 0.0 {
            format!("{:.1}% worse", r.worse_by * 100.0)
        } else {
            format!("{:.1}% better", (1.0 / (1.0 + r.worse_by) - 1.0) * 100.0)
        };
        let tolerance =
            if r.verdict == Verdict::TargetOnly { "—".into() } else { format!("{:.0}%", r.tolerance * 100.0) };
        out.push_str(&format!(
            "| {figure} | {ratio} | {} | {} | {change} | {tolerance} | {verdict} |\n",
            estimate(r.baseline),
            estimate(r.now),
        ));
    }
    for k in &o.new {
        out.push_str(&format!("| {k} | | — | | | | new: not in the baseline (`--update` adds it) |\n"));
    }
    let outside: Vec<&String> = o.suspect.iter().filter(|k| !o.rows.iter().any(|r| &r.key == *k)).collect();
    for k in &outside {
        out.push_str(&format!("| {k} | | | | | | **SUSPECT** (better than the OS floor; not gated) |\n"));
    }
    out.push_str(&format!(
        "\n{} ratios compared, {} regression(s), {} target(s) lost, {} suspect{}\n",
        o.rows.len(),
        o.regressions(),
        o.targets_lost(),
        o.suspect.len(),
        if o.overloaded.is_some() { " (not judged: machine loaded)" } else { "" }
    ));
    out
}

#[cfg(test)]
mod tests;
