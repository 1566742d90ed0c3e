//! The benchmark's one error type.

use std::path::PathBuf;

/// What can stop the benchmark, or one of its cases, from running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A command could not be started.
    #[error("cannot run `{command}`: {source} (is it installed and on PATH?)")]
    Spawn {
        /// The command line.
        command: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A command that had to succeed failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status and the tail of its output.
        detail: String,
    },
    /// A `case.toml` is not valid.
    #[error("case {path}: {message}")]
    Case {
        /// The case file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// `--cases` names a case that does not exist.
    #[error("no case named `{0}` (see heal-bench/cases/)")]
    UnknownCase(String),
    /// The registry could not be reached to fetch a crate's source.
    #[error("cannot fetch {krate} {version} from the registry: {detail}")]
    Fetch {
        /// The crate.
        krate: String,
        /// The version asked for.
        version: String,
        /// cargo's message.
        detail: String,
    },
    /// bugstack did something the benchmark cannot read (no listen line, a
    /// report that is not JSON, ...).
    #[error("bugstack: {0}")]
    Bugstack(String),
    /// A report could not be serialized.
    #[error("cannot serialize the report: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// The benchmark's result type.
pub type Result<T> = std::result::Result<T, Error>;
