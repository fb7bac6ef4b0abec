//! Numbers for people: values in their unit, intervals in the scale of their median, ratios,
//! message sizes, factors.

use crate::model::{RatioValue, Unit};
use crate::stats::Interval;

/// The divisor, suffix and decimals that show `v` well in `unit`.
fn scale(unit: Unit, v: f64) -> (f64, &'static str, usize) {
    let a = v.abs();
    match unit {
        Unit::Nanos if a >= 1e9 => (1e9, " s", 2),
        Unit::Nanos if a >= 1e6 => (1e6, " ms", 2),
        Unit::Nanos if a >= 1e5 => (1e3, " µs", 0),
        Unit::Nanos if a >= 1e3 => (1e3, " µs", 1),
        Unit::Nanos => (1.0, " ns", 0),
        Unit::PerSecond if a >= 1e6 => (1e6, "M/s", 2),
        Unit::PerSecond if a >= 1e3 => (1e3, "k/s", 0),
        // A slow link's few tasks a second.
        Unit::PerSecond => (1.0, "/s", 1),
        Unit::Relative => (1.0, "", 2),
        Unit::Percent => (1.0, "%", 0),
    }
}

/// A value in its unit: "43.3 µs", "2.54M/s", "0.51", "98%".
pub fn value(unit: Unit, v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let (div, suffix, d) = scale(unit, v);
    format!("{:.d$}{suffix}", v / div)
}

/// A value with its interval in the value's scale: "43.3 µs [42.9–43.8]".
pub fn with_interval(unit: Unit, v: f64, ci: Interval) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let (div, suffix, d) = scale(unit, v);
    format!("{:.d$}{suffix} [{:.d$}–{:.d$}]", v / div, ci.lo / div, ci.hi / div)
}

/// The decimals that show a ratio of this size with three significant digits or so.
fn ratio_decimals(v: f64) -> usize {
    match v.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        _ => 2,
    }
}

/// A ratio with its interval: "1.34 [1.21–1.52]".
pub fn ratio_interval(v: f64, ci: Option<Interval>) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let d = ratio_decimals(v);
    match ci {
        Some(ci) => format!("{v:.d$} [{:.d$}–{:.d$}]", ci.lo, ci.hi),
        None => format!("{v:.d$}"),
    }
}

/// A factor: "6.8x [6.5–7.1]".
pub fn factor(v: f64, ci: Interval) -> String {
    let d = ratio_decimals(v).min(1);
    format!("{v:.d$}x [{:.d$}–{:.d$}]", ci.lo, ci.hi)
}

/// A message size in binary units: "16 B", "4 KiB", "1 MiB".
pub fn bytes(x: f64) -> String {
    let trim = |v: f64| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") };
    match x {
        x if x >= 1_048_576.0 => format!("{} MiB", trim(x / 1_048_576.0)),
        x if x >= 1024.0 => format!("{} KiB", trim(x / 1024.0)),
        x => format!("{x:.0} B"),
    }
}

/// A sweep's x for people: sizes in bytes for the size sweep, plain counts otherwise.
pub fn x_value(figure_id: &str, x: f64) -> String {
    if figure_id == "ipc.size_sweep" { bytes(x) } else { format!("{x}") }
}

/// A ratio's name for people: its sweep point in readable units (`queue/floor @ 64 KiB`).
pub fn ratio_name(figure_id: &str, r: &RatioValue) -> String {
    let base = r.name.split('@').next().unwrap_or(&r.name);
    match r.num.x {
        Some(x) => format!("{base} @ {}", x_value(figure_id, x)),
        None => base.to_string(),
    }
}

/// "≤ 1.5" or "≥ 20".
pub fn target(r: &RatioValue) -> Option<String> {
    r.target.map(|t| format!("{} {t}", if r.at_least { "≥" } else { "≤" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_intervals_and_sizes() {
        assert_eq!(value(Unit::Nanos, 43_300.0), "43.3 µs");
        assert_eq!(value(Unit::Nanos, 291_700.0), "292 µs");
        assert_eq!(value(Unit::PerSecond, 2_540_000.0), "2.54M/s");
        assert_eq!(value(Unit::PerSecond, 6_499.0), "6k/s");
        assert_eq!(value(Unit::PerSecond, 4.45), "4.5/s");
        assert_eq!(
            with_interval(Unit::Nanos, 43_300.0, Interval { lo: 42_900.0, hi: 43_800.0 }),
            "43.3 µs [42.9–43.8]"
        );
        assert_eq!(ratio_interval(1.3412, Some(Interval { lo: 1.21, hi: 1.523 })), "1.34 [1.21–1.52]");
        assert_eq!(ratio_interval(48.36, None), "48.4");
        assert_eq!(factor(6.81, Interval { lo: 6.52, hi: 7.1 }), "6.8x [6.5–7.1]");
        assert_eq!(
            (bytes(16.0), bytes(65536.0), bytes(1048576.0), bytes(4096.0)),
            ("16 B".into(), "64 KiB".into(), "1 MiB".into(), "4 KiB".into())
        );
    }
}
