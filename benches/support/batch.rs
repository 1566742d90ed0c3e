//! The events the benches store: the batch both ingest benches send
//! (`benches/ingest.rs`, `benches/ingest_scale.rs`) and the dashboard
//! bench's incidents (`benches/dashboard.rs`).

use bugstack::core::{Batch, Event, EventKind, Frame, Level, RequestContext, Timestamp};

/// A realistic panic event at `at`: 12 stack frames (the innermost 4 in the
/// app) of functions under `service`, in one of 10 modules by `group`, and
/// the request it happened in; release `1.4.2`.
pub(crate) fn realistic_event(level: Level, message: String, group: usize, service: &str, at: Timestamp) -> Event {
    let mut e = Event::new(EventKind::Panic, level, message, at);
    e.release = Some("1.4.2".into());
    e.frames = (0..12)
        .map(|f| Frame {
            function: Some(format!("{service}::cart::module{}::function{f}", group % 10)),
            file: Some(format!("src/cart/module{}.rs", group % 10)),
            line: Some(40 + f),
            in_app: f < 4,
            ..Default::default()
        })
        .collect();
    e.request = Some(RequestContext {
        method: Some("POST".into()),
        route: Some("/carts/{id}/checkout".into()),
        ..Default::default()
    });
    e
}

/// A realistic batch: `n` events over 10 groups (their functions under
/// `service`), with frames and a request.
pub(crate) fn realistic_batch(n: usize, service: &str) -> Batch {
    let events = (0..n)
        .map(|i| {
            let message = format!("attempt to divide by zero (cart {i})");
            realistic_event(Level::Fatal, message, i, service, Timestamp::now())
        })
        .collect();
    Batch::new(Timestamp::now(), events)
}
