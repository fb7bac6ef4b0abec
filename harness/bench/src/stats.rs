//! Statistics of samples: medians with bootstrap confidence intervals, ratios of medians with
//! theirs, and outliers classified by Tukey's fences as criterion classifies them. Everything
//! here is pure and deterministic: resampling draws from a seed derived from a fixed constant and
//! the series' name, so a report re-renders identically and adding a figure moves no interval.

use serde::{Deserialize, Serialize};

/// Confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;
/// Bootstrap resamples per interval: enough for the 2.5 % and 97.5 % percentiles to settle.
pub const RESAMPLES: usize = 2000;
/// The fixed seed every resampling starts from (mixed with the series' name).
pub const SEED: u64 = 0x0050_7274_6872_6561;

/// A closed interval `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    pub fn contains(&self, v: f64) -> bool {
        self.lo <= v && v <= self.hi
    }
}

/// Samples beyond Tukey's fences: mild between 1.5 and 3 interquartile ranges outside the
/// quartiles, severe beyond 3 (criterion's classification).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outliers {
    pub low_severe: usize,
    pub low_mild: usize,
    pub high_mild: usize,
    pub high_severe: usize,
}

impl Outliers {
    pub fn total(&self) -> usize {
        self.low_severe + self.low_mild + self.high_mild + self.high_severe
    }
    pub fn severe(&self) -> usize {
        self.low_severe + self.high_severe
    }
}

/// What a series of samples says: its median with a confidence interval, its range, outliers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Finite samples (the ones every other field is computed from).
    pub n: usize,
    pub median: f64,
    /// Percentile bootstrap interval of the median at [`CONFIDENCE`].
    pub ci: Interval,
    pub min: f64,
    pub max: f64,
    pub outliers: Outliers,
}

/// The finite values, sorted.
fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The `q` quantile of sorted values, interpolating linearly between neighbours.
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    match v.len() {
        0 => f64::NAN,
        1 => v[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (i, frac) = (pos.floor() as usize, pos.fract());
            if i + 1 < n { v[i] + (v[i + 1] - v[i]) * frac } else { v[n - 1] }
        }
    }
}

pub fn median(values: &[f64]) -> Option<f64> {
    let v = sorted(values);
    (!v.is_empty()).then(|| quantile_sorted(&v, 0.5))
}

/// Counts the outliers of sorted values; fewer than 5 samples have no meaningful quartiles.
pub fn outliers_sorted(v: &[f64]) -> Outliers {
    let mut o = Outliers::default();
    if v.len() < 5 {
        return o;
    }
    let (q1, q3) = (quantile_sorted(v, 0.25), quantile_sorted(v, 0.75));
    let iqr = q3 - q1;
    let (mild_lo, mild_hi) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    let (severe_lo, severe_hi) = (q1 - 3.0 * iqr, q3 + 3.0 * iqr);
    for &x in v {
        if x < severe_lo {
            o.low_severe += 1;
        } else if x < mild_lo {
            o.low_mild += 1;
        } else if x > severe_hi {
            o.high_severe += 1;
        } else if x > mild_hi {
            o.high_mild += 1;
        }
    }
    o
}

/// The summary of samples; `None` when none is finite. `key` names the series (its interval's
/// seed).
pub fn summarize(values: &[f64], key: &str) -> Option<Summary> {
    let v = sorted(values);
    let (&min, &max) = (v.first()?, v.last()?);
    let median = quantile_sorted(&v, 0.5);
    let mut rng = Rng::new(seed_for(key));
    let mut buf = Vec::with_capacity(v.len());
    let mut medians: Vec<f64> = (0..RESAMPLES).map(|_| resampled_median(&v, &mut rng, &mut buf)).collect();
    Some(Summary { n: v.len(), median, ci: percentile_interval(&mut medians), min, max, outliers: outliers_sorted(&v) })
}

/// The ratio of two series' medians with its bootstrap interval: numerator and denominator are
/// resampled independently (each series' own noise), and the ratio of each pair of resampled
/// medians taken. `None` when either side has no finite sample or a median of zero.
pub fn ratio(num: &[f64], den: &[f64], key: &str) -> Option<(f64, Interval)> {
    let (n, d) = (sorted(num), sorted(den));
    let value = quantile_sorted(&n, 0.5) / quantile_sorted(&d, 0.5);
    if n.is_empty() || d.is_empty() || !value.is_finite() {
        return None;
    }
    let mut rng = Rng::new(seed_for(key));
    let mut buf = Vec::with_capacity(n.len().max(d.len()));
    let mut ratios: Vec<f64> = (0..RESAMPLES)
        .map(|_| resampled_median(&n, &mut rng, &mut buf) / resampled_median(&d, &mut rng, &mut buf))
        .filter(|r| r.is_finite())
        .collect();
    if ratios.is_empty() {
        return None;
    }
    Some((value, percentile_interval(&mut ratios)))
}

