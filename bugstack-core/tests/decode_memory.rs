//! Decoding a tiny body of 1.5 million empty frames costs the caps, not the
//! frames: the process's peak resident memory (Linux `VmHWM`, reset just
//! before decoding) grows by far less than the ~200 MiB the frames would
//! take. Alone in its binary so no other test's allocations count.

#[cfg(target_os = "linux")]
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(target_os = "linux")]
#[test]
fn millions_of_frames_decode_in_bounded_memory() {
    use bugstack_core::{decode_batch, gzip_bytes, ContentEncoding, DecodeLimits};

    let n = 1_500_000;
    let mut json = String::from(
        r#"{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[{"kind":"panic","level":"fatal","message":"m","timestamp":"2026-01-01T00:00:00Z","frames":["#,
    );
    for i in 0..n {
        json.push_str(if i == 0 { "{}" } else { ",{}" });
    }
    json.push_str("]}]}");
    let body = gzip_bytes(json.as_bytes()).unwrap();
    drop(json);
    // Reset the peak to the current resident size (Linux ≥ 4.0).
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("cannot reset VmHWM here; skipping the measurement");
        return;
    }
    let before = peak_kib().unwrap();
    let batch = decode_batch(&body, ContentEncoding::Gzip, &DecodeLimits::default()).unwrap();
    let grew_kib = peak_kib().unwrap().saturating_sub(before);
    assert_eq!(batch.events[0].frames.len(), 256);
    // The inflated JSON (~4.5 MiB) plus the kept frames; 1.5 million
    // frames would be ~200 MiB.
    assert!(grew_kib < 24 * 1024, "peak memory grew by {grew_kib} KiB");
}
