use super::*;
use crate::model::{Analysis, RawSeries};
use crate::stats::Rng;

fn samples(mean: f64, sd: f64, rng: &mut Rng) -> Vec<f64> {
    (0..15).map(|_| rng.normal(mean, sd)).collect()
}

/// A quick report with thread.start_join (gated; reference/floor ≤ 1.1) measured as given:
/// the reference's mean and relative noise, the floor at 1000 ns with 1 % noise.
fn report(os: &str, reference: f64, noise: f64, seed: u64) -> Report {
    let mut rng = Rng::new(seed);
    let raw = vec![
        RawSeries { label: "reference".into(), x: None, samples: samples(reference, reference * noise, &mut rng) },
        RawSeries { label: "floor".into(), x: None, samples: samples(1000.0, 10.0, &mut rng) },
        RawSeries { label: "cpython".into(), x: None, samples: samples(2500.0, 25.0, &mut rng) },
    ];
    let spec = crate::figures::spec("thread.start_join").expect("spec");
    let mut machine = crate::machine::synthetic();
    machine.os = os.into();
    Report {
        schema: SCHEMA,
        quick: true,
        machine,
        analysis: Analysis::current(),
        figures: vec![crate::analyse::figure(spec, raw, vec![], false)],
    }
}

/// The committed configuration: the test is about what CI does.
fn committed() -> Config {
    Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ci/gate.toml")).expect("ci/gate.toml")
}

fn row<'a>(o: &'a Outcome, key: &str) -> &'a Row {
    o.rows.iter().find(|r| r.key == key).expect("row")
}

const KEY: &str = "thread.start_join reference/floor";

#[test]
fn a_real_20_percent_regression_of_a_stable_ratio_fails() {
    let base = baseline_from(&report("linux", 1000.0, 0.01, 1));
    let o = compare(&report("linux", 1200.0, 0.01, 2), &base, &committed()).expect("compares");
    let r = row(&o, KEY);
    assert_eq!(r.verdict, Verdict::Regression, "{}", markdown(&o));
    assert!((r.worse_by - 0.2).abs() < 0.03, "{}", r.worse_by);
    assert!(!o.passed());
    assert!(markdown(&o).contains("**REGRESSION**"));
}

#[test]
fn noise_of_the_same_median_spread_does_not_fail() {
    let config = committed();
    let base = baseline_from(&report("linux", 1000.0, 0.01, 1));
    // The same stable measurement again, many times: never a regression.
    for seed in 10..40 {
        let o = compare(&report("linux", 1000.0, 0.01, seed), &base, &config).expect("compares");
        assert_eq!(row(&o, KEY).verdict, Verdict::Ok, "seed {seed}: {}", markdown(&o));
    }
    // Noise wide enough to move the median by as much as a real 20 % regression: its interval
    // is as wide, so it never clears the baseline's.
    let mut largest: f64 = 0.0;
    for seed in 10..40 {
        let o = compare(&report("linux", 1000.0, 0.6, seed), &base, &config).expect("compares");
        let r = row(&o, KEY);
        largest = largest.max(r.worse_by);
        assert_ne!(r.verdict, Verdict::Regression, "seed {seed}: {}", markdown(&o));
    }
    assert!(largest >= 0.2, "the noise should move some median by 20 %, moved {largest}");
}

#[test]
fn a_loaded_machine_is_reported_not_judged() {
    let base = baseline_from(&report("linux", 1000.0, 0.01, 1));
    let mut now = report("linux", 1200.0, 0.01, 2);
    now.machine.load_before = Some([9.0, 8.0, 7.0]);
    now.machine.load_after = Some([8.0, 8.0, 7.0]);
    let o = compare(&now, &base, &committed()).expect("compares");
    assert_eq!(row(&o, KEY).verdict, Verdict::Regression);
    assert!(o.passed(), "load 4 per CPU is beyond the committed limit");
    assert!(markdown(&o).starts_with("**Not judged: the machine was loaded** (load average 4.0 per CPU"));
    // A build just before the run raised only the load before it: judged.
    now.machine.load_after = Some([1.0, 3.0, 3.0]);
    assert!(!compare(&now, &base, &committed()).expect("compares").passed());
}

#[test]
fn an_improvement_is_reported_and_does_not_fail() {
    let base = baseline_from(&report("linux", 1200.0, 0.01, 1));
    let o = compare(&report("linux", 1000.0, 0.01, 2), &base, &committed()).expect("compares");
    assert_eq!(row(&o, KEY).verdict, Verdict::Improved);
    assert!(o.passed());
}

