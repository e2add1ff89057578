//! Percentiles of a sample.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// Nearest-rank percentiles; all zero for an empty sample.
    pub fn of(mut sample: Vec<f64>) -> Self {
        sample.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            if sample.is_empty() {
                return 0.0;
            }
            let index = ((p * sample.len() as f64).ceil() as usize).clamp(1, sample.len()) - 1;
            sample[index]
        };
        Self { count: sample.len(), p50: rank(0.50), p99: rank(0.99), max: rank(1.0) }
    }

    /// `p50 / p99 / max` with a unit.
    pub fn show(&self, unit: &str) -> String {
        format!("{:.1} / {:.1} / {:.1} {unit}", self.p50, self.p99, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let summary = Summary::of((1..=100).rev().map(f64::from).collect());
        assert_eq!(
            (summary.count, summary.p50, summary.p99, summary.max),
            (100, 50.0, 99.0, 100.0)
        );
        let one = Summary::of(vec![7.0]);
        assert_eq!((one.p50, one.p99, one.max), (7.0, 7.0, 7.0));
        assert_eq!(Summary::of(Vec::new()).max, 0.0);
    }
}
