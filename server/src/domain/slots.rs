//! Counted places per key (a client address, an account, an events token): at most `max`
//! held at once per key, each given back when its [`Slot`] is dropped.
//!
//! In memory, per process: what it bounds (connections, open streams) lives in this
//! process too. Keys with nothing held are removed, so memory follows what is in use.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard},
};

#[derive(Debug)]
pub struct Slots<K: Hash + Eq + Clone> {
    max: u32,
    held: Mutex<HashMap<K, u32>>,
}

impl<K: Hash + Eq + Clone> Slots<K> {
    pub fn new(max: u32) -> Arc<Self> {
        Arc::new(Self { max, held: Mutex::default() })
    }

    /// A place for `key`, or `None` when it already holds `max`.
    pub fn take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut held = self.lock();
        let count = held.entry(key.clone()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot { slots: Arc::clone(self), key })
    }

    /// How many places `key` holds now.
    pub fn held(&self, key: &K) -> u32 {
        self.lock().get(key).copied().unwrap_or(0)
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, u32>> {
        // Plain counters: a panic elsewhere cannot leave them half-updated.
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One place held; given back on drop.
#[derive(Debug)]
pub struct Slot<K: Hash + Eq + Clone> {
    slots: Arc<Slots<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self.slots.lock();
        if let Some(count) = held.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_holds_at_most_max_and_gets_places_back() {
        let slots = Slots::new(2);
        let a1 = slots.take("a").unwrap();
        let _a2 = slots.take("a").unwrap();
        assert!(slots.take("a").is_none());
        let _b = slots.take("b").expect("another key has its own places");
        drop(a1);
        assert_eq!(slots.held(&"a"), 1);
        let _a3 = slots.take("a").expect("a place given back can be taken again");
        drop(_b);
        assert!(slots.lock().get("b").is_none(), "keys holding nothing are forgotten");
    }
}
