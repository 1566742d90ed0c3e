//! What the collector does to every event before storing it: whoever holds
//! the SDK token can send raw events (other SDKs, or an attacker who pulled
//! the token out of a service binary), so the SDK's own scrubbing is not
//! relied on.

use bugstack_core::{Event, Scrubber};

/// Scrubs `event` in place with `scrubber`: message, error chain, tags,
/// breadcrumbs, request headers and path, fingerprint parts
/// ([`Scrubber::scrub_event`]).
///
/// A sent fingerprint that is not 64 lowercase hex digits (what
/// `bugstack_core::Fingerprint` documents) is dropped, so the store computes
/// one: an arbitrary string could carry a secret, be megabytes long, or
/// impersonate the collector's own incidents.
pub fn scrub_event(scrubber: &Scrubber, event: &mut Event) {
    scrubber.scrub_event(event);
    let valid = event.fingerprint.as_ref().is_some_and(|f| {
        let s = f.as_str();
        s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if !valid {
        event.fingerprint = None;
    }
}

#[cfg(test)]
mod tests {
    use bugstack_core::{EventKind, Fingerprint, Level, Timestamp};

    use super::*;

    #[test]
    fn secrets_leave_and_odd_fingerprints_are_recomputed() {
        let mut e = Event::new(
            EventKind::Error,
            Level::Error,
            "connect postgres://app:hunter2@db failed",
            Timestamp::now(),
        );
        e.fingerprint_parts = vec!["password=hunter2".into()];
        e.fingerprint = Some(Fingerprint::from_hex("quota-overflow:x"));
        scrub_event(&Scrubber::default(), &mut e);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(!e.fingerprint_parts[0].contains("hunter2"));
        assert_eq!(e.fingerprint, None);
        let good = Fingerprint::from_parts(["a"]);
        e.fingerprint = Some(good.clone());
        scrub_event(&Scrubber::default(), &mut e);
        assert_eq!(e.fingerprint, Some(good));
    }
}
