//! How many event streams may be open at once: `UPLINK_USER_MAX_STREAMS` per account
//! (streams opened with its session) and as many per events token. Each stream is a
//! connection and a descriptor; without a cap one account, or one leaked token, could
//! open streams until the server had none left for anyone else. A token's streams count
//! against the token alone: whoever holds a token can exhaust that token, never lock its
//! owner's own dashboard out of its events.

use std::sync::Arc;

use shared::AccountId;

use crate::domain::slots::{Slot, Slots};

pub struct StreamSlots {
    by_account: Arc<Slots<String>>,
    by_token: Arc<Slots<String>>,
}

/// The place one open stream holds; given back when it is dropped with its stream.
pub struct StreamPlace {
    _slot: Slot<String>,
}

impl StreamSlots {
    pub fn new(max_per_key: u32) -> Self {
        Self { by_account: Slots::new(max_per_key), by_token: Slots::new(max_per_key) }
    }

    /// A place for one more stream opened with `token`, or else with `account`'s
    /// session; `None` when that token or account already has the most it may.
    pub fn take(&self, account: &AccountId, token: Option<&str>) -> Option<StreamPlace> {
        let slot = match token {
            Some(token) => self.by_token.take(token.to_owned())?,
            None => self.by_account.take(account.as_str().to_owned())?,
        };
        Some(StreamPlace { _slot: slot })
    }

    pub fn max(&self) -> u32 {
        self.by_account.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str) -> AccountId {
        AccountId::new(name)
    }

    #[test]
    fn streams_are_capped_per_account_and_per_token_apart() {
        let slots = StreamSlots::new(2);
        let first = slots.take(&account("ada"), None).unwrap();
        let _second = slots.take(&account("ada"), None).unwrap();
        assert!(slots.take(&account("ada"), None).is_none(), "the account has its two streams");
        let _by_token =
            slots.take(&account("ada"), Some("t1")).expect("a token's streams are its own");
        let _again = slots.take(&account("ada"), Some("t1")).unwrap();
        assert!(slots.take(&account("ada"), Some("t1")).is_none(), "the token has its two");
        assert!(slots.take(&account("ada"), Some("t2")).is_some(), "another token has its own");
        assert!(slots.take(&account("bob"), None).is_some(), "another account has its own");
        drop(first);
        assert!(
            slots.take(&account("ada"), None).is_some(),
            "a closed stream gives its place back"
        );
    }
}
