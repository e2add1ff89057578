//! How many event streams may be open at once: `UPLINK_USER_MAX_STREAMS` per account
//! (streams opened with its session) and as many per events token. Each stream is a
//! connection and a descriptor; without a cap one account, or one leaked token, could
//! open streams until the server had none left for anyone else. A token's streams count
//! against the token alone: whoever holds a token can exhaust that token, never lock its
//! owner's own dashboard out of its events.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use shared::AccountId;

use crate::{
    domain::slots::{Slot, Slots},
    store::{LimitStore, SharedPlace, StoreError},
};

pub struct StreamSlots {
    by_account: Arc<Slots<String>>,
    by_token: Arc<Slots<String>>,
    max: u32,
    /// Where several nodes count their streams together.
    shared: Option<Arc<dyn LimitStore>>,
}

/// The place one open stream holds; given back when it is dropped with its stream.
pub struct StreamPlace {
    _held: Held,
}

enum Held {
    Here { _slot: Slot<String> },
    Shared { _place: SharedPlace },
}

impl StreamSlots {
    /// Counted in this process, or in `shared` across the nodes that share it.
    pub fn new(max_per_key: u32, shared: Option<Arc<dyn LimitStore>>) -> Self {
        Self {
            by_account: Slots::new(max_per_key),
            by_token: Slots::new(max_per_key),
            max: max_per_key,
            shared,
        }
    }

    /// A place for one more stream opened with `token`, or else with `account`'s
    /// session; `None` when that token or account already has the most it may.
    pub async fn take(
        &self,
        account: &AccountId,
        token: Option<&str>,
    ) -> Result<Option<StreamPlace>, StoreError> {
        if let Some(store) = &self.shared {
            // A token is a secret: the shared table holds its digest.
            let (scope, key) = match token {
                Some(token) => ("stream-token", hex::encode(Sha256::digest(token))),
                None => ("stream-account", account.as_str().to_owned()),
            };
            let place = SharedPlace::take(store, scope, &key, self.max).await?;
            return Ok(place.map(|place| StreamPlace { _held: Held::Shared { _place: place } }));
        }
        let slot = match token {
            Some(token) => self.by_token.take(token.to_owned()),
            None => self.by_account.take(account.as_str().to_owned()),
        };
        Ok(slot.map(|slot| StreamPlace { _held: Held::Here { _slot: slot } }))
    }

    pub fn max(&self) -> u32 {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    fn account(name: &str) -> AccountId {
        AccountId::new(name)
    }

    #[tokio::test]
    async fn streams_are_capped_per_account_and_per_token_apart() {
        let slots = StreamSlots::new(2, None);
        let slots = Taking(&slots);
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

    /// `take` without awaiting: the in-memory slots never wait.
    struct Taking<'a>(&'a StreamSlots);

    impl Taking<'_> {
        fn take(&self, account: &AccountId, token: Option<&str>) -> Option<StreamPlace> {
            let taking = std::pin::pin!(self.0.take(account, token));
            let waker = std::task::Waker::noop();
            match taking.poll(&mut std::task::Context::from_waker(waker)) {
                std::task::Poll::Ready(taken) => taken.unwrap(),
                std::task::Poll::Pending => panic!("the in-memory slots waited"),
            }
        }
    }
}