fn resampled_median(v: &[f64], rng: &mut Rng, buf: &mut Vec<f64>) -> f64 {
    buf.clear();
    buf.extend((0..v.len()).map(|_| v[rng.below(v.len())]));
    buf.sort_by(f64::total_cmp);
    quantile_sorted(buf, 0.5)
}

fn percentile_interval(values: &mut [f64]) -> Interval {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    Interval { lo: quantile_sorted(values, tail), hi: quantile_sorted(values, 1.0 - tail) }
}

/// A seed for one series: FNV-1a of its name, mixed with [`SEED`].
pub fn seed_for(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ SEED
}

/// SplitMix64: a tiny generator whose sequence is fixed by its definition, so that intervals
/// do not move when a dependency changes its algorithm (as `rand`'s `StdRng` may between
/// versions).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by the multiply-shift method (bias below 2^-32 for our n).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Normally distributed (Box–Muller), for synthetic samples in tests.
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let (u1, u2) = (self.unit().max(f64::MIN_POSITIVE), self.unit());
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_quantiles_and_range() {
        let s = summarize(&[3.0, 1.0, 2.0, f64::NAN, 10.0], "t").expect("finite samples");
        assert_eq!((s.n, s.median, s.min, s.max), (4, 2.5, 1.0, 10.0));
        assert!(s.ci.lo >= 1.0 && s.ci.hi <= 10.0 && s.ci.contains(s.median), "{:?}", s.ci);
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
        assert!(summarize(&[f64::NAN], "t").is_none());
    }

    #[test]
    fn intervals_are_reproducible_and_depend_on_the_name_only() {
        let v: Vec<f64> = (0..31).map(|i| 100.0 + f64::from(i % 7)).collect();
        assert_eq!(summarize(&v, "a"), summarize(&v, "a"));
        assert_eq!(ratio(&v, &v, "r"), ratio(&v, &v, "r"));
        let (a, b) = (summarize(&v, "a").expect("a"), summarize(&v, "b").expect("b"));
        assert_eq!(a.median, b.median);
    }

    #[test]
    fn the_interval_narrows_with_less_noise_and_covers_the_truth() {
        let mut rng = Rng::new(1);
        let tight: Vec<f64> = (0..31).map(|_| rng.normal(1000.0, 5.0)).collect();
        let loose: Vec<f64> = (0..31).map(|_| rng.normal(1000.0, 100.0)).collect();
        let (t, l) = (summarize(&tight, "t").expect("t"), summarize(&loose, "l").expect("l"));
        assert!(t.ci.hi - t.ci.lo < l.ci.hi - l.ci.lo, "{:?} vs {:?}", t.ci, l.ci);
        assert!(t.ci.contains(1000.0) && l.ci.contains(1000.0), "{:?} {:?}", t.ci, l.ci);
    }

    #[test]
    fn ratio_interval_brackets_the_ratio_of_medians() {
        let mut rng = Rng::new(2);
        let num: Vec<f64> = (0..21).map(|_| rng.normal(1340.0, 30.0)).collect();
        let den: Vec<f64> = (0..21).map(|_| rng.normal(1000.0, 20.0)).collect();
        let (value, ci) = ratio(&num, &den, "r").expect("ratio");
        assert!(ci.lo < value && value < ci.hi, "{value} {ci:?}");
        assert!(ci.lo > 1.25 && ci.hi < 1.45, "{ci:?}");
        assert!(ratio(&num, &[0.0, 0.0], "z").is_none());
        assert!(ratio(&num, &[], "e").is_none());
    }

    #[test]
    fn outliers_by_tukey_fences() {
        // Eight 10s and eight 11s: quartiles 10 and 11 (IQR 1), mild fences 8.5 and 12.5,
        // severe fences 7 and 14.
        let mut v = vec![10.0; 8];
        v.extend([11.0; 8]);
        v.extend([8.0, 12.8, 20.0]);
        let o = outliers_sorted(&sorted(&v));
        assert_eq!(o, Outliers { low_severe: 0, low_mild: 1, high_mild: 1, high_severe: 1 });
        assert_eq!((o.total(), o.severe()), (3, 1));
        assert_eq!(outliers_sorted(&[1.0, 100.0]), Outliers::default());
    }
}
