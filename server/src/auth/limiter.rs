//! Counting attempts per key (a username, a client address) in fixed windows.
//!
//! One node counts in memory: a restart forgets the counts, which only ever gives an
//! attacker one more window. Entries are pruned once their window is over, so memory is
//! bounded by the keys active within one window. Several nodes count in their shared
//! store ([`LimitStore`]), so that an attacker gets one budget from the cluster, not one
//! from each node.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::store::{LimitStore, StoreError};

/// Attempts on accounts: logins per username, so one account cannot be guessed at, and
/// per client address, so one client cannot guess at many accounts; and registrations
/// per client address, so one client cannot make accounts without end.
pub struct AccountLimits {
    pub login_by_username: Limiter,
    pub login_by_address: Limiter,
    pub registrations: Limiter,
}

impl AccountLimits {
    /// Counted in memory, or in `shared` when several nodes share it.
    pub fn new(registrations_per_hour: u32, shared: Option<Arc<dyn LimitStore>>) -> Self {
        let window = Duration::from_secs(15 * 60);
        let limiter = |scope, max, window| {
            let limiter = Limiter::new(max, window);
            match &shared {
                Some(store) => limiter.shared(Arc::clone(store), scope),
                None => limiter,
            }
        };
        Self {
            login_by_username: limiter("login-username", 5, window),
            login_by_address: limiter("login-address", 30, window),
            registrations: limiter(
                "registration",
                registrations_per_hour,
                Duration::from_secs(3600),
            ),
        }
    }
}

/// Why an attempt may not be made now.
#[derive(Debug)]
pub enum Refused {
    /// Its key used up its attempts: seconds until its window ends.
    Wait(u64),
    /// The shared store could not count it (so it is not made).
    Store(StoreError),
}

/// At most `max_attempts` per key in each window. An attempt is counted when it begins,
/// before the password hash that decides it: counted after, a burst of parallel guesses
/// would all pass the check before the first was recorded. One that turns out not to
/// count (a successful login) is given back with [`Limiter::refund`] or
/// [`Limiter::clear`].
pub struct Limiter {
    /// 0: no limit.
    max_attempts: u32,
    window: Duration,
    counts: Mutex<Counts>,
    /// Where several nodes count, and under what name.
    shared: Option<(Arc<dyn LimitStore>, &'static str)>,
}

#[derive(Default)]
struct Counts {
    by_key: HashMap<String, (u32, Instant)>,
    /// Pruning is due when the table has grown to this size: twice what a prune left,
    /// so a table full of live keys is not scanned on every attempt.
    prune_at: usize,
}

/// The table is pruned no earlier than this size.
const PRUNE_FROM: usize = 10_000;

impl Limiter {
    pub fn new(max_attempts: u32, window: Duration) -> Self {
        let counts = Counts { by_key: HashMap::new(), prune_at: PRUNE_FROM };
        Self { max_attempts, window, counts: Mutex::new(counts), shared: None }
    }

    /// The same limit counted in `store`, as `scope`.
    pub fn shared(self, store: Arc<dyn LimitStore>, scope: &'static str) -> Self {
        Self { shared: Some((store, scope)), ..self }
    }

    /// Counts an attempt for `key`, or refuses it while it has used up its attempts in
    /// this window (a refused attempt is not counted).
    pub async fn attempt(&self, key: &str) -> Result<(), Refused> {
        if self.max_attempts == 0 {
            return Ok(());
        }
        if let Some((store, scope)) = &self.shared {
            let counted = store.attempt(scope, key, self.max_attempts, self.window).await;
            return match counted.map_err(Refused::Store)? {
                None => Ok(()),
                Some(wait) => Err(Refused::Wait(wait.as_secs().max(1))),
            };
        }
        self.attempt_here(key).map_err(Refused::Wait)
    }

    fn attempt_here(&self, key: &str) -> Result<(), u64> {
        let mut counts = self.lock();
        let now = Instant::now();
        if counts.by_key.len() >= counts.prune_at {
            counts.by_key.retain(|_, (_, started)| now.duration_since(*started) < self.window);
            counts.prune_at = (counts.by_key.len() * 2).max(PRUNE_FROM);
        }
        let entry = counts.by_key.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        if entry.0 >= self.max_attempts {
            let left = self.window.saturating_sub(now.duration_since(entry.1));
            return Err(left.as_secs().max(1));
        }
        entry.0 += 1;
        Ok(())
    }

    /// Gives back one counted attempt of `key`; a key with none left is forgotten.
    pub async fn refund(&self, key: &str) {
        if let Some((store, scope)) = &self.shared {
            if let Err(error) = store.refund(scope, key).await {
                tracing::warn!(%error, "could not give an attempt back");
            }
            return;
        }
        let mut counts = self.lock();
        if let Some(entry) = counts.by_key.get_mut(key) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 {
                counts.by_key.remove(key);
            }
        }
    }

    /// Forgets `key`'s attempts.
    pub async fn clear(&self, key: &str) {
        if let Some((store, scope)) = &self.shared {
            if let Err(error) = store.clear(scope, key).await {
                tracing::warn!(%error, "could not forget attempts");
            }
            return;
        }
        self.lock().by_key.remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn attempts_count_when_they_begin_and_refunds_give_them_back() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.attempt("ada").await.is_ok());
        }
        let Err(Refused::Wait(wait)) = limiter.attempt("ada").await else { panic!("refused") };
        assert!((1..=60).contains(&wait));
        assert!(limiter.attempt("bob").await.is_ok());
        limiter.refund("ada").await;
        assert!(limiter.attempt("ada").await.is_ok(), "a refunded attempt can be made again");
        assert!(limiter.attempt("ada").await.is_err());
        limiter.clear("ada").await;
        assert!(limiter.attempt("ada").await.is_ok());
        limiter.refund("bob").await;
        assert!(!limiter.lock().by_key.contains_key("bob"), "nothing counted, nothing kept");
        let unlimited = Limiter::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            assert!(unlimited.attempt("ada").await.is_ok());
        }
    }
}
