//! [`Fingerprint`]: the id of a group of occurrences of "the same bug".
//! How one is computed from an event is in `grouping` ([`fingerprint`](crate::fingerprint)).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A grouping fingerprint: 64 lowercase hex digits of a SHA-256.
///
/// Deserializing checks the form: anything but exactly 64 lowercase hex
/// digits is an error, so a client-sent fingerprint is checked, never trusted
/// as is (it names git branches and store rows).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl TryFrom<String> for Fingerprint {
    type Error = crate::Error;

    fn try_from(s: String) -> Result<Self, crate::Error> {
        Fingerprint::parse(&s)
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.0
    }
}

impl Fingerprint {
    /// The fingerprint of the given parts (length-prefixed, so `["ab","c"]`
    /// and `["a","bc"]` differ).
    pub fn from_parts<I, S>(parts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut h = Sha256::new();
        h.update(b"bugstack-fingerprint-v1\0");
        for p in parts {
            let p = p.as_ref().as_bytes();
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        let digest = h.finalize();
        let mut s = String::with_capacity(64);
        for b in digest {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        Fingerprint(s)
    }

    /// The full hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for branch names and display.
    pub fn short(&self) -> &str {
        self.0.get(..12).unwrap_or(&self.0)
    }

    /// Parses an untrusted fingerprint: exactly 64 lowercase hex digits, else
    /// [`Error::InvalidFingerprint`](crate::Error::InvalidFingerprint).
    pub fn parse(s: &str) -> Result<Self, crate::Error> {
        if s.len() == 64 && s.bytes().all(|b| HEX.contains(&b)) {
            Ok(Fingerprint(s.to_owned()))
        } else {
            Err(crate::Error::InvalidFingerprint {
                input: crate::text::ellipsize(s, 80),
            })
        }
    }

    /// Wraps a fingerprint string this system produced itself (e.g. read
    /// back from its own store) without checking it; untrusted input goes
    /// through [`Fingerprint::parse`] (as deserialization does).
    pub fn from_hex(s: impl Into<String>) -> Self {
        Fingerprint(s.into())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The placeholder that stands for the default parts in an override
/// ([`Event::fingerprint_parts`](crate::Event::fingerprint_parts); spaces
/// inside the braces do not matter).
pub const DEFAULT_PLACEHOLDER: &str = "{{ default }}";

/// Most in-app frames taken into the fingerprint.
pub const MAX_FINGERPRINT_FRAMES: usize = 32;
