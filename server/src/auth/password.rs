//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes),
//! always off the runtime: a hash takes tens of milliseconds of CPU, which would stall
//! every stream served by the same runtime thread.
//!
//! Hashes run on a fixed set of long-lived threads, one per CPU, each hashing in one
//! 19 MiB block of memory it keeps for good. Allocating that memory per hash (as
//! `Argon2::hash_password` does) let glibc keep what each hash freed in whichever arena
//! it came from: 40 registrations at once left the server at 365 to 580 MiB resident.
//! Now hashing costs a fixed 19 MiB per CPU, once (`make bench` reports the baseline).

use std::{
    cell::RefCell,
    sync::{mpsc, Arc, LazyLock, Mutex},
};

use argon2::{
    password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// A real hash of a password nobody has, checked when the username is unknown so that
/// an unknown user costs as much time as a wrong password and the answers cannot be
/// told apart by timing.
static DECOY: LazyLock<String> = LazyLock::new(|| hash_now("decoy password, never valid"));

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads' queue: at most one hash per CPU at a time, and a burst of logins
/// waits its turn here.
static HASHERS: LazyLock<mpsc::Sender<Job>> = LazyLock::new(|| {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
        let queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || loop {
                // The lock is held while waiting for the next job, never while hashing.
                let job = queue.lock().map_err(drop).and_then(|queue| queue.recv().map_err(drop));
                match job {
                    // A panic fails that one caller (its answer is dropped), not the thread.
                    Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
                    Err(()) => return,
                }
            })
            .expect("the OS starts a thread");
    }
    jobs
});

thread_local! {
    /// This hashing thread's argon2 memory, grown to the largest cost it has met.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` on a hashing thread.
async fn on_hasher<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    HASHERS.send(job).expect("the hashing threads live for good");
    result.await.expect("a hashing job always answers")
}

/// The raw argon2 output for `password` and `salt`, computed in this thread's memory.
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: Salt<'_>,
    len: usize,
) -> argon2::password_hash::Result<Output> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let blocks = argon2.params().block_count();
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        Output::init_with(len, |out| {
            Ok(argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])?)
        })
    })
}

fn hash_now(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    let argon2 = Argon2::default();
    let hash = compute(&argon2, password.as_bytes(), salt.as_salt(), Params::DEFAULT_OUTPUT_LEN)
        .and_then(|output| {
            Ok(PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(argon2.params())?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            }
            .to_string())
        });
    hash.expect("argon2 hashes any password with default parameters")
}

/// Whether `password` is the one `stored` (a PHC string) was made from.
fn matches(password: &str, stored: &str) -> bool {
    let check = || -> argon2::password_hash::Result<bool> {
        let parsed = PasswordHash::new(stored)?;
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
        let params = Params::try_from(&parsed)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let argon2 = Argon2::new(algorithm, version, params);
        // `Output`'s equality runs in constant time.
        Ok(compute(&argon2, password.as_bytes(), salt, expected.len())? == expected)
    };
    check().unwrap_or(false)
}

/// The PHC string for `password`.
pub async fn hash(password: String) -> String {
    on_hasher(move || hash_now(&password)).await
}

/// Whether `password` matches `stored`; with no stored hash, spends the same time and
/// says no.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    on_hasher(move || verify_now(&password, stored)).await
}

fn verify_now(password: &str, stored: Option<String>) -> bool {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| DECOY.clone());
    matches(password, &stored) && known
}

/// A bound on the hashes asked for and not yet done. The hashing threads work through
/// their queue at one hash per CPU at a time; without a bound, a flood of logins would
/// queue without end, holding memory while every answer comes later and later. Past the
/// bound a request is turned away at once, to come back later.
///
/// A place is held by the hashing job itself, not by the request: a client that hangs up
/// drops its request, but its hash still runs, and still counts until it is done.
#[derive(Debug)]
pub struct PasswordQueue(Arc<Semaphore>);

/// The queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl PasswordQueue {
    pub fn new(max_waiting: usize) -> Self {
        Self(Arc::new(Semaphore::new(max_waiting.max(1))))
    }

    pub async fn hash(&self, password: String) -> Result<String, Busy> {
        let place = self.place()?;
        Ok(on_hasher(move || {
            let _place = place;
            hash_now(&password)
        })
        .await)
    }

    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        let place = self.place()?;
        Ok(on_hasher(move || {
            let _place = place;
            verify_now(&password, stored)
        })
        .await)
    }

    fn place(&self) -> Result<OwnedSemaphorePermit, Busy> {
        Arc::clone(&self.0).try_acquire_owned().map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher, PasswordVerifier};

    #[tokio::test]
    async fn a_full_queue_turns_requests_away_at_once() {
        let queue = Arc::new(PasswordQueue::new(2));
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let queue = Arc::clone(&queue);
                tokio::spawn(async move { queue.hash("correct horse".into()).await })
            })
            .collect();
        // Both places are taken before either hash can finish (a hash takes milliseconds).
        while queue.0.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(queue.verify("x".into(), None).await, Err(Busy));
        for task in waiting {
            assert!(task.await.unwrap().is_ok());
        }
        assert_eq!(queue.verify("x".into(), None).await, Ok(false), "places come back");

        // A request abandoned while its hash runs (its client hung up): the hash goes on,
        // and keeps its place until it is done.
        let queue = Arc::new(PasswordQueue::new(1));
        let abandoned = tokio::spawn({
            let queue = Arc::clone(&queue);
            async move { queue.hash("correct horse".into()).await }
        });
        while queue.0.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        assert_eq!(queue.verify("x".into(), None).await, Err(Busy), "its hash still counts");
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let stored = hash("correct horse".into()).await;
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse".into(), Some(stored.clone())).await);
        assert!(!verify("correct horsf".into(), Some(stored)).await);
        assert!(!verify("decoy password, never valid".into(), None).await);
    }

    /// Hashing in reused memory gives exactly the crate's own hashes, both ways, also
    /// with other parameters than the defaults (hashes stored by another setting).
    #[test]
    fn reused_memory_agrees_with_the_argon2_crate() {
        let ours = hash_now("tr0ub4dor&3");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"tr0ub4dor&3", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"tr0ub4dor&4", &parsed).is_err());

        for params in [Params::default(), Params::new(8 * 1024, 3, 1, Some(24)).unwrap()] {
            let salt = SaltString::generate(&mut OsRng);
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"tr0ub4dor&3", &salt)
                .unwrap()
                .to_string();
            assert!(matches("tr0ub4dor&3", &theirs), "{theirs}");
            assert!(!matches("tr0ub4dor&4", &theirs));
        }
        // After a smaller hash, the default-sized one still comes out right.
        assert!(matches("tr0ub4dor&3", &ours));
        assert!(!matches("anything", "not a phc string"));
    }
}
