//! The pipeline's input: an incident, i.e. one group of identical errors.

use bugstack_core::{Dependency, Event, Fingerprint, Timestamp};
use serde::{Deserialize, Serialize};

/// One group of occurrences of the same bug, as the pipeline sees it.
///
/// The representative [`Event`] is **untrusted** (it comes from production
/// traffic): its text may be quoted in prompts and reports as data, never
/// followed as instructions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// The store's id for the incident (free-form; a number as text for the
    /// bundled store).
    pub id: String,
    /// The grouping fingerprint.
    pub fingerprint: Fingerprint,
    /// A representative occurrence (message, frames, request context, ...).
    pub event: Event,
    /// Occurrences seen so far.
    pub count: u64,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Latest occurrence.
    pub last_seen: Timestamp,
    /// The crates on the failing stack and their versions, from the
    /// dependency list the release announced
    /// ([`bugstack_core::dependencies_on_stack`]); empty when unknown.
    /// Sent by the service, so untrusted like the event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack_dependencies: Vec<Dependency>,
}

impl Incident {
    /// An incident made of one (possibly aggregated) event.
    pub fn from_event(id: impl Into<String>, event: Event) -> Self {
        Incident {
            id: id.into(),
            fingerprint: event.fingerprint_or_compute(),
            count: event.count,
            first_seen: event.first_seen(),
            last_seen: event.last_seen(),
            event,
            stack_dependencies: Vec::new(),
        }
    }

    /// The release the event came from, when it says.
    pub fn release(&self) -> Option<&str> {
        self.event.release.as_deref()
    }

    /// A one-line title: the message's first line, cut to 100 characters.
    pub fn title(&self) -> String {
        let first = self.event.message.lines().next().unwrap_or_default();
        let mut t: String = first.chars().take(100).collect();
        if first.chars().count() > 100 {
            t.push('…');
        }
        t
    }
}
