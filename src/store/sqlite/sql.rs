//! The SQLite driver behind the shared statements: [`Sql`] (each statement
//! prepared once per connection, the statement cache, and run with its
//! parameters bound in order) and its rows as [`StoredRow`].

use rusqlite::{params_from_iter, Connection, Row, Transaction};

use crate::store::rows::StoredRow;
use crate::store::sql::{Dialect, Param, RowReader, Sql};
use crate::Result;

/// How many prepared statements each connection keeps: every statement the
/// store runs, so the ingest path's never make room for the others'.
pub(super) const STATEMENT_CACHE_CAPACITY: usize = 128;

/// `params` bound in order.
fn bind<'a>(params: &'a [&'a dyn Param]) -> impl rusqlite::Params + 'a {
    params_from_iter(params.iter().map(|p| p.sqlite()))
}

/// See [`Sql::run`].
fn run(conn: &Connection, sql: &str, params: &[&dyn Param]) -> Result<u64> {
    let changed = conn.prepare_cached(sql)?.execute(bind(params))?;
    Ok(u64::try_from(changed).unwrap_or(u64::MAX))
}

/// See [`Sql::each_row`].
fn each_row(conn: &Connection, sql: &str, params: &[&dyn Param], read: RowReader<'_>) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(bind(params))?;
    while let Some(row) = rows.next()? {
        read(row)?;
    }
    Ok(())
}

/// See [`Sql::single_row`].
fn single_row(conn: &Connection, sql: &str, params: &[&dyn Param], read: RowReader<'_>) -> Result<()> {
    conn.prepare_cached(sql)?.query_row(bind(params), |r| Ok(read(r)))?
}

/// Implements [`Sql`] for a type that dereferences to a [`Connection`].
macro_rules! sqlite_sql {
    ($conn:ty) => {
        impl Sql for $conn {
            fn dialect(&self) -> Dialect {
                Dialect::Sqlite
            }

            fn run(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64> {
                run(self, sql, params)
            }

            fn each_row(&mut self, sql: &str, params: &[&dyn Param], read: RowReader<'_>) -> Result<()> {
                each_row(self, sql, params, read)
            }

            fn single_row(&mut self, sql: &str, params: &[&dyn Param], read: RowReader<'_>) -> Result<()> {
                single_row(self, sql, params, read)
            }
        }
    };
}

sqlite_sql!(Connection);
sqlite_sql!(Transaction<'_>);

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
