//! `harness compare A B`: what changed from report A to report B, as criterion reports it. Each
//! series' median change B/A with its bootstrap interval: *improved* or *regressed* when the
//! whole interval lies beyond the noise threshold on one side, *within noise* when it excludes
//! no change but not the threshold, *no change* when it includes it. Ratios: changed when
//! their intervals do not overlap.

use anyhow::{Result, bail};

use crate::format;
use crate::model::{Report, SCHEMA, Unit};
use crate::stats::{self, Interval};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Improved,
    Regressed,
    WithinNoise,
    NoChange,
    /// Significant, in a unit with no better direction (a percentage of runs).
    Changed,
}

impl Change {
    fn text(self) -> &'static str {
        match self {
            Change::Improved => "improved",
            Change::Regressed => "**regressed**",
            Change::WithinNoise => "within noise",
            Change::NoChange => "no change",
            Change::Changed => "changed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeriesChange {
    pub figure: String,
    pub series: String,
    pub unit: Unit,
    pub a: (f64, Interval),
    pub b: (f64, Interval),
    /// B/A − 1 and its interval.
    pub change: (f64, Interval),
    pub verdict: Change,
}

#[derive(Debug, Clone)]
pub struct RatioChange {
    pub figure: String,
    pub ratio: String,
    pub a: (f64, Option<Interval>),
    pub b: (f64, Option<Interval>),
    pub verdict: Change,
}

#[derive(Debug, Clone)]
pub struct Comparison {
    pub header: String,
    pub series: Vec<SeriesChange>,
    pub ratios: Vec<RatioChange>,
    /// Series or ratios in only one of the reports.
    pub unmatched: Vec<String>,
}

impl Comparison {
    pub fn count(&self, c: Change) -> usize {
        self.series.iter().filter(|s| s.verdict == c).count()
    }
}

fn direction(unit: Unit) -> Option<bool> {
    match unit {
        Unit::Nanos | Unit::Relative => Some(false),
        Unit::PerSecond => Some(true),
        Unit::Percent => None,
    }
}

/// The verdict on a change `c` (B/A − 1) with interval `ci`, given which way is better.
fn verdict(ci: Interval, noise: f64, higher_is_better: Option<bool>) -> Change {
    let up = ci.lo > noise;
    let down = ci.hi < -noise;
    match (up, down, higher_is_better) {
        (false, false, _) if ci.contains(0.0) => Change::NoChange,
        (false, false, _) => Change::WithinNoise,
        (_, _, None) => Change::Changed,
        (true, _, Some(true)) | (_, true, Some(false)) => Change::Improved,
        _ => Change::Regressed,
    }
}

fn key(label: &str, x: Option<f64>, figure: &str) -> String {
    match x {
        Some(x) => format!("{label} @ {}", format::x_value(figure, x)),
        None => label.to_string(),
    }
}

/// Compares report `a` (before) with report `b` (after); `noise` is the threshold (0.02: 2 %).
pub fn compare(a: &Report, b: &Report, noise: f64) -> Result<Comparison> {
    if a.schema != SCHEMA || b.schema != SCHEMA {
        bail!("schema mismatch: {} and {}, this harness reads {SCHEMA} (regenerate the older one)", a.schema, b.schema);
    }
    let describe = |r: &Report| {
        let dirty = if r.machine.dirty == Some(true) { "+dirty" } else { "" };
        format!(
            "{}-{} commit {}{dirty} at {}{}",
            r.machine.os,
            r.machine.arch,
            r.machine.commit,
            r.machine.timestamp,
            if r.quick { " (quick)" } else { "" }
        )
    };
    let mut header = format!("A: {}\nB: {}\n", describe(a), describe(b));
    if (&a.machine.os, &a.machine.arch, &a.machine.cpu_model) != (&b.machine.os, &b.machine.arch, &b.machine.cpu_model)
    {
        header.push_str("note: the reports come from different machines; compare ratios rather than times\n");
    }
    let mut out = Comparison { header, series: Vec::new(), ratios: Vec::new(), unmatched: Vec::new() };
    for fa in &a.figures {
        let Some(fb) = b.figure(&fa.id) else {
            out.unmatched.push(format!("{} (only in A)", fa.id));
            continue;
        };
        for sa in &fa.series {
            let name = key(&sa.label, sa.x, &fa.id);
            let (Some(sb), Some(ma)) = (fb.find(&sa.label, sa.x), sa.summary.as_ref()) else {
                out.unmatched.push(format!("{} {name} (only in A)", fa.id));
                continue;
            };
            let Some(mb) = sb.summary.as_ref() else { continue };
            let Some((r, ci)) = stats::ratio(&sb.samples, &sa.samples, &format!("compare {} {name}", fa.id)) else {
                continue;
            };
            let change = (r - 1.0, Interval { lo: ci.lo - 1.0, hi: ci.hi - 1.0 });
            out.series.push(SeriesChange {
                figure: fa.id.clone(),
                series: name,
                unit: fa.unit,
                a: (ma.median, ma.ci),
                b: (mb.median, mb.ci),
                change,
                verdict: verdict(change.1, noise, direction(fa.unit)),
            });
        }
        for ra in &fa.ratios {
            let Some(rb) = fb.ratios.iter().find(|r| r.name == ra.name) else { continue };
            let (Some(va), Some(vb)) = (ra.value, rb.value) else { continue };
            let verdict =
                match (ra.ci, rb.ci) {
                    (Some(ca), Some(cb)) if cb.lo > ca.hi || cb.hi < ca.lo => {
                        if (cb.lo > ca.hi) == ra.higher_is_better { Change::Improved } else { Change::Regressed }
                    }
                    _ => Change::NoChange,
                };
            out.ratios.push(RatioChange {
                figure: fa.id.clone(),
                ratio: format::ratio_name(&fa.id, ra),
                a: (va, ra.ci),
                b: (vb, rb.ci),
                verdict,
            });
        }
    }
    for fb in b.figures.iter().filter(|f| a.figure(&f.id).is_none()) {
        out.unmatched.push(format!("{} (only in B)", fb.id));
    }
    Ok(out)
}

/// The change tables as Markdown.
pub fn markdown(c: &Comparison, noise: f64) -> String {
    let mut out = c.header.clone();
    out.push_str("\n| figure | series | A [95% CI] | B [95% CI] | change [95% CI] | |\n|---|---|---|---|---|---|\n");
    for s in &c.series {
        let pct = |v: f64| format!("{:+.1}%", v * 100.0);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} [{} {}] | {} |\n",
            s.figure,
            s.series,
            format::with_interval(s.unit, s.a.0, s.a.1),
            format::with_interval(s.unit, s.b.0, s.b.1),
            pct(s.change.0),
            pct(s.change.1.lo),
            pct(s.change.1.hi),
            s.verdict.text()
        ));
    }
    if !c.ratios.is_empty() {
        out.push_str("\n| figure | ratio | A [95% CI] | B [95% CI] | |\n|---|---|---|---|---|\n");
        for r in &c.ratios {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.figure,
                r.ratio,
                format::ratio_interval(r.a.0, r.a.1),
                format::ratio_interval(r.b.0, r.b.1),
                r.verdict.text()
            ));
        }
    }
    if !c.unmatched.is_empty() {
        out.push_str(&format!("\nnot compared: {}\n", c.unmatched.join(", ")));
    }
    out.push_str(&format!(
        "\n{} series: {} improved, {} regressed, {} within noise ({:.0}%), {} no change\n",
        c.series.len(),
        c.count(Change::Improved),
        c.count(Change::Regressed),
        c.count(Change::WithinNoise),
        noise * 100.0,
        c.count(Change::NoChange)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Analysis, RawSeries};
    use crate::stats::Rng;

    fn report(reference: f64, seed: u64) -> Report {
        let mut rng = Rng::new(seed);
        let mut s = |label: &str, mean: f64| RawSeries {
            label: label.into(),
            x: None,
            samples: (0..21).map(|_| rng.normal(mean, mean * 0.01)).collect(),
        };
        let raw = vec![s("reference", reference), s("floor", 1000.0)];
        let spec = crate::figures::spec("thread.start_join").expect("spec");
        Report {
            schema: SCHEMA,
            quick: true,
            machine: crate::machine::synthetic(),
            analysis: Analysis::current(),
            figures: vec![crate::analyse::figure(spec, raw, vec![], false)],
        }
    }

    #[test]
    fn regressions_improvements_and_no_change() {
        let c = compare(&report(1000.0, 1), &report(1200.0, 2), 0.02).expect("compares");
        let reference = c.series.iter().find(|s| s.series == "reference").expect("row");
        assert_eq!(reference.verdict, Change::Regressed);
        assert!((reference.change.0 - 0.2).abs() < 0.02, "{:?}", reference.change);
        assert!(reference.change.1.contains(reference.change.0));
        let floor = c.series.iter().find(|s| s.series == "floor").expect("row");
        assert!(matches!(floor.verdict, Change::NoChange | Change::WithinNoise), "{floor:?}");
        let ratio = c.ratios.iter().find(|r| r.ratio == "reference/floor").expect("ratio");
        assert_eq!(ratio.verdict, Change::Regressed);
        let md = markdown(&c, 0.02);
        assert!(md.contains("| thread.start_join | reference |") && md.contains("**regressed**"), "{md}");
        assert!(md.contains("1 regressed"), "{md}");

        let c = compare(&report(1200.0, 1), &report(1000.0, 2), 0.02).expect("compares");
        assert_eq!(c.series[0].verdict, Change::Improved);
    }

    #[test]
    fn verdict_rules() {
        let i = |lo, hi| Interval { lo, hi };
        assert_eq!(verdict(i(-0.01, 0.03), 0.02, Some(false)), Change::NoChange);
        assert_eq!(verdict(i(0.01, 0.03), 0.02, Some(false)), Change::WithinNoise);
        assert_eq!(verdict(i(0.05, 0.08), 0.02, Some(false)), Change::Regressed);
        assert_eq!(verdict(i(0.05, 0.08), 0.02, Some(true)), Change::Improved);
        assert_eq!(verdict(i(-0.3, -0.2), 0.02, None), Change::Changed);
    }
}
