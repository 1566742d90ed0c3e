//! `bugstack`: the facade over the bugstack crate family, and the library
//! behind the `bugstack` binary.
//!
//! - [`core`]: the event model, fingerprinting, grouping, scrubbing and wire format.
//! - [`sdk`]: in-process capture for services.
//! - [`fix`]: the context → generate → validate → deploy pipeline.
//! - [`store`]: the incident store ([`store::IncidentStore`], SQLite by default).
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub use bugstack_core as core;
pub use bugstack_fix as fix;
pub use bugstack_sdk as sdk;

pub mod cli;
pub mod collector;
mod error;
pub mod fix_runner;
pub mod jobs;
pub mod store;

pub use error::{Error, Result};
