//! The batch both ingest benches send (`benches/ingest.rs`,
//! `benches/ingest_scale.rs`).

use bugstack::core::{Batch, Event, EventKind, Level, Timestamp};

/// A realistic batch: `n` events over 10 groups (their functions under
/// `service`), with frames and a request.
pub(crate) fn realistic_batch(n: usize, service: &str) -> Batch {
    let events = (0..n)
        .map(|i| {
            let mut e = Event::new(
                EventKind::Panic,
                Level::Fatal,
                format!("attempt to divide by zero (cart {i})"),
                Timestamp::now(),
            );
            e.release = Some("1.4.2".into());
            e.frames = (0..12)
                .map(|f| bugstack::core::Frame {
                    function: Some(format!("{service}::cart::module{}::function{f}", i % 10)),
                    file: Some(format!("src/cart/module{}.rs", i % 10)),
                    line: Some(40 + f),
                    in_app: f < 4,
                    ..Default::default()
                })
                .collect();
            e.request = Some(bugstack::core::RequestContext {
                method: Some("POST".into()),
                route: Some("/carts/{id}/checkout".into()),
                ..Default::default()
            });
            e
        })
        .collect();
    Batch::new(Timestamp::now(), events)
}
