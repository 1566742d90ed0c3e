//! Collector ingest throughput (placeholder until the bench is written).
fn main() {}
