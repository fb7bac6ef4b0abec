//! A synthetic report: every figure of the catalogue with plausible made-up samples (2 % noise,
//! a few outliers), for tests and for looking at the rendering without measuring anything.

use crate::figures::{SPECS, Spec};
use crate::model::{Analysis, RawSeries, Report, SCHEMA, Unit};
use crate::stats::Rng;

/// A plausible median for a series (ns, or messages per second, or relative time).
fn typical(spec: &Spec, label: &str, x: Option<f64>) -> f64 {
    let base = match label {
        "floor" | "unlocked" => 1000.0,
        "floor-threads" => 900.0,
        "reference" | "locked" => 1150.0,
        "threads" | "thread-pool" => 1400.0,
        "process-fork" | "queue" => 2600.0,
        "process-spawn" | "pipe" => 2300.0,
        "rayon" => 300.0,
        _ if label.starts_with("cpython") => 6000.0,
        _ => 1800.0,
    };
    match (spec.id, x) {
        ("ipc.size_sweep", Some(size)) => base * (1.0 + size / 2000.0),
        ("cpu.split", Some(workers)) => {
            let ideal = 1.0 / workers.min(2.0);
            if label.starts_with("cpython-threads") { 1.02 } else { ideal * 1.03 }
        }
        ("lock.contended.threads", Some(threads)) => base * threads / 2.0,
        // Four crossings of the link per task, beside the work itself.
        ("manager.delay_sweep", Some(ms)) => 1.0 / (base * 1e-9 + 4.0 * ms * 1e-3),
        _ if spec.unit == Unit::PerSecond => 1e9 / base,
        _ if spec.unit == Unit::Percent => 90.0,
        _ => base,
    }
}

/// The labels and x values a figure's ratios name, in first-seen order.
fn points(spec: &Spec) -> Vec<(&'static str, Option<f64>)> {
    let xs: &[f64] = match spec.id {
        "ipc.size_sweep" => &[16.0, 256.0, 4096.0, 65536.0, 1048576.0],
        "cpu.split" => &[1.0, 2.0, 4.0],
        "manager.delay_sweep" => &[0.0, 10.0, 50.0],
        "lock.contended.threads" => &[2.0, 4.0, 8.0],
        _ => &[],
    };
    let mut labels: Vec<&'static str> = Vec::new();
    for r in spec.ratios {
        for l in std::iter::once(r.num).chain(r.den) {
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
    }
    if labels.is_empty() {
        labels.push("reference");
        labels.push("cpython");
    }
    if spec.id == "cpu.split" {
        labels.push("rayon");
    }
    if xs.is_empty() {
        labels.into_iter().map(|l| (l, None)).collect()
    } else {
        xs.iter().flat_map(|x| labels.iter().map(move |l| (*l, Some(*x)))).collect()
    }
}

/// Every figure of the catalogue, analysed from synthetic samples drawn from `seed`.
pub fn report(seed: u64) -> Report {
    let mut rng = Rng::new(seed);
    let figures = SPECS
        .iter()
        .map(|spec| {
            let raw = points(spec)
                .into_iter()
                .map(|(label, x)| {
                    let m = typical(spec, label, x);
                    let n = if spec.unit == Unit::Percent { 1 } else { 15 };
                    let mut samples: Vec<f64> = (0..n).map(|_| rng.normal(m, m * 0.02).max(m * 0.5)).collect();
                    // One slow sample in every series: what a busy machine adds.
                    if n > 1 {
                        samples[n / 2] = m * 1.4;
                    }
                    RawSeries { label: label.into(), x, samples }
                })
                .collect();
            crate::analyse::figure(spec, raw, vec![], spec.pinned)
        })
        .collect();
    Report { schema: SCHEMA, quick: true, machine: crate::machine::synthetic(), analysis: Analysis::current(), figures }
}
