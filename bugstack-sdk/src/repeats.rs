//! Repeats of an occurrence the worker already processed in the current
//! aggregation window, recognized from what the calling thread recorded and
//! folded into their group without resolving symbols, scrubbing or
//! fingerprinting again: during an error storm the worker spends a hash per
//! occurrence instead of the full processing, so it takes little of the
//! host's CPU.
//!
//! An occurrence's group (its fingerprint) is a function of its kind, error
//! type, message, in-app frames and location, all derived from the raw
//! fields hashed here (the return addresses stand for the frames). Hashing
//! more than the fingerprint reads (the level, the whole chain) only makes
//! fewer occurrences count as repeats, never a wrong one. Not used when a
//! `before_send` hook is set: it must see every event.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use bugstack_core::Fingerprint;

use crate::capture::{RawEvent, RawFrames};

/// Most remembered occurrences; past this they are forgotten all at once
/// (repeats then take the full path once more).
const LIMIT: usize = 4096;

/// Fingerprints of occurrences processed in the current window, by key.
pub(crate) struct Repeats {
    seeds: (RandomState, RandomState),
    seen: HashMap<u128, Fingerprint>,
}

impl Repeats {
    pub(crate) fn new() -> Self {
        Repeats {
            seeds: (RandomState::new(), RandomState::new()),
            seen: HashMap::new(),
        }
    }

    /// What decides `raw`'s group, as two independently keyed 64-bit hashes:
    /// two different occurrences share a key with probability ~2⁻¹²⁸.
    pub(crate) fn key(&self, raw: &RawEvent) -> u128 {
        let one = |seed: &RandomState| {
            let mut h = seed.build_hasher();
            hash_raw(raw, &mut h);
            h.finish()
        };
        (u128::from(one(&self.seeds.0)) << 64) | u128::from(one(&self.seeds.1))
    }

    /// The fingerprint of an earlier occurrence with this key.
    pub(crate) fn get(&self, key: u128) -> Option<&Fingerprint> {
        self.seen.get(&key)
    }

    /// Remembers that occurrences with `key` have fingerprint `fp`.
    pub(crate) fn remember(&mut self, key: u128, fp: Fingerprint) {
        if self.seen.len() >= LIMIT {
            self.seen.clear();
        }
        self.seen.insert(key, fp);
    }

    /// Forgets everything (the window's groups were drained).
    pub(crate) fn forget_all(&mut self) {
        self.seen.clear();
    }
}

fn hash_raw(raw: &RawEvent, h: &mut impl Hasher) {
    raw.kind.hash(h);
    raw.level.hash(h);
    raw.message.hash(h);
    raw.chain.len().hash(h);
    for link in &raw.chain {
        link.type_name.hash(h);
        link.message.hash(h);
    }
    match &raw.location {
        Some(l) => {
            1u8.hash(h);
            l.file.hash(h);
            l.line.hash(h);
            l.column.hash(h);
        }
        None => 0u8.hash(h),
    }
    match &raw.frames {
        RawFrames::Unresolved(ips) => {
            0u8.hash(h);
            ips.hash(h);
        }
        RawFrames::StdDebug(s) => {
            1u8.hash(h);
            s.hash(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bugstack_core::{EventKind, Level, Location};

    fn raw(message: &str, ips: &[usize], line: u32) -> RawEvent {
        let mut r = RawEvent::new(
            EventKind::Panic,
            Level::Fatal,
            message.to_string(),
            RawFrames::Unresolved(ips.into()),
        );
        r.location = Some(Location {
            file: "src/cart.rs".into(),
            line,
            column: Some(5),
        });
        r
    }

    #[test]
    fn same_occurrence_same_key_any_difference_another() {
        let r = Repeats::new();
        let base = r.key(&raw("attempt to divide by zero", &[1, 2, 3], 10));
        assert_eq!(base, r.key(&raw("attempt to divide by zero", &[1, 2, 3], 10)));
        assert_ne!(base, r.key(&raw("attempt to divide by one", &[1, 2, 3], 10)));
        assert_ne!(base, r.key(&raw("attempt to divide by zero", &[1, 2, 4], 10)));
        assert_ne!(base, r.key(&raw("attempt to divide by zero", &[1, 2, 3], 11)));
        let mut other_kind = raw("attempt to divide by zero", &[1, 2, 3], 10);
        other_kind.kind = EventKind::Error;
        assert_ne!(base, r.key(&other_kind));
    }

    #[test]
    fn memory_is_bounded() {
        let mut r = Repeats::new();
        let fp = Fingerprint::from_parts(["x"]);
        for k in 0..(LIMIT as u128 * 3) {
            r.remember(k, fp.clone());
        }
        assert!(r.seen.len() <= LIMIT);
    }
}
