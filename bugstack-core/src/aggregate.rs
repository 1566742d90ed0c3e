//! Windowed grouping: folds occurrences with the same fingerprint into one
//! event with a count, so 500 identical errors in a minute travel as one event
//! with `count: 500` and first/last seen.
//!
//! The [`Aggregator`] is deterministic (no clock of its own: time comes from
//! the events and from the caller's `now`), and bounded: at most
//! [`AggregatorConfig::max_groups`] distinct groups per window. An occurrence
//! that would open a group past the cap is handed back to the caller
//! ([`Added::Overflow`]) and counted, never silently stored or lost.

use std::collections::HashMap;
use std::time::Duration;

use crate::{Event, Fingerprint, Timestamp};

/// Limits of an [`Aggregator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregatorConfig {
    /// Length of a window, measured from the first occurrence in it.
    pub window: Duration,
    /// Most distinct groups held in one window.
    pub max_groups: usize,
}

impl Default for AggregatorConfig {
    fn default() -> Self {
        AggregatorConfig {
            window: Duration::from_secs(5),
            max_groups: 256,
        }
    }
}

/// What [`Aggregator::add`] did with an occurrence.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    /// It opened a new group.
    NewGroup,
    /// It was folded into an existing group.
    Merged,
    /// The group cap was reached: the occurrence is returned untouched (its
    /// fingerprint filled in) for the caller to send on its own or drop and
    /// count.
    Overflow(Box<Event>),
}

/// Folds occurrences into groups per fingerprint within a time window.
///
/// ```
/// use bugstack_core::{Aggregator, AggregatorConfig, Event, EventKind, Level, Timestamp};
/// let mut agg = Aggregator::new(AggregatorConfig::default());
/// for i in 0..500 {
///     let e = Event::new(EventKind::Error, Level::Error, format!("timeout after {i} ms"), Timestamp::from_millis(i));
///     agg.add(e);
/// }
/// let out = agg.drain();
/// assert_eq!(out.len(), 1);
/// assert_eq!(out[0].count, 500);
/// ```
#[derive(Debug)]
pub struct Aggregator {
    config: AggregatorConfig,
    groups: Vec<Event>,
    index: HashMap<Fingerprint, usize>,
    window_start: Option<Timestamp>,
    overflowed: u64,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(config: AggregatorConfig) -> Self {
        Aggregator {
            config,
            groups: Vec::new(),
            index: HashMap::new(),
            window_start: None,
            overflowed: 0,
        }
    }

    /// Adds one occurrence (or an already-aggregated event). Computes and
    /// stores its fingerprint when the event has none.
    pub fn add(&mut self, mut event: Event) -> Added {
        let fp = match &event.fingerprint {
            Some(fp) => fp.clone(),
            None => {
                let fp = crate::fingerprint(&event);
                event.fingerprint = Some(fp.clone());
                fp
            }
        };
        if let Some(&i) = self.index.get(&fp) {
            merge_into(&mut self.groups[i], &event);
            return Added::Merged;
        }
        if self.groups.len() >= self.config.max_groups {
            self.overflowed += 1;
            return Added::Overflow(Box::new(event));
        }
        let at = event.first_seen();
        self.window_start = Some(self.window_start.map_or(at, |s| s.min(at)));
        event.first_seen = Some(event.first_seen());
        event.last_seen = Some(event.last_seen());
        self.index.insert(fp, self.groups.len());
        self.groups.push(event);
        Added::NewGroup
    }

    /// Folds one more occurrence at `at` into this window's group for `fp`,
    /// exactly as [`Aggregator::add`] would fold an event with that
    /// fingerprint; `false`, changing nothing, when the window has no such
    /// group (it was drained, or never opened). Lets a caller that knows an
    /// occurrence repeats an earlier one skip building its event.
    ///
    /// ```
    /// use bugstack_core::{Aggregator, AggregatorConfig, Event, EventKind, Level, Timestamp};
    /// let mut agg = Aggregator::new(AggregatorConfig::default());
    /// let mut e = Event::new(EventKind::Panic, Level::Fatal, "boom", Timestamp::from_millis(10));
    /// let fp = bugstack_core::fingerprint(&e);
    /// assert!(!agg.add_repeat(&fp, Timestamp::from_millis(5)), "no group yet");
    /// e.fingerprint = Some(fp.clone());
    /// agg.add(e);
    /// assert!(agg.add_repeat(&fp, Timestamp::from_millis(20)));
    /// let out = agg.drain();
    /// assert_eq!((out[0].count, out[0].last_seen), (2, Some(Timestamp::from_millis(20))));
    /// ```
    pub fn add_repeat(&mut self, fp: &Fingerprint, at: Timestamp) -> bool {
        let Some(group) = self.index.get(fp).and_then(|&i| self.groups.get_mut(i)) else {
            return false;
        };
        group.count = group.count.saturating_add(1);
        group.first_seen = Some(group.first_seen().min(at));
        group.last_seen = Some(group.last_seen().max(at));
        true
    }

