//! The crate's error types: [`Error`], and [`PolicyViolation`] (why a
//! patch breaks policy).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Everything that can go wrong in the fix pipeline. Messages say what was
/// wrong and, where it helps, what to do about it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A `git` command failed.
    #[error("git {command} failed in {}: {stderr}", dir.display())]
    Git {
        /// The git arguments, joined with spaces.
        command: String,
        /// Where it ran.
        dir: PathBuf,
        /// What git printed on stderr (trimmed).
        stderr: String,
    },
    /// The repository is not usable as it is (not a git repo, unknown
    /// revision, ...).
    #[error("repository problem: {0}")]
    Repo(String),
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `bugstack.toml` could not be read or is invalid.
    #[error("invalid policy {}: {reason}", path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "(inline)".into()))]
    Policy {
        /// The file, when one was read.
        path: Option<PathBuf>,
        /// What was wrong (names the offending key).
        reason: String,
    },
    /// A patch breaks the repository's policy.
    #[error("patch rejected by policy: {0}")]
    PolicyViolation(#[from] PolicyViolation),
    /// A diff could not be parsed or does not apply to the files it names.
    #[error("patch does not apply: {0}")]
    PatchDoesNotApply(String),
    /// Context could not be built (no frame maps to the repository, ...).
    #[error("cannot build context: {0}")]
    Context(String),
    /// A generator produced no candidate (unknown panic class, garbage model
    /// answer, ...). Counts as a failed attempt.
    #[error("no fix generated: {0}")]
    Generate(String),
    /// A language model call failed.
    #[error("language model error: {0}")]
    Model(#[from] crate::model::ModelError),
    /// Validation could not run (not: a check failed — that is a result).
    #[error("validation could not run: {0}")]
    Validate(String),
    /// Deployment (branch, push, pull request, merge) failed.
    #[error("deployment failed: {0}")]
    Deploy(String),
}

impl Error {
    /// An [`Error::Io`] with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a patch breaks policy.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "violation", rename_all = "snake_case")]
pub enum PolicyViolation {
    /// It touches a path matching an excluded glob.
    #[error("{path} matches excluded path {glob:?}")]
    ExcludedPath {
        /// The path.
        path: String,
        /// The glob it matched.
        glob: String,
    },
    /// It touches a protected path ([`PROTECTED_PATHS`](crate::PROTECTED_PATHS)).
    #[error("{path} is protected ({glob:?}): bugstack never patches it")]
    ProtectedPath {
        /// The path.
        path: String,
        /// The protected glob it matched.
        glob: String,
    },
    /// It creates a symbolic link, changes a file mode, or carries a binary
    /// change: nothing a reviewer can read as source.
    #[error("{path}: {what} is not allowed in a fix")]
    UnsafeChange {
        /// The path.
        path: String,
        /// What the diff does (`a symbolic link`, `mode 100755`, `a binary patch`).
        what: String,
    },
    /// It touches a path outside the repository or inside `.git`.
    #[error("{path} is outside the repository's files")]
    OutsideRepository {
        /// The path.
        path: String,
    },
    /// It changes too many lines.
    #[error("{changed} changed lines, over the limit of {limit}")]
    TooManyLines {
        /// Lines added + removed.
        changed: u32,
        /// The limit.
        limit: u32,
    },
    /// It changes nothing.
    #[error("the patch changes nothing")]
    Empty,
}
