//! The capability of a process started anonymously: 256 random bits handed out once, in the
//! launch answer, and kept only as their SHA-256. Whoever presents it (`X-Process-Access` or
//! `?access=`, read by `extract::ProcessAccess`) may see the process; process ids are
//! sequential, so nothing weaker would keep one anonymous caller's output from the next.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// The query parameter that carries a capability (in `Location` and in HAL links).
pub const QUERY: &str = "access";
/// The header that may carry it instead.
pub const HEADER: &str = "X-Process-Access";
/// Longest value read as a capability: ours are 64 characters; anything far longer is not one
/// and is not worth hashing.
const MAX_LEN: usize = 128;

/// A capability as given to a client, with the digest that is stored.
pub struct Capability {
    pub value: String,
    pub digest: String,
}

impl Capability {
    /// A new random capability.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let value = hex::encode(bytes);
        Self {
            digest: digest(&value),
            value,
        }
    }

    /// A value a client presented, if it can be a capability at all.
    pub fn presented(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.is_empty() || value.len() > MAX_LEN {
            return None;
        }
        Some(Self {
            value: value.to_owned(),
            digest: digest(value),
        })
    }

    /// Does this capability open a process whose stored digest is `stored`? Digests are
    /// compared without an early exit, so the time taken says nothing about how much matched.
    pub fn opens(&self, stored: Option<&str>) -> bool {
        let Some(stored) = stored else {
            return false;
        };
        let (a, b) = (self.digest.as_bytes(), stored.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn digest(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capability_opens_only_its_own_digest() {
        let c = Capability::generate();
        assert_eq!(c.value.len(), 64);
        assert!(c.value.chars().all(|ch| ch.is_ascii_hexdigit()));
        assert_ne!(c.value, c.digest, "the stored digest is not the capability");
        let again = Capability::presented(&c.value).unwrap();
        assert!(again.opens(Some(&c.digest)));
        let other = Capability::generate();
        assert!(!other.opens(Some(&c.digest)));
        assert!(!again.opens(None));
        assert!(!again.opens(Some("")));
        assert!(Capability::presented("").is_none());
        assert!(Capability::presented(&"a".repeat(MAX_LEN + 1)).is_none());
    }
}
