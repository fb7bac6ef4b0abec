//! Sampling and its summary: warm-up, repeated samples, median with min and max.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A summary of samples, all in one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: usize,
}

impl Stats {
    pub fn of(values: &[f64]) -> Stats {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Stats {
            median,
            min: v.first().copied().unwrap_or(f64::NAN),
            max: v.last().copied().unwrap_or(f64::NAN),
            samples: n,
        }
    }

    /// Spread relative to the median; above 0.5 the report says the spread is wide.
    pub fn spread(&self) -> f64 {
        (self.max - self.min) / self.median
    }
}

/// How much to measure: `quick` for CI and first looks, full for the committed report.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub samples: usize,
    /// Each sample runs the operation for about this long (at least once).
    pub sample_time: Duration,
}

impl Budget {
    pub fn new(quick: bool) -> Budget {
        if quick {
            Budget { samples: 7, sample_time: Duration::from_millis(40) }
        } else {
            Budget { samples: 21, sample_time: Duration::from_millis(120) }
        }
    }
}

/// Nanoseconds per call of `op`, one value per sample, after a warm-up. Operations are batched
/// so that each sample lasts about `sample_time`, whatever one call costs.
pub fn time_per_op(budget: Budget, mut op: impl FnMut()) -> Vec<f64> {
    // Warm-up, and a first estimate of one call's cost.
    let t = Instant::now();
    let mut warm = 0u64;
    while warm < 3 || t.elapsed() < budget.sample_time / 4 {
        op();
        warm += 1;
    }
    let per = t.elapsed().as_secs_f64() / warm as f64;
    let batch = ((budget.sample_time.as_secs_f64() / per.max(1e-9)) as u64).clamp(1, 10_000_000);
    (0..budget.samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                op();
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect()
}

/// Like [`time_per_op`] for two operations, alternating their samples (A B A B ...) so that
/// both see the same machine: the ratio of their medians is what a report gates on.
pub fn paired(budget: Budget, mut a: impl FnMut(), mut b: impl FnMut()) -> (Vec<f64>, Vec<f64>) {
    let one = Budget { samples: 1, ..budget };
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    for _ in 0..budget.samples {
        ra.extend(time_per_op(one, &mut a));
        rb.extend(time_per_op(one, &mut b));
    }
    (ra, rb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = Stats::of(&[3.0, 1.0, 2.0, f64::NAN, 10.0]);
        assert_eq!((s.median, s.min, s.max, s.samples), (2.5, 1.0, 10.0, 4));
        assert!((s.spread() - 3.6).abs() < 1e-9);
    }

    #[test]
    fn time_per_op_batches_and_counts() {
        let budget = Budget { samples: 3, sample_time: Duration::from_millis(5) };
        let mut calls = 0u64;
        let v = time_per_op(budget, || calls += 1);
        assert_eq!(v.len(), 3);
        assert!(calls > 3);
        assert!(v.iter().all(|ns| *ns > 0.0));
    }
}
