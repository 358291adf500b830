//! The bounded DELETE that expires a table's rows a slice at a time.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};

/// Deletes up to `limit` rows of `table` whose `at` column is before
/// `before`, oldest first; `key` names the rows (a column, or a list of
/// them: `a, b`). The names are the callers' constants.
pub(super) fn purge_oldest(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    at: &str,
    before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "DELETE FROM {table} WHERE ({key}) IN \
         (SELECT {key} FROM {table} WHERE {at} < $1 ORDER BY {at} LIMIT $2)"
    ))
    .bind::<Timestamptz, _>(before)
    .bind::<BigInt, _>(limit)
    .execute(conn)
}
