//! Events tokens: a short-lived, signed permission to read one upload's events, for
//! clients that cannot send the session cookie (a script handing the stream to another
//! program, an EventSource on another origin).
//!
//! A token is `<expiry, unix seconds>.<hex HMAC-SHA256 over "events:<upload id>:<expiry>">`.
//! Nothing is stored, so a token cannot be revoked before it expires: it is kept short
//! instead (`UPLINK_TOKEN_TTL`), and it reads only what its upload's owner could.

use std::{
    io,
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shared::UploadId;

/// The server's signing key, kept in the data directory (or, for several nodes, in
/// their shared database) so tokens outlive a restart and any node accepts them.
pub struct TokenKey([u8; 32]);

impl TokenKey {
    /// Reads the key at `path`, creating it (readable by the owner only) on first start.
    pub async fn load_or_create(path: &Path) -> io::Result<Self> {
        match tokio::fs::read_to_string(path).await {
            Ok(text) => Self::from_hex(text.trim()).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not a 64-digit hex key", path.display()),
                )
            }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let key = Self::generate();
                write_private(path, hex::encode(key.0).as_bytes()).await?;
                Ok(key)
            }
            Err(error) => Err(error),
        }
    }

    /// A new random key, for a store that keeps it (several nodes share one through
    /// their database).
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self(key)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key whose bytes are `bytes`, if they are a key's.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    fn from_hex(text: &str) -> Option<Self> {
        hex::decode(text).ok()?.try_into().ok().map(Self)
    }

    /// A token for `id`'s events that expires at `expires` (unix seconds).
    pub fn issue(&self, id: &UploadId, expires: u64) -> String {
        let tag = self.mac(id, expires).finalize().into_bytes();
        format!("{expires}.{}", hex::encode(tag))
    }

    /// Whether `token` is one this key issued for `id` and it has not expired by `now`.
    pub fn verify(&self, token: &str, id: &UploadId, now: u64) -> bool {
        let Some((expires, tag)) = token.split_once('.') else { return false };
        let (Ok(expires), Ok(tag)) = (expires.parse::<u64>(), hex::decode(tag)) else {
            return false;
        };
        // Constant-time comparison of the tag.
        expires > now && self.mac(id, expires).verify_slice(&tag).is_ok()
    }

    fn mac(&self, id: &UploadId, expires: u64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key size");
        mac.update(format!("events:{id}:{expires}").as_bytes());
        mac
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(unix)]
async fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut file =
        tokio::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

#[cfg(not(unix))]
async fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    tokio::fs::write(path, bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> UploadId {
        UploadId::parse(&format!("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a{n:02x}")).unwrap()
    }

    #[test]
    fn a_token_opens_its_own_upload_until_it_expires() {
        let key = TokenKey([7; 32]);
        let token = key.issue(&id(1), 1_000);
        assert!(key.verify(&token, &id(1), 999));
        assert!(!key.verify(&token, &id(1), 1_000), "expired");
        assert!(!key.verify(&token, &id(2), 999), "another upload");
        assert!(!TokenKey([8; 32]).verify(&token, &id(1), 999), "another server's key");
        let (_, tag) = token.split_once('.').unwrap();
        assert!(!key.verify(&format!("9999999999.{tag}"), &id(1), 999), "a stretched expiry");
        for garbage in ["", ".", "1000", "1000.", "abc.def", "-1.00", "1000.zz"] {
            assert!(!key.verify(garbage, &id(1), 0), "{garbage:?}");
        }
    }

    #[tokio::test]
    async fn the_key_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.key");
        let first = TokenKey::load_or_create(&path).await.unwrap();
        let again = TokenKey::load_or_create(&path).await.unwrap();
        assert_eq!(first.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
