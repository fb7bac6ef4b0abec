//! Taking samples: warm-up, then repeated timed batches. (What the samples say is `stats`.)

use std::time::{Duration, Instant};

/// How much to measure: `quick` for CI and first looks, full for the committed report.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub samples: usize,
    /// Each sample runs the operation for about this long (at least once).
    pub sample_time: Duration,
    pub quick: bool,
}

impl Budget {
    pub fn new(quick: bool) -> Budget {
        // Many short samples rather than a few long ones: the bootstrap interval of a median
        // needs a dozen samples or more to mean anything.
        if quick {
            Budget { samples: 15, sample_time: Duration::from_millis(20), quick }
        } else {
            Budget { samples: 31, sample_time: Duration::from_millis(80), quick }
        }
    }

    /// Runs of a whole experiment (a throughput run, a CPU split) rather than timed batches.
    pub fn runs(&self, quick: usize, full: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

/// How many calls of `op` fill one sample, after a warm-up that also estimates one call's cost.
fn batch_size(sample_time: Duration, op: &mut dyn FnMut()) -> u64 {
    let t = Instant::now();
    let mut warm = 0u64;
    while warm < 3 || t.elapsed() < sample_time / 4 {
        op();
        warm += 1;
    }
    let per = t.elapsed().as_secs_f64() / warm as f64;
    ((sample_time.as_secs_f64() / per.max(1e-9)) as u64).clamp(1, 10_000_000)
}

fn timed_batch(batch: u64, op: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..batch {
        op();
    }
    t.elapsed().as_nanos() as f64 / batch as f64
}

/// Nanoseconds per call of `op`, one value per sample, after a warm-up. Operations are batched
/// so that each sample lasts about `sample_time`, whatever one call costs.
pub fn time_per_op(budget: Budget, mut op: impl FnMut()) -> Vec<f64> {
    let batch = batch_size(budget.sample_time, &mut op);
    (0..budget.samples).map(|_| timed_batch(batch, &mut op)).collect()
}

/// Like [`time_per_op`] for several operations, taking their samples in turn (A B C A B C ...)
/// so that all see the same machine: the ratio of their medians is what a report gates on.
pub fn interleaved(budget: Budget, ops: &mut [&mut dyn FnMut()]) -> Vec<Vec<f64>> {
    let batches: Vec<u64> = ops.iter_mut().map(|op| batch_size(budget.sample_time, *op)).collect();
    let mut out = vec![Vec::with_capacity(budget.samples); ops.len()];
    for _ in 0..budget.samples {
        for ((op, batch), samples) in ops.iter_mut().zip(&batches).zip(&mut out) {
            samples.push(timed_batch(*batch, *op));
        }
    }
    out
}

/// [`interleaved`] for two operations.
pub fn paired(budget: Budget, mut a: impl FnMut(), mut b: impl FnMut()) -> (Vec<f64>, Vec<f64>) {
    let mut out = interleaved(budget, &mut [&mut a, &mut b]).into_iter();
    (out.next().unwrap_or_default(), out.next().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_per_op_batches_and_counts() {
        let budget = Budget { samples: 3, sample_time: Duration::from_millis(5), quick: true };
        let mut calls = 0u64;
        let v = time_per_op(budget, || calls += 1);
        assert_eq!(v.len(), 3);
        assert!(calls > 3);
        assert!(v.iter().all(|ns| *ns > 0.0));
    }

    #[test]
    fn interleaved_gives_each_operation_its_samples() {
        let budget = Budget { samples: 4, sample_time: Duration::from_millis(2), quick: true };
        let (mut a, mut b, mut c) = (0u64, 0u64, 0u64);
        let out = interleaved(budget, &mut [&mut || a += 1, &mut || b += 1, &mut || c += 1]);
        assert_eq!(out.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 4]);
        assert!(a > 4 && b > 4 && c > 4);
    }
}
