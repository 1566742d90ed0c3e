//! Projects (see [`crate::store::ProjectRecord`]): adding one, listing
//! them, finding one by its token's hash.

use bugstack_core::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use super::rows::{ms, ts};
use crate::store::{hashes_match, NewProject, ProjectRecord};
use crate::{Error, Result};

const PROJECT_COLUMNS: &str = "id, name, repo, forge, created_at";

fn project_of(r: &Row<'_>) -> rusqlite::Result<ProjectRecord> {
    Ok(ProjectRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        repo: r.get(2)?,
        forge: r.get(3)?,
        created_at: ts(r.get(4)?),
    })
}

/// Adds `project`; refused when its name or token hash is taken.
pub(super) fn add(tx: &mut Transaction<'_>, project: &NewProject, now: Timestamp) -> Result<ProjectRecord> {
    let taken: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM projects WHERE name = ?1 OR token_hash = ?2")?
        .query_row(params![project.name, project.token_hash], |r| r.get(0))
        .optional()?;
    if taken.is_some() {
        return Err(Error::ProjectExists(project.name.clone()));
    }
    Ok(tx
        .prepare_cached(&format!(
            "INSERT INTO projects (name, token_hash, repo, forge, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             RETURNING {PROJECT_COLUMNS}"
        ))?
        .query_row(
            params![project.name, project.token_hash, project.repo, project.forge, ms(now)],
            project_of,
        )?)
}

/// Every project, the default one (id 1) first, then by name.
pub(super) fn list(conn: &Connection) -> Result<Vec<ProjectRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id <> 1, name"
    ))?;
    let rows = stmt.query_map([], project_of)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The project whose token hash is `hash`, compared in constant time once found.
pub(super) fn by_token_hash(conn: &Connection, hash: &str) -> Result<Option<ProjectRecord>> {
    let found: Option<(String, ProjectRecord)> = conn
        .prepare_cached(&format!(
            "SELECT token_hash, {PROJECT_COLUMNS} FROM projects WHERE token_hash = ?1"
        ))?
        .query_row([hash], |r| {
            Ok((
                r.get(0)?,
                ProjectRecord {
                    id: r.get(1)?,
                    name: r.get(2)?,
                    repo: r.get(3)?,
                    forge: r.get(4)?,
                    created_at: ts(r.get(5)?),
                },
            ))
        })
        .optional()?;
    Ok(found.filter(|(stored, _)| hashes_match(stored, hash)).map(|(_, p)| p))
}
