//! [`Sql`] on Postgres: a statement's `?N` placeholders are written `$N`
//! ([`dollar_placeholders`]) and its parameters bound in order.

use postgres::types::ToSql;
use postgres::Transaction;

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
