//! Cold validation vs. a retry (filled in below).

fn main() {}
