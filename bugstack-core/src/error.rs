//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong in bugstack-core. Each variant says what was
/// wrong with the input so a collector can return it to the sender as is.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The body is larger than the compressed-size limit.
    #[error("request body is {size} bytes, over the limit of {limit} bytes")]
    BodyTooLarge {
        /// Size of the body received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The body inflates past the decompressed-size limit (a gzip bomb, or
    /// simply too much data); inflation stopped at the limit.
    #[error("request body decompresses to more than the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body is not valid gzip.
    #[error("request body is not valid gzip: {0}")]
    Gzip(String),
    /// The `Content-Encoding` is not one the collector understands.
    #[error("unsupported content encoding {0:?} (expected gzip or identity)")]
    UnsupportedEncoding(String),
    /// The body is not valid JSON, or not a valid batch.
    #[error("malformed batch at line {line}, column {column}: {reason}")]
    MalformedJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser said.
        reason: String,
    },
    /// The batch has no `schema_version`.
    #[error("batch has no schema_version field")]
    MissingSchemaVersion,
    /// The batch's `schema_version` is not one this version understands.
    #[error("unsupported schema_version {found} (supported: {supported:?})")]
    UnsupportedSchemaVersion {
        /// The version found, as JSON.
        found: String,
        /// Versions this build accepts.
        supported: Vec<u32>,
    },
    /// The batch has more events than allowed.
    #[error("batch has {count} events, over the limit of {limit}")]
    TooManyEvents {
        /// Events in the batch.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The batch's `batch_id` is empty or too long.
    #[error("batch_id is {len} bytes; it must be 1 to {limit} bytes")]
    InvalidBatchId {
        /// Its length.
        len: usize,
        /// The longest accepted.
        limit: usize,
    },
    /// A batch could not be encoded.
    #[error("could not encode batch: {0}")]
    Encode(String),
    /// A timestamp string is not RFC 3339.
    #[error("invalid timestamp {input:?}: {reason}")]
    InvalidTimestamp {
        /// The input (cut to 64 characters).
        input: String,
        /// What was wrong.
        reason: String,
    },
    /// A fingerprint is not exactly 64 lowercase hex digits.
    #[error("fingerprint must be exactly 64 lowercase hex digits (a SHA-256 as bugstack computes it), got {input:?}")]
    InvalidFingerprint {
        /// The input (cut to 80 characters).
        input: String,
    },
    /// An extra scrub pattern is not a valid regex.
    #[error("invalid scrub pattern {pattern:?}: {reason}")]
    InvalidScrubPattern {
        /// The pattern.
        pattern: String,
        /// What the regex compiler said.
        reason: String,
    },
}
