//! Per-account limits: how many uploads may be arriving at once, and how many bytes an
//! account may keep. The store knows what is kept; the bytes of uploads still arriving
//! are counted as they arrive, so two uploads racing each other cannot both squeeze
//! under the limit. One node counts them here, in memory; several nodes count them in
//! their shared store ([`LimitStore`]), each upload arriving a place there that holds its
//! bytes, reserved [`RESERVE`] at a time so the store is asked once per few MiB.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use shared::{AccountId, ErrorCode};

use super::UploadError;
use crate::store::{LimitStore, SharedPlace};

/// The scope of the places uploads arriving hold in a shared store.
const UPLOADS: &str = "uploads";

/// Bytes reserved in the shared store at a time.
const RESERVE: u64 = 8 << 20;

pub struct Quotas {
    max_bytes: Option<u64>,
    max_in_flight: u32,
    accounts: Mutex<HashMap<AccountId, Load>>,
    /// Where several nodes count together; `None`: `accounts` counts.
    shared: Option<Arc<dyn LimitStore>>,
}

impl std::fmt::Debug for Quotas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quotas")
            .field("max_bytes", &self.max_bytes)
            .field("max_in_flight", &self.max_in_flight)
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

/// An account with uploads in flight. Dropped when the last one ends, after which the
/// store is again the whole truth.
#[derive(Debug)]
struct Load {
    in_flight: u32,
    /// Bytes kept plus bytes arriving.
    used: u64,
}

impl Quotas {
    pub fn new(
        max_bytes: Option<u64>,
        max_in_flight: u32,
        shared: Option<Arc<dyn LimitStore>>,
    ) -> Arc<Self> {
        Arc::new(Self { max_bytes, max_in_flight, accounts: Mutex::default(), shared })
    }

    /// Lets one more upload of `owner` begin, or says why not. `stored` is what the store
    /// says the account keeps; it only counts when nothing of theirs is in flight
    /// (otherwise the count here is newer). `announced` is the file's size, when known.
    pub async fn admit(
        self: &Arc<Self>,
        owner: &AccountId,
        stored: u64,
        announced: Option<u64>,
    ) -> Result<Ticket, UploadError> {
        let Some(store) = &self.shared else { return self.admit_here(owner, stored, announced) };
        let place = SharedPlace::take(store, UPLOADS, owner.as_str(), self.max_in_flight).await?;
        let Some(place) = place else { return Err(too_many(self.max_in_flight)) };
        // The bytes a request announces are reserved at once: two uploads that would
        // not both fit are told now, and every node sees them from the start.
        let mut reserved = 0;
        if let (Some(max), Some(size)) = (self.max_bytes, announced) {
            if !store.add_bytes(place.id(), owner, size, max).await? {
                // Given back before the refusal is answered, as after any upload.
                place.give_back().await;
                let used = stored.saturating_add(store.arriving(owner).await?);
                return Err(over_quota(max, used));
            }
            reserved = size;
        }
        let shared = Some(Reserved { place, reserved });
        Ok(Ticket { quotas: Arc::clone(self), owner: owner.clone(), bytes: 0, kept: false, shared })
    }

    fn admit_here(
        self: &Arc<Self>,
        owner: &AccountId,
        stored: u64,
        announced: Option<u64>,
    ) -> Result<Ticket, UploadError> {
        let mut accounts = self.lock();
        let (in_flight, used) =
            accounts.get(owner).map_or((0, stored), |load| (load.in_flight, load.used));
        if in_flight >= self.max_in_flight {
            return Err(too_many(in_flight));
        }
        if let (Some(max), Some(size)) = (self.max_bytes, announced) {
            if used.saturating_add(size) > max {
                return Err(over_quota(max, used));
            }
        }
        accounts.entry(owner.clone()).or_insert(Load { in_flight: 0, used }).in_flight += 1;
        Ok(Ticket {
            quotas: Arc::clone(self),
            owner: owner.clone(),
            bytes: 0,
            kept: false,
            shared: None,
        })
    }

    /// Whether admitting needs to know the bytes an account keeps.
    pub fn limits_bytes(&self) -> bool {
        self.max_bytes.is_some()
    }

