//! Counting failed attempts per key (a username, a client address) in fixed windows.
//!
//! In memory: a restart forgets the counts, which only ever gives an attacker one more
//! window. Entries are pruned once their window is over, so memory is bounded by the
//! keys active within one window.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Login attempts: per username, so one account cannot be guessed at, and per client
/// address, so one client cannot guess at many accounts.
pub struct LoginLimits {
    pub by_username: Limiter,
    pub by_address: Limiter,
}

impl Default for LoginLimits {
    fn default() -> Self {
        let window = Duration::from_secs(15 * 60);
        Self { by_username: Limiter::new(5, window), by_address: Limiter::new(30, window) }
    }
}

pub struct Limiter {
    max_failures: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Limiter {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self { max_failures, window, counts: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds to wait)` while `key` has used up its failures in this window.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match counts.get(key) {
            Some(&(failures, started)) if failures >= self.max_failures => {
                let left = self.window.saturating_sub(started.elapsed());
                if left.is_zero() {
                    Ok(())
                } else {
                    Err(left.as_secs().max(1))
                }
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&self, key: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if counts.len() > 10_000 {
            counts.retain(|_, (_, started)| now.duration_since(*started) < self.window);
        }
        let entry = counts.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    pub fn clear(&self, key: &str) {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_after_its_failures_and_others_are_not() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.check("ada").is_ok());
            limiter.fail("ada");
        }
        let wait = limiter.check("ada").unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(limiter.check("bob").is_ok());
        limiter.clear("ada");
        assert!(limiter.check("ada").is_ok());
    }
}
