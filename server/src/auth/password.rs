//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes),
//! always on a blocking thread: a hash takes tens of milliseconds of CPU, which would
//! stall every stream served by the same runtime thread.

use std::sync::LazyLock;

use tokio::sync::Semaphore;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

/// A real hash of a password nobody has, checked when the username is unknown so that
/// an unknown user costs as much time as a wrong password and the answers cannot be
/// told apart by timing.
static DECOY: LazyLock<String> = LazyLock::new(|| hash_now("decoy password, never valid"));

/// At most one hash per CPU at a time: each takes 19 MiB, and a burst of logins must
/// queue rather than spawn hundreds of blocking threads.
static SLOTS: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

fn hash_now(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with default parameters")
        .to_string()
}

/// The PHC string for `password`.
pub async fn hash(password: String) -> String {
    let _slot = SLOTS.acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || hash_now(&password)).await.expect("hashing never panics")
}

/// Whether `password` matches `stored`; with no stored hash, spends the same time and
/// says no.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let _slot = SLOTS.acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DECOY.clone());
        let matches = PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
        });
        known && matches
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let stored = hash("correct horse".into()).await;
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(stored.clone())).await);
        assert!(!verify("correct horsf".into(), Some(stored)).await);
        assert!(!verify("decoy password, never valid".into(), None).await);
    }
}