    /// A kept upload of `owner` of `bytes` was deleted.
    pub fn release(&self, owner: &AccountId, bytes: u64) {
        if let Some(load) = self.lock().get_mut(owner) {
            load.used = load.used.saturating_sub(bytes);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, Load>> {
        // The map holds plain counters; a panic elsewhere cannot leave it half-updated.
        self.accounts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn too_many(in_flight: u32) -> UploadError {
    UploadError::rejected(
        ErrorCode::TooManyUploads,
        format!("{in_flight} uploads are already arriving; wait for one to finish"),
    )
}

fn over_quota(max: u64, used: u64) -> UploadError {
    UploadError::rejected(
        ErrorCode::QuotaExceeded,
        format!(
            "this upload would take the account past its quota of {max} bytes ({used} bytes used)"
        ),
    )
}

/// One upload in flight. Its bytes count against the quota as they arrive; dropped
/// without [`Ticket::keep`], they are given back.
#[derive(Debug)]
pub struct Ticket {
    quotas: Arc<Quotas>,
    owner: AccountId,
    bytes: u64,
    kept: bool,
    shared: Option<Reserved>,
}

/// A ticket's place in the shared store, and the bytes reserved there so far.
#[derive(Debug)]
struct Reserved {
    place: SharedPlace,
    reserved: u64,
}

impl Ticket {
    /// Counts `n` more bytes of this upload, refusing the ones past the quota.
    pub async fn add(&mut self, n: u64) -> Result<(), UploadError> {
        let (Some(shared), Some(store), Some(max)) =
            (&mut self.shared, &self.quotas.shared, self.quotas.max_bytes)
        else {
            return self.add_here(n);
        };
        let wanted = (self.bytes + n).saturating_sub(shared.reserved);
        if wanted > 0 {
            // A step ahead, or failing that just what is needed.
            let mut granted = None;
            for ask in [wanted.max(RESERVE), wanted] {
                if store.add_bytes(shared.place.id(), &self.owner, ask, max).await? {
                    granted = Some(ask);
                    break;
                }
            }
            let Some(granted) = granted else {
                let message =
                    format!("this upload would take the account past its quota of {max} bytes");
                return Err(UploadError::rejected(ErrorCode::QuotaExceeded, message));
            };
            shared.reserved += granted;
        }
        self.bytes += n;
        Ok(())
    }

    /// `n` of this upload's bytes are now counted by the store as kept (a resumable
    /// upload's, once recorded): the shared store stops counting them as arriving.
    pub async fn now_stored(&mut self, n: u64) -> Result<(), UploadError> {
        let (Some(shared), Some(store)) = (&mut self.shared, &self.quotas.shared) else {
            return Ok(());
        };
        let n = n.min(shared.reserved);
        store.release_bytes(shared.place.id(), n).await?;
        shared.reserved -= n;
        self.bytes = self.bytes.saturating_sub(n);
        Ok(())
    }

    fn add_here(&mut self, n: u64) -> Result<(), UploadError> {
        let mut accounts = self.quotas.lock();
        let Some(load) = accounts.get_mut(&self.owner) else {
            // A shared ticket without a byte limit: nothing to count here.
            self.bytes += n;
            return Ok(());
        };
        if let Some(max) = self.quotas.max_bytes {
            if load.used.saturating_add(n) > max {
                return Err(over_quota(max, load.used));
            }
        }
        load.used += n;
        self.bytes += n;
        Ok(())
    }

    /// The upload is stored: its bytes stay counted (by the store, once it has recorded
    /// them). A shared place is given back before this returns, so the client's next
    /// upload, which may come as soon as it is answered, finds it free.
    pub async fn keep(mut self) {
        self.kept = true;
        if let Some(shared) = self.shared.take() {
            shared.place.give_back().await;
        }
    }

    /// The upload ends without being stored: [`Ticket::keep`]'s timely giving back,
    /// without keeping its bytes.
    pub async fn release(mut self) {
        if let Some(shared) = self.shared.take() {
            shared.place.give_back().await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut accounts = self.quotas.lock();
        let Some(load) = accounts.get_mut(&self.owner) else { return };
        load.in_flight -= 1;
        if !self.kept {
            load.used = load.used.saturating_sub(self.bytes);
        }
        if load.in_flight == 0 {
            accounts.remove(&self.owner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str) -> AccountId {
        AccountId::new(name)
    }

    #[tokio::test]
    async fn uploads_in_flight_are_limited_per_account() {
        let quotas = Quotas::new(None, 2, None);
        let a = quotas.admit(&account("ada"), 0, None).await.unwrap();
        let _b = quotas.admit(&account("ada"), 0, None).await.unwrap();
        assert!(matches!(
            quotas.admit(&account("ada"), 0, None).await,
            Err(UploadError::Rejected(ErrorCode::TooManyUploads, _))
        ));
        let _other = quotas
            .admit(&account("bob"), 0, None)
            .await
            .expect("another account has its own limit");
        drop(a);
        quotas.admit(&account("ada"), 0, None).await.expect("a finished upload frees its place");
    }

    #[tokio::test]
    async fn bytes_count_while_arriving_and_stay_only_when_kept() {
        let quotas = Quotas::new(Some(100), 8, None);
        let mut first = quotas.admit(&account("ada"), 30, None).await.unwrap();
        first.add(50).await.unwrap();
        let mut second = quotas.admit(&account("ada"), 0, None).await.unwrap();
        assert!(
            matches!(second.add(21).await, Err(UploadError::Rejected(ErrorCode::QuotaExceeded, _))),
            "30 + 50 + 21 > 100"
        );
        second.add(20).await.unwrap();
        drop(second);
        first.keep().await;
        // Nothing in flight: the store is the truth again (30 + 50 kept).
        assert!(matches!(
            quotas.admit(&account("ada"), 80, Some(21)).await,
            Err(UploadError::Rejected(ErrorCode::QuotaExceeded, _))
        ));
        let mut third = quotas.admit(&account("ada"), 80, Some(20)).await.unwrap();
        quotas.release(&account("ada"), 50);
        third.add(70).await.unwrap();
    }
}
