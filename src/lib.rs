//! `bugstack`: the facade over the bugstack crate family, and the library
//! behind the `bugstack` binary.
//!
//! - [`core`]: the event model, fingerprinting, grouping, scrubbing and wire format.
//! - [`sdk`]: in-process capture for services.
//! - [`fix`]: the context → generate → validate → deploy pipeline.
//! - [`store`]: the incident store ([`store::IncidentStore`], SQLite by default).
//! - [`collector`]: the HTTP API SDKs post events to (`bugstack serve`).
//! - [`dashboard`]: the web pages `bugstack serve` shows (incidents, fix
//!   runs, pull requests), behind their own token.
//! - [`jobs`]: the fix-job loop (durable leases, bounded concurrency) and the
//!   [`jobs::FixJobRunner`] seam; [`fix_runner`] assembles the bugstack-fix
//!   pipeline (for `bugstack fix`, `serve --auto-fix` and `bugstack demo`) and
//!   plugs it in.
//! - [`release_check`]: after the merge, the releases a fixed incident is
//!   seen in, classified against its fix by git ancestry (regressions).
//! - [`cli`]: the `bugstack` command line, one module per command
//!   (`bugstack demo`, the offline end-to-end loop, included).
//! - [`terminal`]: terminal-safe text (event text is attacker-controlled).
//!
//! ```
//! use std::time::Duration;
//! use bugstack::core::{Event, EventKind, Level, Timestamp};
//! use bugstack::store::{IncidentStore, SqliteStore, Status};
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path())?;
//! let boom = Event::new(EventKind::Panic, Level::Fatal, "attempt to divide by zero", Timestamp::now());
//! // 500 occurrences of one bug: one incident, one fix job.
//! let summary = store.ingest(&vec![boom; 500], Timestamp::now())?;
//! assert_eq!((summary.occurrences, summary.jobs_enqueued), (500, 1));
//! let job = store.claim_job("worker-1", Duration::from_secs(60), Timestamp::now())?.expect("a queued job");
//! assert_eq!(job.incident.status, Status::Fixing);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub use bugstack_core as core;
pub use bugstack_fix as fix;
pub use bugstack_sdk as sdk;

pub mod cli;
pub mod collector;
pub mod dashboard;
mod error;
pub mod fix_runner;
pub mod forge_sync;
pub mod jobs;
pub mod release_check;
mod status;
pub mod store;
pub mod terminal;

pub use error::{Error, Result};
