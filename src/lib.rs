//! `bugstack`: the facade over the bugstack crate family.
//!
//! - [`core`]: the event model, fingerprinting, grouping, scrubbing and wire format.
//! - [`sdk`]: in-process capture for services.
//! - [`fix`]: the context → generate → validate → deploy pipeline.
#![forbid(unsafe_code)]

pub use bugstack_core as core;
pub use bugstack_fix as fix;
pub use bugstack_sdk as sdk;