    /// Whether the current window has ended at `now` (and so should be drained).
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.window_start
            .is_some_and(|s| now >= s.saturating_add(self.config.window))
    }

    /// When the current window ends, if one is open.
    pub fn window_end(&self) -> Option<Timestamp> {
        self.window_start.map(|s| s.saturating_add(self.config.window))
    }

    /// Drains the groups when the window is due at `now`; empty otherwise.
    pub fn drain_due(&mut self, now: Timestamp) -> Vec<Event> {
        if self.is_due(now) {
            self.drain()
        } else {
            Vec::new()
        }
    }

    /// Drains every group, in the order they were opened, and starts a new window.
    pub fn drain(&mut self) -> Vec<Event> {
        self.index.clear();
        self.window_start = None;
        std::mem::take(&mut self.groups)
    }

    /// Number of groups currently held.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no group is held.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Total occurrences turned away by the group cap since creation.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }
}

/// Folds `other` into `group`: counts add up, first/last seen widen. The
/// group keeps its first occurrence's details.
pub fn merge_into(group: &mut Event, other: &Event) {
    group.count = group.count.saturating_add(other.count.max(1));
    let first = group.first_seen().min(other.first_seen());
    let last = group.last_seen().max(other.last_seen());
    group.first_seen = Some(first);
    group.last_seen = Some(last);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventKind, Frame, Level};

    fn occ(msg: &str, func: &str, at: u64) -> Event {
        let mut e = Event::new(EventKind::Panic, Level::Fatal, msg, Timestamp::from_millis(at));
        e.frames.push(Frame {
            function: Some(func.into()),
            in_app: true,
            ..Frame::default()
        });
        e
    }

    #[test]
    fn five_hundred_identical_errors_become_one_event() {
        let mut agg = Aggregator::new(AggregatorConfig {
            window: Duration::from_secs(60),
            max_groups: 8,
        });
        for i in 0..500u64 {
            let outcome = agg.add(occ(&format!("index {i} out of range"), "svc::get", 1_000 + i * 100));
            assert_eq!(outcome, if i == 0 { Added::NewGroup } else { Added::Merged });
        }
        let out = agg.drain();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].count, 500);
        assert_eq!(out[0].first_seen(), Timestamp::from_millis(1_000));
        assert_eq!(out[0].last_seen(), Timestamp::from_millis(1_000 + 499 * 100));
        assert_eq!(out[0].message, "index 0 out of range");
        assert!(out[0].fingerprint.is_some());
        assert!(agg.is_empty());
    }

    #[test]
    fn distinct_bugs_stay_separate_in_insertion_order() {
        let mut agg = Aggregator::new(AggregatorConfig::default());
        for i in 0..30u64 {
            agg.add(occ(
                "boom",
                if i % 3 == 0 {
                    "svc::c"
                } else if i % 3 == 1 {
                    "svc::a"
                } else {
                    "svc::b"
                },
                i,
            ));
        }
        let out = agg.drain();
        let funcs: Vec<_> = out.iter().map(|e| e.frames[0].function.clone().unwrap()).collect();
        assert_eq!(funcs, ["svc::c", "svc::a", "svc::b"]);
        assert!(out.iter().all(|e| e.count == 10));
    }

    #[test]
    fn group_cap_bounds_memory_and_counts_overflow() {
        let mut agg = Aggregator::new(AggregatorConfig {
            window: Duration::from_secs(60),
            max_groups: 4,
        });
        let mut handed_back = 0;
        for i in 0..1_000u64 {
            if let Added::Overflow(e) = agg.add(occ("boom", &format!("svc::f{i}"), i)) {
                assert!(e.fingerprint.is_some());
                handed_back += 1;
            }
        }
        assert_eq!(agg.len(), 4);
        assert_eq!(handed_back, 996);
        assert_eq!(agg.overflowed(), 996);
        // Occurrences of groups already held still merge when the cap is full.
        assert_eq!(agg.add(occ("boom", "svc::f0", 5)), Added::Merged);
    }

    #[test]
    fn window_is_due_after_its_length() {
        let mut agg = Aggregator::new(AggregatorConfig {
            window: Duration::from_secs(10),
            max_groups: 4,
        });
        assert!(!agg.is_due(Timestamp::from_millis(u64::MAX)));
        agg.add(occ("boom", "svc::f", 5_000));
        assert_eq!(agg.window_end(), Some(Timestamp::from_millis(15_000)));
        assert!(agg.drain_due(Timestamp::from_millis(14_999)).is_empty());
        assert_eq!(agg.drain_due(Timestamp::from_millis(15_000)).len(), 1);
        assert!(agg.window_end().is_none());
    }

    #[test]
    fn already_aggregated_events_add_their_counts() {
        let mut agg = Aggregator::new(AggregatorConfig::default());
        let mut a = occ("boom", "svc::f", 100);
        a.count = 7;
        a.first_seen = Some(Timestamp::from_millis(50));
        let mut b = occ("boom", "svc::f", 300);
        b.count = 5;
        b.last_seen = Some(Timestamp::from_millis(900));
        agg.add(a);
        agg.add(b);
        let out = agg.drain();
        assert_eq!(out[0].count, 12);
        assert_eq!(out[0].first_seen(), Timestamp::from_millis(50));
        assert_eq!(out[0].last_seen(), Timestamp::from_millis(900));
    }
}
