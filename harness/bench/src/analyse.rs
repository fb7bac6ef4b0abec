//! From raw samples to a figure: each series' summary, each ratio with its interval and target,
//! and what deserves a note (outliers, wide intervals, a ratio better than the OS floor).
//! Deterministic: analysing the same samples again gives the same figure, byte for byte.

use crate::figures::{At, RatioSpec, Spec};
use crate::model::{Figure, Point, RatioValue, RawSeries, Report, Series, Unit};
use crate::stats;

/// An interval wider than this, relative to its median, earns a note.
const WIDE: f64 = 0.10;

/// The figure of `spec` from its raw series and what could not be measured.
pub fn figure(spec: &Spec, raw: Vec<RawSeries>, errors: Vec<String>, pinned: bool) -> Figure {
    let series = raw
        .into_iter()
        .map(|r| {
            let summary = stats::summarize(&r.samples, &series_key(spec.id, &r.label, r.x));
            Series { label: r.label, x: r.x, samples: r.samples, summary }
        })
        .collect();
    let mut fig = Figure {
        id: spec.id.into(),
        group: spec.group.into(),
        title: spec.title.into(),
        unit: spec.unit,
        pinned,
        gated: spec.gated,
        note: spec.note.into(),
        series,
        ratios: Vec::new(),
        errors,
        warnings: Vec::new(),
    };
    fig.ratios = spec.ratios.iter().flat_map(|r| ratios(&fig, spec, r)).collect();
    fig.warnings = warnings(&fig);
    fig
}

/// The report analysed again from its raw samples, with the current catalogue (a figure the
/// catalogue no longer has is kept as it was).
pub fn again(report: &Report) -> Report {
    let figures = report
        .figures
        .iter()
        .map(|f| match crate::figures::spec(&f.id) {
            Some(spec) => {
                let raw =
                    f.series.iter().map(|s| RawSeries { label: s.label.clone(), x: s.x, samples: s.samples.clone() });
                figure(spec, raw.collect(), f.errors.clone(), f.pinned)
            }
            None => f.clone(),
        })
        .collect();
    Report { figures, analysis: crate::model::Analysis::current(), ..report.clone() }
}

fn series_key(figure: &str, label: &str, x: Option<f64>) -> String {
    match x {
        Some(x) => format!("{figure} {label}@{x}"),
        None => format!("{figure} {label}"),
    }
}

/// The name of a ratio: `num/den`, `num/den@x` at a sweep point, `num@x` for one value.
pub fn ratio_name(num: &str, den: Option<&str>, x: Option<f64>) -> String {
    let at = x.map_or(String::new(), |x| format!("@{x}"));
    match den {
        Some(den) => format!("{num}/{den}{at}"),
        None => format!("{num}{at}"),
    }
}

/// Whether a larger value of this ratio is better for the reference: CPython's time over ours,
/// or our throughput over anything, grows as we get faster.
fn higher_is_better(unit: Unit, num: &str) -> bool {
    num.starts_with("cpython") != unit.higher_is_better()
}

fn ratios(fig: &Figure, spec: &Spec, r: &RatioSpec) -> Vec<RatioValue> {
    let xs: Vec<Option<f64>> = match r.at {
        At::Plain => vec![None],
        At::X(x) => vec![Some(x)],
        // Every x at which the numerator was measured.
        At::EachX => fig.xs().into_iter().filter(|x| fig.find(r.num, Some(*x)).is_some()).map(Some).collect(),
    };
    xs.into_iter().map(|x| ratio_at(fig, spec, r, x)).collect()
}

fn ratio_at(fig: &Figure, spec: &Spec, r: &RatioSpec, x: Option<f64>) -> RatioValue {
    let name = ratio_name(r.num, r.den, x);
    let num = fig.find(r.num, x);
    let estimate = match r.den {
        Some(den) => match (num, fig.find(den, x)) {
            (Some(n), Some(d)) => stats::ratio(&n.samples, &d.samples, &format!("{} {name}", spec.id)),
            _ => None,
        },
        None => num.and_then(|n| n.summary.as_ref()).map(|s| (s.median, s.ci)),
    };
    let higher_is_better = higher_is_better(spec.unit, r.num);
    let (value, ci) = (estimate.map(|e| e.0), estimate.map(|e| e.1));
    let met = match (value, r.target) {
        (Some(v), Some(t)) => Some(if r.at_least { v >= t } else { v <= t }),
        _ => None,
    };
    // Significantly better than the OS doing the same thing the most direct way: the floor is
    // not the floor, or the measurement is wrong.
    let against_floor = r.den.is_some_and(|d| d.starts_with("floor")) && !r.num.starts_with("cpython");
    let suspect = against_floor && ci.is_some_and(|ci| if higher_is_better { ci.lo > 1.0 } else { ci.hi < 1.0 });
    RatioValue {
        name,
        num: Point { label: r.num.into(), x },
        den: r.den.map(|d| Point { label: d.into(), x }),
        value,
        ci,
        target: r.target,
        at_least: r.at_least,
        higher_is_better,
        gated: spec.gated || r.target.is_some(),
        met,
        suspect,
    }
}

