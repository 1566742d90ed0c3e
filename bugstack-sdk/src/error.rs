//! The crate's error type.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong when setting the SDK up or persisting events.
///
/// Capturing never returns an error: the hot path drops and counts instead.
/// These errors come from [`try_init`](crate::try_init) (which
/// [`init`](crate::init) turns into a disabled guard plus a debug log line).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint is not an absolute `http://` or `https://` URL.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given (credentials in it are not repeated here).
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An option is out of range (e.g. a sample rate outside `0.0..=1.0`).
    #[error("invalid option {name}: {reason}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An extra scrub pattern is not a valid regex.
    #[error(transparent)]
    Scrub(#[from] bugstack_core::Error),
    /// The spool directory cannot be created or written.
    #[error("spool directory {path}: {source}")]
    Spool {
        /// The directory or file involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The worker thread could not be started.
    #[error("could not start the bugstack worker thread: {0}")]
    Worker(#[source] std::io::Error),
}
