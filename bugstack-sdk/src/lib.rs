//! bugstack-sdk: see the crate's issue; filled in by its own change.
#![forbid(unsafe_code)]
