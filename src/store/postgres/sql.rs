//! The Postgres driver behind the shared statements: [`Sql`] (a
//! statement's `?N` placeholders written `$N`, [`dollar_placeholders`], and
//! its parameters bound in order) and its rows as [`StoredRow`]. Columns
//! are read with `try_get` (a type mismatch is an error, never a panic);
//! timestamps are milliseconds in `BIGINT`, converted with the shared
//! helpers so both stores agree to the millisecond.

use postgres::types::ToSql;
use postgres::{Row, Transaction};

use crate::store::rows::StoredRow;
use crate::store::sql::{dollar_placeholders, Dialect, Param, RowReader, Sql};
use crate::Result;

/// `params` as Postgres binds them.
fn bind<'a>(params: &'a [&'a dyn Param]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p.postgres()).collect()
}

impl Sql for Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn run(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64> {
        Ok(self.execute(&*dollar_placeholders(sql), &bind(params))?)
    }

    fn each_row(&mut self, sql: &str, params: &[&dyn Param], read: RowReader<'_>) -> Result<()> {
        for row in self.query(&*dollar_placeholders(sql), &bind(params))? {
            read(&row)?;
        }
        Ok(())
    }

    fn single_row(&mut self, sql: &str, params: &[&dyn Param], read: RowReader<'_>) -> Result<()> {
        read(&self.query_one(&*dollar_placeholders(sql), &bind(params))?)
    }
}

/// A Postgres row, read by the shared conversions of [`crate::store::rows`]
/// (an incident's release lists are `TEXT[]` here).
impl StoredRow for Row {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.try_get(i)?)
    }

    fn text(&self, i: usize) -> Result<String> {
        Ok(self.try_get(i)?)
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }

    fn text_list(&self, i: usize) -> Result<Vec<String>> {
        Ok(self.try_get::<_, Option<Vec<String>>>(i)?.unwrap_or_default())
    }
}
