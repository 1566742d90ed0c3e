//! Exactly-once counting through the real collector: a batch posted again
//! with the same `batch_id` (its 202 was lost) is answered 202 with
//! `"duplicate": true` and counted once; a malformed id is refused.

mod common;

use bugstack::core::{encode_batch, Batch, Timestamp};
use common::*;

fn batch_with_id(id: &str) -> Vec<u8> {
    let mut b = Batch::new(
        Timestamp::now(),
        vec![event("retried", Some("1.0")), event("retried", None)],
    );
    b.batch_id = Some(id.to_string());
    encode_batch(&b).unwrap()
}

#[test]
fn a_batch_posted_twice_with_one_id_is_counted_once() {
    let (_dir, data, server) = serve_fresh();
    let client = client();
    let first = post(&client, &server, batch_with_id("b-1"));
    assert_eq!(first.status().as_u16(), 202);
    let first: serde_json::Value = first.json().unwrap();
    assert_eq!(
        (first["occurrences"].as_u64(), first["duplicate"].as_bool()),
        (Some(2), Some(false))
    );
    let again = post(&client, &server, batch_with_id("b-1"));
    assert_eq!(again.status().as_u16(), 202, "a retry is acknowledged");
    let again: serde_json::Value = again.json().unwrap();
    assert_eq!(
        (again["occurrences"].as_u64(), again["duplicate"].as_bool()),
        (Some(0), Some(true))
    );
    let other = post(&client, &server, batch_with_id("b-2"));
    assert_eq!(other.status().as_u16(), 202);
    let too_long = post(&client, &server, batch_with_id(&"x".repeat(129)));
    assert_eq!(too_long.status().as_u16(), 400);
    drop(server);
    let incidents = incidents_json(&data);
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["count"], 4, "two batches of two, the retry not counted");
}
