//! Projects as both stores keep them (see [`ProjectRecord`]), written once
//! over [`Sql`]: adding one, listing them, finding one by its token's hash.

use bugstack_core::Timestamp;

use super::convert::{ms, ts};
use super::rows::StoredRow;
use super::sql::{Dialect, Sql};
use super::{hashes_match, NewProject, ProjectRecord};
use crate::{Error, Result};

/// The columns of a project row, as [`project_of`] reads them from `first`
/// on.
const PROJECT_COLUMNS: &str = "id, name, repo, forge, created_at";

/// A project row ([`PROJECT_COLUMNS`] from column `first` on) as a record.
fn project_of(r: &dyn StoredRow, first: usize) -> Result<ProjectRecord> {
    Ok(ProjectRecord {
        id: r.int(first)?,
        name: r.text(first + 1)?,
        repo: r.opt_text(first + 2)?,
        forge: r.opt_text(first + 3)?,
        created_at: ts(r.int(first + 4)?),
    })
}

/// Adds `project`; refused when its name or token hash is taken. SQLite
/// (one writer) looks first; on Postgres the unique indexes decide, also
/// when another process adds the same name at once.
pub(crate) fn add<S: Sql + ?Sized>(db: &mut S, project: &NewProject, now: Timestamp) -> Result<ProjectRecord> {
    let dialect = db.dialect();
    if dialect == Dialect::Sqlite {
        let taken = db.first_row(
            "SELECT 1 FROM projects WHERE name = ?1 OR token_hash = ?2",
            &[&project.name, &project.token_hash],
            |_| Ok(()),
        )?;
        if taken.is_some() {
            return Err(Error::ProjectExists(project.name.clone()));
        }
    }
    let on_conflict = dialect.pick("", "\n             ON CONFLICT DO NOTHING");
    db.first_row(
        &format!(
            "INSERT INTO projects (name, token_hash, repo, forge, created_at) VALUES (?1, ?2, ?3, ?4, ?5){on_conflict}
             RETURNING {PROJECT_COLUMNS}"
        ),
        &[
            &project.name,
            &project.token_hash,
            &project.repo,
            &project.forge,
            &ms(now),
        ],
        |r| project_of(r, 0),
    )?
    .ok_or_else(|| Error::ProjectExists(project.name.clone()))
}

/// Every project, the default one (id 1) first, then by name.
pub(crate) fn list<S: Sql + ?Sized>(db: &mut S) -> Result<Vec<ProjectRecord>> {
    db.all_rows(
        &format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id <> 1, name"),
        &[],
        |r| project_of(r, 0),
    )
}

/// The project whose token hash is `hash`, compared in constant time once
/// found.
pub(crate) fn by_token_hash<S: Sql + ?Sized>(db: &mut S, hash: &str) -> Result<Option<ProjectRecord>> {
    let found = db.first_row(
        &format!("SELECT token_hash, {PROJECT_COLUMNS} FROM projects WHERE token_hash = ?1"),
        &[&hash],
        |r| Ok((r.text(0)?, project_of(r, 1)?)),
    )?;
    Ok(found.filter(|(stored, _)| hashes_match(stored, hash)).map(|(_, p)| p))
}
