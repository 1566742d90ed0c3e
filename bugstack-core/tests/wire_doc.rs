//! The example payload in docs/wire-format.md decodes, and says what it claims.

use bugstack_core::{decode_batch, encode_batch, gzip_bytes, ContentEncoding, DecodeLimits, EventKind, Shape};

const DOC: &str = include_str!("../../docs/wire-format.md");

fn example_json() -> &'static str {
    let start = DOC.find("```json\n").expect("the doc has a json example") + "```json\n".len();
    let len = DOC[start..].find("\n```").expect("the example block is closed");
    &DOC[start..start + len]
}

#[test]
fn documented_example_decodes_gzipped_and_plain() {
    let json = example_json();
    let limits = DecodeLimits::default();
    let plain = decode_batch(json.as_bytes(), ContentEncoding::Identity, &limits).unwrap();
    let gz = decode_batch(&gzip_bytes(json.as_bytes()).unwrap(), ContentEncoding::Gzip, &limits).unwrap();
    assert_eq!(plain, gz);

    assert_eq!(plain.schema_version, 1);
    let e = &plain.events[0];
    assert_eq!(e.kind, EventKind::Panic);
    assert_eq!(e.count, 2000);
    assert_eq!(plain.occurrences(), 2000);
    assert_eq!(e.in_app_frames().count(), 2);
    let req = e.request.as_ref().unwrap();
    assert_eq!(req.route.as_deref(), Some("/carts/{id}/checkout"));
    assert!(matches!(req.payload_shape, Some(Shape::Object { .. })));
    assert_eq!(plain.stats.unwrap().captured, 2000);
    let release = plain.release.as_ref().unwrap();
    assert_eq!(release.name, "shop@1.4.2");
    assert_eq!(release.dependencies.as_ref().unwrap()[1].version, "1.48.0");
}

#[test]
fn documented_example_re_encodes_losslessly() {
    let batch = decode_batch(
        example_json().as_bytes(),
        ContentEncoding::Identity,
        &DecodeLimits::default(),
    )
    .unwrap();
    let again = decode_batch(
        &encode_batch(&batch).unwrap(),
        ContentEncoding::Gzip,
        &DecodeLimits::default(),
    )
    .unwrap();
    assert_eq!(again, batch);
}
