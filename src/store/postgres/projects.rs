//! Projects, as the SQLite store keeps them (see its `projects`).

use bugstack_core::Timestamp;
use postgres::{Row, Transaction};

use super::rows::{ms, ts};
use crate::store::{hashes_match, NewProject, ProjectRecord};
use crate::{Error, Result};

const PROJECT_COLUMNS: &str = "id, name, repo, forge, created_at";

fn project_of(r: &Row) -> Result<ProjectRecord> {
    Ok(ProjectRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        repo: r.try_get(2)?,
        forge: r.try_get(3)?,
        created_at: ts(r.try_get(4)?),
    })
}

/// Adds `project`; refused when its name or token hash is taken (also when
/// another process adds the same name at once: the unique index decides).
pub(super) fn add(tx: &mut Transaction<'_>, project: &NewProject, now: Timestamp) -> Result<ProjectRecord> {
    let row = tx.query_opt(
        &format!(
            "INSERT INTO projects (name, token_hash, repo, forge, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING RETURNING {PROJECT_COLUMNS}"
        ),
        &[
            &project.name,
            &project.token_hash,
            &project.repo,
            &project.forge,
            &ms(now),
        ],
    )?;
    match row {
        Some(r) => project_of(&r),
        None => Err(Error::ProjectExists(project.name.clone())),
    }
}

/// Every project, the default one (id 1) first, then by name.
pub(super) fn list(tx: &mut Transaction<'_>) -> Result<Vec<ProjectRecord>> {
    tx.query(
        &format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id <> 1, name"),
        &[],
    )?
    .iter()
    .map(project_of)
    .collect()
}

/// The project whose token hash is `hash`, compared in constant time once found.
pub(super) fn by_token_hash(tx: &mut Transaction<'_>, hash: &str) -> Result<Option<ProjectRecord>> {
    let Some(row) = tx.query_opt(
        &format!("SELECT token_hash, {PROJECT_COLUMNS} FROM projects WHERE token_hash = $1"),
        &[&hash],
    )?
    else {
        return Ok(None);
    };
    let stored: String = row.try_get(0)?;
    if !hashes_match(&stored, hash) {
        return Ok(None);
    }
    Ok(Some(ProjectRecord {
        id: row.try_get(1)?,
        name: row.try_get(2)?,
        repo: row.try_get(3)?,
        forge: row.try_get(4)?,
        created_at: ts(row.try_get(5)?),
    }))
}
