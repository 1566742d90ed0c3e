//! The error chain the SDK's tests and benches capture: an order that could
//! not be saved because the database connection was reset.
#![allow(dead_code, unreachable_pub)]

/// The cause: the database connection was reset.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by peer")]
pub struct DbError;

/// The error captured: saving failed, caused by a [`DbError`].
#[derive(Debug, thiserror::Error)]
#[error("could not save order")]
pub struct SaveError(#[source] pub DbError);
