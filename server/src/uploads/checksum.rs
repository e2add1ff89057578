//! tus's checksum extension: what a request's bytes must hash to, in the algorithms the
//! server computes, maintained crates each.

use sha2::{Digest, Sha256};

/// The checksum algorithms the server computes (`Tus-Checksum-Algorithm`): `sha1` as
/// the protocol requires, and `sha256` and `md5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Md5,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Self::Sha1, Self::Sha256, Self::Md5];

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Md5 => "md5",
        }
    }
}

/// What a request's bytes must hash to, or be discarded.
#[derive(Debug, Clone)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub digest: Vec<u8>,
}

/// When a request says what its bytes hash to.
pub enum Expected {
    /// In its headers (`Upload-Checksum`).
    Now(Checksum),
    /// After its bytes (checksum-trailer): read once they have all arrived; `Err` says
    /// why there is none to use.
    Later(Box<dyn FnOnce() -> Result<Checksum, String> + Send>),
}

impl Expected {
    /// The digests to compute while the bytes arrive: every algorithm when the one
    /// that counts is told only after them.
    pub(super) fn hashers(&self) -> Vec<Hashing> {
        match self {
            Self::Now(checksum) => vec![Hashing::new(checksum.algorithm)],
            Self::Later(_) => Algorithm::ALL.into_iter().map(Hashing::new).collect(),
        }
    }

    /// The checksum to meet, now that the bytes are all here.
    pub(super) fn resolve(self) -> Result<Checksum, String> {
        match self {
            Self::Now(checksum) => Ok(checksum),
            Self::Later(read) => read(),
        }
    }
}

/// A running digest of one of the [`Algorithm`]s.
pub(super) enum Hashing {
    Sha1(sha1::Sha1),
    Sha256(Sha256),
    Md5(md5::Md5),
}

impl Hashing {
    pub(super) fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha1 => Self::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Self::Sha256(Sha256::new()),
            Algorithm::Md5 => Self::Md5(md5::Md5::new()),
        }
    }

    pub(super) fn algorithm(&self) -> Algorithm {
        match self {
            Self::Sha1(_) => Algorithm::Sha1,
            Self::Sha256(_) => Algorithm::Sha256,
            Self::Md5(_) => Algorithm::Md5,
        }
    }

    pub(super) fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(bytes),
            Self::Sha256(h) => h.update(bytes),
            Self::Md5(h) => h.update(bytes),
        }
    }

    pub(super) fn finish(self) -> Vec<u8> {
        match self {
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
            Self::Md5(h) => h.finalize().to_vec(),
        }
    }
}
