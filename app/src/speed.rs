//! Live speed and time left, from how fast a count (bytes sent, pages read) moved over
//! the last few seconds: long enough to smooth out bursts, short enough to follow a
//! connection that slows down.

use std::collections::VecDeque;

/// Samples older than this no longer count.
const WINDOW_MS: f64 = 3_000.0;
/// A rate needs this much time between its samples to mean anything.
const MIN_SPAN_MS: f64 = 250.0;

/// Recent `(time, count)` samples of one counter.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    samples: VecDeque<(f64, u64)>,
}

impl Meter {
    /// Records that the count was `count` at `now_ms`. A count that went back (a
    /// retry starting over) starts the meter afresh.
    pub fn observe(&mut self, now_ms: f64, count: u64) {
        if self.samples.back().is_some_and(|&(_, last)| count < last) {
            self.samples.clear();
        }
        self.samples.push_back((now_ms, count));
        while self.samples.len() > 2
            && self.samples.front().is_some_and(|&(t, _)| now_ms - t > WINDOW_MS)
        {
            self.samples.pop_front();
        }
    }

    /// Units per second over the window, once there is enough of it.
    pub fn per_second(&self) -> Option<f64> {
        let (&(t0, c0), &(t1, c1)) = (self.samples.front()?, self.samples.back()?);
        let span = t1 - t0;
        (span >= MIN_SPAN_MS && c1 > c0).then(|| (c1 - c0) as f64 * 1000.0 / span)
    }

    /// Seconds until `total` at the current rate.
    pub fn seconds_left(&self, total: u64) -> Option<f64> {
        let (_, now) = *self.samples.back()?;
        self.per_second().map(|rate| total.saturating_sub(now) as f64 / rate)
    }
}

/// Milliseconds on the browser's clock; `None` while rendering on the server, where
/// there is no speed to show.
pub fn now_ms() -> Option<f64> {
    crate::client::clock::now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_follows_the_last_seconds_only() {
        let mut m = Meter::default();
        m.observe(0.0, 0);
        assert_eq!(m.per_second(), None, "one sample is no rate");
        m.observe(100.0, 100);
        assert_eq!(m.per_second(), None, "too short a span");
        m.observe(1_000.0, 1_000);
        assert_eq!(m.per_second(), Some(1_000.0));
        assert_eq!(m.seconds_left(5_000), Some(4.0));
        // It slows down: after the window, only the slow part counts.
        m.observe(4_500.0, 1_100);
        m.observe(5_000.0, 1_150);
        let rate = m.per_second().unwrap();
        assert!((rate - 100.0).abs() < 1e-9, "{rate}");
    }

    #[test]
    fn a_count_that_goes_back_starts_over() {
        let mut m = Meter::default();
        m.observe(0.0, 0);
        m.observe(1_000.0, 50);
        m.observe(2_000.0, 3);
        assert_eq!(m.per_second(), None);
    }
}