fn warnings(fig: &Figure) -> Vec<String> {
    let mut out = Vec::new();
    for s in &fig.series {
        let Some(sum) = &s.summary else {
            out.push(format!("{}: no finite sample", s.label));
            continue;
        };
        let at = s.x.map_or(String::new(), |x| format!(" at {x}"));
        let o = sum.outliers;
        if o.severe() > 0 || o.total() * 10 > sum.n {
            out.push(format!(
                "{}{at}: {} outliers among {} samples ({} severe)",
                s.label,
                o.total(),
                sum.n,
                o.severe()
            ));
        }
        if sum.median > 0.0 && (sum.ci.hi - sum.ci.lo) / sum.median > WIDE {
            out.push(format!(
                "{}{at}: wide interval, {:.0}% of the median",
                s.label,
                100.0 * (sum.ci.hi - sum.ci.lo) / sum.median
            ));
        }
    }
    for r in fig.ratios.iter().filter(|r| r.suspect) {
        out.push(format!("{}: SUSPECT, measured better than the OS floor", r.name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Rng;

    fn raw(label: &str, mean: f64, sd: f64, seed: u64) -> RawSeries {
        let mut rng = Rng::new(seed);
        RawSeries { label: label.into(), x: None, samples: (0..21).map(|_| rng.normal(mean, sd)).collect() }
    }

    #[test]
    fn ratios_with_intervals_targets_and_direction() {
        let spec = crate::figures::spec("thread.start_join").expect("spec");
        let f = figure(
            spec,
            vec![raw("reference", 1050.0, 10.0, 1), raw("floor", 1000.0, 10.0, 2), raw("cpython", 2500.0, 50.0, 3)],
            vec![],
            false,
        );
        let rf = &f.ratios[0];
        assert_eq!(rf.name, "reference/floor");
        let (v, ci) = (rf.value.expect("value"), rf.ci.expect("ci"));
        assert!((v - 1.05).abs() < 0.03 && ci.lo < v && v < ci.hi, "{v} {ci:?}");
        assert_eq!((rf.met, rf.higher_is_better, rf.gated, rf.suspect), (Some(true), false, true, false));
        assert!(f.ratios[1].higher_is_better, "cpython/reference grows as the reference gets faster");
    }

    #[test]
    fn a_ratio_significantly_below_the_floor_is_suspect() {
        let spec = crate::figures::spec("lock.uncontended").expect("spec");
        let f = figure(spec, vec![raw("reference", 700.0, 5.0, 1), raw("floor", 1000.0, 5.0, 2)], vec![], false);
        assert!(f.ratios[0].suspect);
        assert!(f.warnings.iter().any(|w| w.contains("SUSPECT")), "{:?}", f.warnings);
        // Within noise of the floor: not suspect.
        let f = figure(spec, vec![raw("reference", 995.0, 20.0, 1), raw("floor", 1000.0, 20.0, 2)], vec![], false);
        assert!(!f.ratios[0].suspect, "{:?}", f.ratios[0]);
    }

    #[test]
    fn sweep_ratios_expand_at_each_x_and_analysis_is_repeatable() {
        let spec = crate::figures::spec("ipc.size_sweep").expect("spec");
        let mut series = Vec::new();
        for (i, x) in [16.0, 65536.0].into_iter().enumerate() {
            for (label, m) in
                [("floor", 1.0), ("queue", 1.3), ("pipe", 1.2), ("cpython-queue", 3.0), ("cpython-pipe", 2.5)]
            {
                let mut r = raw(label, 1000.0 * m, 10.0, i as u64);
                r.x = Some(x);
                series.push(r);
            }
        }
        let f = figure(spec, series, vec![], true);
        let names: Vec<&str> = f.ratios.iter().map(|r| r.name.as_str()).collect();
        assert!(names.contains(&"queue/floor@65536"), "{names:?}");
        assert!(names.contains(&"cpython-queue/queue@16") && names.contains(&"cpython-pipe/pipe@65536"), "{names:?}");
        let missing = f.ratios.iter().find(|r| r.name == "queue/floor@1048576").expect("listed though not measured");
        assert_eq!((missing.value, missing.met), (None, None));
        let report = Report {
            schema: crate::model::SCHEMA,
            quick: true,
            machine: crate::machine::synthetic(),
            analysis: crate::model::Analysis::current(),
            figures: vec![f],
        };
        assert_eq!(again(&report), report);
    }
}
