//! Per-account limits: how many uploads may be arriving at once, and how many bytes an
//! account may keep. The store knows what is kept; the bytes of uploads still arriving
//! are counted here, in memory, as they arrive, so two uploads racing each other cannot
//! both squeeze under the limit. (One node: a multi-node deployment moves this count
//! next to its shared store.)

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use shared::{AccountId, ErrorCode};

use super::UploadError;

#[derive(Debug)]
pub struct Quotas {
    max_bytes: Option<u64>,
    max_in_flight: u32,
    accounts: Mutex<HashMap<AccountId, Load>>,
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
    pub fn new(max_bytes: Option<u64>, max_in_flight: u32) -> Arc<Self> {
        Arc::new(Self { max_bytes, max_in_flight, accounts: Mutex::default() })
    }

    /// Lets one more upload of `owner` begin, or says why not. `stored` is what the store
    /// says the account keeps; it only counts when nothing of theirs is in flight
    /// (otherwise the count here is newer). `announced` is the file's size, when known.
    pub fn admit(
        self: &Arc<Self>,
        owner: &AccountId,
        stored: u64,
        announced: Option<u64>,
    ) -> Result<Ticket, UploadError> {
        let mut accounts = self.lock();
        let (in_flight, used) =
            accounts.get(owner).map_or((0, stored), |load| (load.in_flight, load.used));
        if in_flight >= self.max_in_flight {
            return Err(UploadError::rejected(
                ErrorCode::TooManyUploads,
                format!("{in_flight} uploads are already arriving; wait for one to finish"),
            ));
        }
        if let (Some(max), Some(size)) = (self.max_bytes, announced) {
            if used.saturating_add(size) > max {
                return Err(over_quota(max, used));
            }
        }
        accounts.entry(owner.clone()).or_insert(Load { in_flight: 0, used }).in_flight += 1;
        Ok(Ticket { quotas: Arc::clone(self), owner: owner.clone(), bytes: 0, kept: false })
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
}

impl Ticket {
    /// Counts `n` more bytes of this upload, refusing the ones past the quota.
    pub fn add(&mut self, n: u64) -> Result<(), UploadError> {
        let mut accounts = self.quotas.lock();
        let load = accounts.get_mut(&self.owner).expect("a ticket's account has a load");
        if let Some(max) = self.quotas.max_bytes {
            if load.used.saturating_add(n) > max {
                return Err(over_quota(max, load.used));
            }
        }
        load.used += n;
        self.bytes += n;
        Ok(())
    }

    /// The upload is stored: its bytes stay counted.
    pub fn keep(mut self) {
        self.kept = true;
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

    #[test]
    fn uploads_in_flight_are_limited_per_account() {
        let quotas = Quotas::new(None, 2);
        let a = quotas.admit(&account("ada"), 0, None).unwrap();
        let _b = quotas.admit(&account("ada"), 0, None).unwrap();
        assert!(matches!(
            quotas.admit(&account("ada"), 0, None),
            Err(UploadError::Rejected(ErrorCode::TooManyUploads, _))
        ));
        let _other =
            quotas.admit(&account("bob"), 0, None).expect("another account has its own limit");
        drop(a);
        quotas.admit(&account("ada"), 0, None).expect("a finished upload frees its place");
    }

    #[test]
    fn bytes_count_while_arriving_and_stay_only_when_kept() {
        let quotas = Quotas::new(Some(100), 8);
        let mut first = quotas.admit(&account("ada"), 30, None).unwrap();
        first.add(50).unwrap();
        let mut second = quotas.admit(&account("ada"), 0, None).unwrap();
        assert!(
            matches!(second.add(21), Err(UploadError::Rejected(ErrorCode::QuotaExceeded, _))),
            "30 + 50 + 21 > 100"
        );
        second.add(20).unwrap();
        drop(second);
        first.keep();
        // Nothing in flight: the store is the truth again (30 + 50 kept).
        assert!(matches!(
            quotas.admit(&account("ada"), 80, Some(21)),
            Err(UploadError::Rejected(ErrorCode::QuotaExceeded, _))
        ));
        let mut third = quotas.admit(&account("ada"), 80, Some(20)).unwrap();
        quotas.release(&account("ada"), 50);
        third.add(70).unwrap();
    }
}
