//! Running a statement whatever the database: [`Sql`], the small
//! dialect-neutral trait both backends' connections and transactions
//! implement, so a statement both stores run is written once.
//!
//! A statement is written with SQLite's numbered placeholders (`?1`, `?2`,
//! ...), which the Postgres backend rewrites to its own (`$1`, `$2`, ...)
//! before it runs ([`dollar_placeholders`]); its parameters are any values
//! both drivers can bind ([`Param`]), and its rows are read through
//! [`StoredRow`]. Where the two databases' SQL really differs (a row lock,
//! `max` against `GREATEST`, a boolean literal), the statement asks
//! [`Sql::dialect`] for its part ([`Dialect::pick`]), so each database
//! still runs the statement it ran before.

use std::borrow::Cow;

use super::rows::StoredRow;
use crate::Result;

/// Which database a statement runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// The embedded store ([`SqliteStore`](super::SqliteStore)).
    Sqlite,
    /// The server store ([`PostgresStore`](super::PostgresStore)).
    Postgres,
}

impl Dialect {
    /// `sqlite` on SQLite, `postgres` on Postgres: the part of a statement
    /// that the two write differently.
    pub(crate) fn pick<'a>(self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }

    /// What a read appends to lock the rows it decides on until the
    /// transaction ends: ` FOR UPDATE` on Postgres; nothing on SQLite,
    /// whose one writer connection already serializes writers.
    pub(crate) fn for_update(self) -> &'static str {
        self.pick("", " FOR UPDATE")
    }

    /// The larger of two values: SQLite's scalar `max`, Postgres's
    /// `GREATEST`.
    pub(crate) fn greatest(self) -> &'static str {
        self.pick("max", "GREATEST")
    }
}

/// A statement parameter both drivers can bind (integers, texts, their
/// `Option`s, ...).
pub(crate) trait Param {
    /// The parameter as SQLite binds it.
    fn sqlite(&self) -> &dyn rusqlite::ToSql;
    /// The parameter as Postgres binds it.
    fn postgres(&self) -> &(dyn postgres::types::ToSql + Sync);
}

impl<T: rusqlite::ToSql + postgres::types::ToSql + Sync> Param for T {
    fn sqlite(&self) -> &dyn rusqlite::ToSql {
        self
    }

    fn postgres(&self) -> &(dyn postgres::types::ToSql + Sync) {
        self
    }
}

/// A list of ids as a parameter (`None`: no list): a JSON array on SQLite
/// (read with `json_each`), a `BIGINT[]` on Postgres (read with `ANY`).
#[derive(Debug)]
pub(crate) struct Ids<'a> {
    /// The ids, as Postgres binds them.
    list: Option<&'a [i64]>,
    /// The ids as a JSON array, as SQLite binds them.
    json: Option<String>,
}

impl<'a> Ids<'a> {
    /// The parameter for `ids`.
    pub(crate) fn new(ids: Option<&'a [i64]>) -> Result<Self> {
        Ok(Ids {
            list: ids,
            json: ids.map(serde_json::to_string).transpose()?,
        })
    }
}

impl Param for Ids<'_> {
    fn sqlite(&self) -> &dyn rusqlite::ToSql {
        &self.json
    }

    fn postgres(&self) -> &(dyn postgres::types::ToSql + Sync) {
        &self.list
    }
}

/// What reads a statement's rows, one at a time.
pub(crate) type RowReader<'a> = &'a mut dyn FnMut(&dyn StoredRow) -> Result<()>;

/// One connection or transaction of either backend: runs statements
/// written with `?N` placeholders and reads their rows. A column of the
/// wrong type, like any database error, is an error, never a panic.
pub(crate) trait Sql {
    /// The database the statements run on.
    fn dialect(&self) -> Dialect;

    /// Runs `sql` with `params`; how many rows it changed.
    fn run(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64>;

    /// Runs `sql` with `params` and hands each row it returns to `read`.
    fn each_row(&mut self, sql: &str, params: &[&dyn Param], read: RowReader<'_>) -> Result<()>;

    /// Runs `sql` with `params`, which must return a row (a count, an
    /// `INSERT ... RETURNING`), and hands it to `read`; no row is the
    /// driver's error.
    fn single_row(&mut self, sql: &str, params: &[&dyn Param], read: RowReader<'_>) -> Result<()>;

    /// Every row `sql` returns for `params`, read with `read`.
    fn all_rows<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        mut read: impl FnMut(&dyn StoredRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut rows = Vec::new();
        self.each_row(sql, params, &mut |r| {
            rows.push(read(r)?);
            Ok(())
        })?;
        Ok(rows)
    }

    /// The first row `sql` returns for `params`, if any, read with `read`.
    fn first_row<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        read: impl FnOnce(&dyn StoredRow) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut first = First::new(read);
        self.each_row(sql, params, &mut |r| first.take(r))?;
        Ok(first.value)
    }

    /// The row `sql` returns for `params` ([`Sql::single_row`]), read with
    /// `read`.
    fn one_row<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        read: impl FnOnce(&dyn StoredRow) -> Result<T>,
    ) -> Result<T> {
        let mut one = First::new(read);
        self.single_row(sql, params, &mut |r| one.take(r))?;
        one.value
            .ok_or_else(|| crate::Error::Config(format!("the store returned no row for {sql}")))
    }
}

/// The first of a statement's rows, read once by `read`; later rows are
/// passed over.
struct First<F, T> {
    /// What reads the first row (gone once it has).
    read: Option<F>,
    /// The first row, read.
    value: Option<T>,
}

impl<F: FnOnce(&dyn StoredRow) -> Result<T>, T> First<F, T> {
    /// Nothing read yet.
    fn new(read: F) -> Self {
        First {
            read: Some(read),
            value: None,
        }
    }

    /// Reads `row` if it is the first.
    fn take(&mut self, row: &dyn StoredRow) -> Result<()> {
        if let Some(read) = self.read.take() {
            self.value = Some(read(row)?);
        }
        Ok(())
    }
}

/// `sql` with its `?N` placeholders written `$N`, as Postgres numbers its
/// parameters (a `?` inside a quoted literal is left alone).
pub(crate) fn dollar_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => quoted = !quoted,
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::dollar_placeholders;

    #[test]
    fn placeholders_become_dollars_outside_literals() {
        assert_eq!(
            dollar_placeholders("SELECT 1 WHERE a = ?1 AND b = '?2' AND c = ?12"),
            "SELECT 1 WHERE a = $1 AND b = '?2' AND c = $12"
        );
        assert_eq!(dollar_placeholders("SELECT 1"), "SELECT 1");
    }
}
