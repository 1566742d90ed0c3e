//! Rows as SQLite returns them, read by the shared conversions of
//! [`crate::store::rows`].

use rusqlite::{Connection, Row};

use crate::store::rows::StoredRow;
use crate::store::types::IncidentDetail;
use crate::Result;

/// A SQLite row, read by the shared conversions of [`crate::store::rows`]
/// (an incident's release lists are JSON arrays here).
impl StoredRow for Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }

    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }

    fn text_list(&self, i: usize) -> Result<Vec<String>> {
        Ok(match self.opt_text(i)? {
            Some(s) => serde_json::from_str(&s)?,
            None => Vec::new(),
        })
    }
}

/// Incident `id` with its representative event, samples, jobs, runs and
/// pull requests, read in one transaction (a consistent snapshot).
pub(super) fn incident_detail(conn: &mut Connection, id: i64) -> Result<IncidentDetail> {
    let mut tx = conn.transaction()?;
    let detail = crate::store::reads::incident_detail(&mut tx, id)?;
    tx.commit()?;
    Ok(detail)
}
