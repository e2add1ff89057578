//! The SHA-256 of each resumable upload's bytes so far, kept as they arrive, so that the
//! last byte does not mean reading the whole file again to hash it (a second of a 1 GiB
//! upload's four, measured by `make bench`). Only a shortcut, in this process's memory:
//! after a restart, or for bytes another process received, completion reads the file.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use sha2::{Digest, Sha256};
use shared::UploadId;

/// Uploads whose running digest is kept at once: past this, new ones are hashed at
/// completion instead (a digest is about 200 bytes).
const KEPT: usize = 4096;

/// Running digests, by upload, each with how many bytes it covers.
#[derive(Default)]
pub struct Digests(Mutex<HashMap<UploadId, (u64, Sha256)>>);

impl Digests {
    /// A digest of exactly the first `offset` bytes of `id`, to go on with, if one is
    /// kept (of none, at the start).
    pub fn at(&self, id: &UploadId, offset: u64) -> Option<Sha256> {
        if offset == 0 {
            return Some(Sha256::new());
        }
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.get(id).filter(|(covers, _)| *covers == offset).map(|(_, digest)| digest.clone())
    }

    /// Keeps `digest`, of the first `offset` bytes of `id`.
    pub fn keep(&self, id: &UploadId, offset: u64, digest: Sha256) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < KEPT || kept.contains_key(id) {
            kept.insert(id.clone(), (offset, digest));
        }
    }

    /// The digest of all `length` bytes of `id`, if one is kept; forgotten either way.
    pub fn take(&self, id: &UploadId, length: u64) -> Option<Sha256> {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.remove(id).filter(|(covers, _)| *covers == length).map(|(_, digest)| digest)
    }

    pub fn forget(&self, id: &UploadId) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_goes_on_only_from_the_offset_it_covers() {
        let (digests, id) =
            (Digests::default(), UploadId::parse(&uuid::Uuid::now_v7().to_string()).unwrap());
        let mut digest = digests.at(&id, 0).unwrap();
        digest.update(b"abc");
        digests.keep(&id, 3, digest);
        assert!(digests.at(&id, 2).is_none(), "not from elsewhere");
        let mut more = digests.at(&id, 3).unwrap();
        more.update(b"def");
        digests.keep(&id, 6, more);
        assert!(digests.take(&id, 7).is_none(), "not for another length");
        assert!(digests.take(&id, 6).is_none(), "and forgotten once asked for");
        digests.keep(&id, 6, Sha256::new_with_prefix(b"abcdef"));
        assert_eq!(digests.take(&id, 6).unwrap().finalize(), Sha256::digest(b"abcdef"));
    }
}
