//! The package's error type.

use std::path::PathBuf;

use thiserror::Error;

use crate::status::{JobState, Status, UnknownValue};

/// Everything that can go wrong in the `bugstack` package (store, collector,
/// jobs, CLI). Messages say what was wrong and, where it helps, what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQLite store failed.
    #[error("store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The Postgres store failed.
    #[error("Postgres store error: {0}")]
    Postgres(#[from] postgres::Error),
    /// No connection to the Postgres store could be had (the server is
    /// down or unreachable, or every pooled connection stayed busy).
    #[error("{0}")]
    PostgresPool(String),
    /// The Postgres database was migrated by a newer bugstack.
    #[error(
        "the {database} has schema version {found}, newer than this bugstack supports ({supported}); upgrade bugstack"
    )]
    DatabaseSchemaTooNew {
        /// The database, as messages name it (no credentials).
        database: String,
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The store's file was written by a newer bugstack.
    #[error("the store at {path} has schema version {found}, newer than this bugstack supports ({supported}); upgrade bugstack")]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// No incident has this id.
    #[error("no incident with id {0}")]
    IncidentNotFound(i64),
    /// No pull request has this number.
    #[error("no pull request #{0}")]
    PullRequestNotFound(i64),
    /// No project has this name.
    #[error("no project named {0:?}")]
    ProjectNotFound(String),
    /// `bugstack project add` with a name (or token) already taken.
    #[error("a project named {0:?} already exists")]
    ProjectExists(String),
    /// An incident or pull request asked for under `--project` belongs to
    /// another project.
    #[error("{what} belongs to project {actual:?}, not {asked:?}; pass --project {actual}")]
    NotInProject {
        /// What was asked for ("incident 3", "pull request #2").
        what: String,
        /// The project it was asked under.
        asked: String,
        /// The project it belongs to.
        actual: String,
    },
    /// No fix job has this id.
    #[error("no fix job with id {0}")]
    JobNotFound(i64),
    /// A status change that the incident lifecycle does not allow.
    #[error("incident {id} cannot go from {from} to {to}")]
    IllegalTransition {
        /// The incident.
        id: i64,
        /// Its current status.
        from: Status,
        /// The requested status.
        to: Status,
    },
    /// A valid request the current state refuses (retrying an incident
    /// that is fixed or whose job is running, merging a pull request already
    /// merged or closed); the message says why.
    #[error("{0}")]
    Refused(String),
    /// A job was finished by a worker that no longer holds its lease (the
    /// lease expired and the job was claimed again, or it was already done).
    #[error("fix job {job} is no longer leased to {owner} (state {state})")]
    LeaseLost {
        /// The job.
        job: i64,
        /// The worker that tried to finish it.
        owner: String,
        /// The job's state now.
        state: JobState,
    },
    /// A value read back from the store is not what this build wrote.
    #[error("corrupt store value in {column}: {value:?}")]
    Corrupt {
        /// Table and column.
        column: &'static str,
        /// The value found.
        value: String,
    },
    /// JSON could not be encoded or decoded.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, and to which path or address ("cannot
        /// create /var/lib/bugstack", ...).
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Invalid configuration or command-line input.
    #[error("{0}")]
    Config(String),
    /// The repository to fix (`--repo`) is a directory but not inside a git
    /// work tree (bugstack fixes committed code).
    #[error("--repo {}: not a git repository", .0.display())]
    NotAGitRepository(PathBuf),
    /// The fix engine rejected the repository policy.
    #[error("invalid policy: {0}")]
    Policy(#[from] bugstack_fix::Error),
    /// The fix pipeline could not be set up or failed to run.
    #[error("fix pipeline: {0}")]
    Pipeline(String),
    /// A background task failed to complete.
    #[error("background task failed: {0}")]
    Task(String),
    /// The forge (GitHub, the local forge's remote) failed or refused.
    #[error("forge: {0}")]
    Forge(String),
}

impl Error {
    /// An [`Error::Io`] with what was being done, naming the path or
    /// address involved (the same shape as `bugstack_fix::Error::io`).
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// The package's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<UnknownValue> for Error {
    fn from(e: UnknownValue) -> Self {
        Error::Corrupt {
            column: e.column,
            value: e.value,
        }
    }
}
