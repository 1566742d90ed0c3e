//! Property tests: wire round-trips and fingerprint stability.

use std::collections::BTreeMap;

use bugstack_core::{
    decode_batch, encode_batch, fingerprint, normalize_message, Batch, ChainLink, ContentEncoding, DecodeLimits, Event,
    EventKind, Frame, Level, Location, RequestContext, Timestamp,
};
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        Just(EventKind::Panic),
        Just(EventKind::Error),
        Just(EventKind::Message),
        Just(EventKind::Tracing)
    ]
}

fn level() -> impl Strategy<Value = Level> {
    prop_oneof![
        Just(Level::Trace),
        Just(Level::Debug),
        Just(Level::Info),
        Just(Level::Warning),
        Just(Level::Error),
        Just(Level::Fatal)
    ]
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn frame() -> impl Strategy<Value = Frame> {
    (
        prop::collection::vec(ident(), 1..4),
        any::<bool>(),
        prop::option::of(1u32..5000),
        prop::option::of(1u32..200),
    )
        .prop_map(|(path, in_app, line, column)| Frame {
            function: Some(path.join("::")),
            module: Some(path[..path.len().saturating_sub(1)].join("::")),
            file: Some(format!("src/{}.rs", path[0])),
            line,
            column,
            in_app,
            address: None,
        })
}

fn event() -> impl Strategy<Value = Event> {
    (
        kind(),
        level(),
        any::<String>(),
        prop::collection::vec(frame(), 0..6),
        0u64..4_000_000_000_000,
        prop::collection::btree_map(ident(), any::<String>(), 0..4),
        prop::option::of(any::<String>()),
        1u64..10_000,
    )
        .prop_map(|(kind, level, message, frames, ms, tags, route, count)| {
            let mut e = Event::new(kind, level, message.clone(), Timestamp::from_millis(ms));
            e.frames = frames;
            e.tags = tags;
            e.count = count;
            e.chain = vec![ChainLink {
                type_name: Some("app::Error".into()),
                message,
            }];
            e.location = Some(Location {
                file: "src/lib.rs".into(),
                line: 1,
                column: Some(1),
            });
            e.request = route.map(|r| RequestContext {
                method: Some("GET".into()),
                route: Some(r),
                headers: BTreeMap::from([("accept".into(), "*/*".into())]),
                ..Default::default()
            });
            e
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn batches_round_trip_through_the_wire(events in prop::collection::vec(event(), 0..8), sent in 0u64..4_000_000_000_000) {
        let batch = Batch::new(Timestamp::from_millis(sent), events);
        let body = encode_batch(&batch).unwrap();
        let back = decode_batch(&body, ContentEncoding::Gzip, &DecodeLimits::default()).unwrap();
        prop_assert_eq!(back, batch);
    }

    #[test]
    fn timestamps_round_trip(ms in 0u64..253_402_300_799_999) {
        let t = Timestamp::from_millis(ms);
        prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn fingerprint_ignores_lines_columns_time_and_counts(
        e in event(),
        shift in 1u32..500,
        later in 1u64..1_000_000,
        count in 1u64..1000,
    ) {
        let mut moved = e.clone();
        for f in &mut moved.frames {
            f.line = f.line.map(|l| l + shift);
            f.column = None;
        }
        moved.location = Some(Location { file: "src/lib.rs".into(), line: 1 + shift, column: None });
        moved.timestamp = Timestamp::from_millis(e.timestamp.as_millis() + later);
        moved.count = count;
        moved.release = Some("another-release".into());
        prop_assert_eq!(fingerprint(&e), fingerprint(&moved));
    }

    #[test]
    fn fingerprint_ignores_numbers_in_messages(prefix in "[a-z ]{1,20}", a in 0u64..1_000_000, b in 0u64..1_000_000) {
        let mk = |n: u64| {
            let mut e = Event::new(EventKind::Panic, Level::Fatal, format!("{prefix} {n}"), Timestamp::from_millis(0));
            e.frames.push(Frame { function: Some("app::f".into()), in_app: true, ..Frame::default() });
            e
        };
        prop_assert_eq!(fingerprint(&mk(a)), fingerprint(&mk(b)));
    }

    #[test]
    fn fingerprint_separates_different_in_app_functions(e in event(), name in "[a-z]{3,10}") {
        let mut a = e.clone();
        let mut b = e;
        a.frames.insert(0, Frame { function: Some(format!("app::{name}_a")), in_app: true, ..Frame::default() });
        b.frames.insert(0, Frame { function: Some(format!("app::{name}_b")), in_app: true, ..Frame::default() });
        prop_assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn normalization_is_idempotent(msg in any::<String>()) {
        let once = normalize_message(&msg);
        prop_assert_eq!(normalize_message(&once), once);
    }

    #[test]
    fn normalization_is_idempotent_on_tricky_text(msg in "[0-9a-fxAB'\"<>` _./:\\-é𑛐٣]{0,32}") {
        let once = normalize_message(&msg);
        prop_assert_eq!(normalize_message(&once), once);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_batch(&bytes, ContentEncoding::Gzip, &DecodeLimits::default());
        let _ = decode_batch(&bytes, ContentEncoding::Identity, &DecodeLimits::default());
    }
}
