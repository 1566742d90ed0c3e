//! Rows as Postgres returns them, read by the shared conversions of
//! [`crate::store::rows`]. Columns are read with `try_get` (a type mismatch is an error,
//! never a panic); timestamps are milliseconds in `BIGINT`, converted with
//! the SQLite store's helpers so both stores agree to the millisecond.

use postgres::Row;

use crate::store::rows::StoredRow;
use crate::Result;

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