#[test]
fn a_suspect_ratio_is_flagged() {
    // The reference measured 30 % faster than the OS doing the same thing.
    let base = baseline_from(&report("linux", 1000.0, 0.01, 1));
    let o = compare(&report("linux", 700.0, 0.01, 2), &base, &committed()).expect("compares");
    assert_eq!(o.suspect, vec![KEY.to_string()]);
    assert!(row(&o, KEY).suspect);
    assert!(markdown(&o).contains("**SUSPECT**"), "{}", markdown(&o));
    assert!(markdown(&o).contains("1 suspect"));
}

#[test]
fn direction_follows_the_ratio() {
    // cpython/reference falling means the reference got slower relative to CPython.
    let cfg: Config = toml::from_str("default_tolerance = 0.1\ncpython_tolerance = 0.5\n").expect("config");
    let base = baseline_from(&report("linux", 1000.0, 0.01, 1));
    let o = compare(&report("linux", 2000.0, 0.01, 2), &base, &cfg).expect("compares");
    assert_eq!(row(&o, "thread.start_join cpython/reference").verdict, Verdict::Regression, "{}", markdown(&o));
}

#[test]
fn a_target_met_in_the_baseline_and_clearly_missed_now_fails() {
    // reference/floor ≤ 1.1: met at 1.07, lost at 1.17 (its interval clears 1.1 by the 5 %).
    let cfg: Config = toml::from_str("default_tolerance = 0.05\n").expect("config");
    let base = baseline_from(&report("linux", 1070.0, 0.005, 1));
    let o = compare(&report("linux", 1170.0, 0.005, 2), &base, &cfg).expect("compares");
    assert_eq!(row(&o, KEY).target, Some((1.1, false, TargetCheck::Lost)), "{}", markdown(&o));
    assert!(!o.passed());
    // Missed by less than the tolerance: at risk, reported, not failing.
    let o = compare(&report("linux", 1120.0, 0.005, 2), &base, &cfg).expect("compares");
    assert_eq!(row(&o, KEY).target, Some((1.1, false, TargetCheck::AtRisk)), "{}", markdown(&o));
    assert!(o.passed());
    // Missed already in the baseline: reported, not failing.
    let base = baseline_from(&report("linux", 1150.0, 0.005, 1));
    let o = compare(&report("linux", 1140.0, 0.005, 2), &base, &cfg).expect("compares");
    assert_eq!(row(&o, KEY).target, Some((1.1, false, TargetCheck::Missed)));
    assert!(o.passed());
}

#[test]
fn another_os_or_a_missing_ratio_is_a_clear_error() {
    let base = baseline_from(&report("linux", 1000.0, 0.01, 1));
    let err = compare(&report("windows", 1000.0, 0.01, 1), &base, &committed()).expect_err("mismatch");
    assert_eq!(err.to_string(), "the report is from windows-x86_64 but the baseline is for linux-x86_64");
    let mut partial = report("linux", 1000.0, 0.01, 1);
    partial.figures.clear();
    let err = compare(&partial, &base, &committed()).expect_err("missing");
    assert!(err.to_string().starts_with("the report lacks ratios the baseline gates on: thread.start_join"), "{err}");
}

#[test]
fn informational_figures_never_fail() {
    let base = baseline_from(&report("linux", 1000.0, 0.01, 1));
    let cfg: Config =
        toml::from_str("default_tolerance = 0.1\n[figures.\"thread.start_join\"]\ninformational = true\n")
            .expect("config");
    let o = compare(&report("linux", 3000.0, 0.01, 2), &base, &cfg).expect("compares");
    assert!(o.passed(), "{}", markdown(&o));
    assert_eq!(row(&o, KEY).verdict, Verdict::Noted);
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

#[test]
fn a_baseline_keeps_intervals_and_targets_through_json() {
    let base = baseline_from(&report("linux", 1000.0, 0.01, 1));
    let r = &base.ratios[KEY];
    assert!(r.estimate.lo < r.estimate.value && r.estimate.value < r.estimate.hi, "{r:?}");
    assert_eq!((r.target, r.at_least, r.met, r.compared), (Some(1.1), false, Some(true), true));
    let text = serde_json::to_string_pretty(&base).expect("json");
    assert!(text.contains("\"lo\"") && text.contains("\"hi\""), "{text}");
    assert_eq!(serde_json::from_str::<Baseline>(&text).expect("parses"), base);
}
