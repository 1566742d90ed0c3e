//! Grouping a batch by fingerprint before it is stored: what both stores'
//! ingest does first (counts clamped, time spans, releases in order of
//! appearance, the most recent events for the sample).

use std::collections::{HashMap, VecDeque};

use bugstack_core::{Event, Fingerprint, Timestamp};

use super::convert::ms;
use super::SAMPLE_SIZE;

/// Largest count one event may add (larger claimed counts are clamped, so a
/// hostile sender cannot overflow the totals).
pub(crate) const MAX_EVENT_COUNT: u64 = u32::MAX as u64;

/// An event's claimed count, clamped to [`MAX_EVENT_COUNT`], as stored.
pub(crate) fn count_i64(c: u64) -> i64 {
    i64::try_from(c.min(MAX_EVENT_COUNT)).unwrap_or(i64::MAX)
}

/// The first line of a message, cut to 100 characters.
pub(crate) fn title_of(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    let mut t: String = first.chars().take(100).collect();
    if first.chars().count() > 100 {
        t.push('…');
    }
    t
}

/// One fingerprint's share of an ingested batch.
pub(crate) struct Group<'a> {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) first: &'a Event,
    pub(crate) count: i64,
    pub(crate) first_seen: i64,
    pub(crate) last_seen: i64,
    /// (release, count, first_seen, last_seen), in order of appearance.
    pub(crate) releases: Vec<(&'a str, i64, i64, i64)>,
    /// Where each release is in `releases` (linear, not quadratic, in the
    /// number of distinct releases).
    pub(crate) release_index: HashMap<&'a str, usize>,
    /// The most recent events, oldest first (at most SAMPLE_SIZE).
    pub(crate) recent: VecDeque<&'a Event>,
    /// Occurrences per hour (hour start in ms, count), in order of appearance.
    pub(crate) hours: Vec<(i64, i64)>,
}

/// One hour, in milliseconds.
pub(crate) const HOUR_MS: i64 = 3_600_000;

/// The hour (its start, in milliseconds) an occurrence at `at` counts in:
/// never after `received_at` (a sender's clock cannot write the future).
pub(crate) fn hour_of(at: Timestamp, received_at: Timestamp) -> i64 {
    let at = ms(at).min(ms(received_at)).max(0);
    at - at % HOUR_MS
}

/// The start (in ms) of the hour of `t`.
pub(crate) fn hour_start(t: Timestamp) -> i64 {
    ms(t) - ms(t) % HOUR_MS
}

/// The first hour (its start, in ms) kept in the histogram at `received_at`:
/// older hours are past [`HISTOGRAM_RETENTION_HOURS`](super::HISTOGRAM_RETENTION_HOURS).
pub(crate) fn retention_cutoff(received_at: Timestamp) -> i64 {
    let retention = i64::try_from(super::HISTOGRAM_RETENTION_HOURS)
        .unwrap_or(i64::MAX)
        .saturating_mul(HOUR_MS);
    hour_of(received_at, received_at).saturating_sub(retention)
}

/// `events` grouped by fingerprint, in order of first appearance;
/// `received_at` caps the hour an occurrence counts in.
pub(crate) fn group_events(events: &[Event], received_at: Timestamp) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut index: HashMap<Fingerprint, usize> = HashMap::new();
    for e in events {
        let fp = e.fingerprint_or_compute();
        let count = count_i64(e.count);
        let (first_seen, last_seen) = (ms(e.first_seen()), ms(e.last_seen()));
        let i = match index.get(&fp) {
            Some(&i) => i,
            None => {
                index.insert(fp.clone(), groups.len());
                groups.push(Group {
                    fingerprint: fp,
                    first: e,
                    count: 0,
                    first_seen,
                    last_seen,
                    releases: Vec::new(),
                    release_index: HashMap::new(),
                    recent: VecDeque::new(),
                    hours: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let Some(g) = groups.get_mut(i) else { continue };
        g.count = g.count.saturating_add(count);
        g.first_seen = g.first_seen.min(first_seen);
        g.last_seen = g.last_seen.max(last_seen);
        if let Some(rel) = e.release.as_deref() {
            match g.release_index.get(rel).and_then(|&i| g.releases.get_mut(i)) {
                Some(r) => {
                    r.1 = r.1.saturating_add(count);
                    r.2 = r.2.min(first_seen);
                    r.3 = r.3.max(last_seen);
                }
                None => {
                    g.release_index.insert(rel, g.releases.len());
                    g.releases.push((rel, count, first_seen, last_seen));
                }
            }
        }
        let hour = hour_of(e.last_seen(), received_at);
        match g.hours.iter_mut().find(|(h, _)| *h == hour) {
            Some(h) => h.1 = h.1.saturating_add(count),
            None => g.hours.push((hour, count)),
        }
        if g.recent.len() == SAMPLE_SIZE {
            g.recent.pop_front();
        }
        g.recent.push_back(e);
    }
    groups
}
