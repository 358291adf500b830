//! `INSERT … SELECT FROM unnest(arrays)`: any number of rows with one bind
//! per column, and a batch's writes to every table in one statement
//! ([`OneStatement`]), so they cost one round trip.
//! [`insert_unnest!`](crate::insert_unnest) generates an insert and its
//! binds from one column list, and the compiler checks each column against
//! `schema.rs`: it must exist on the table, with the SQL type that is
//! bound.

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::serialize::ToSql;
use diesel::sql_types::{
    BigInt, Binary, HasSqlType, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};

/// The PostgreSQL name of a SQL type, for the `$n::type[]` casts.
pub trait PgName {
    const NAME: &'static str;
}

macro_rules! pg_names {
    ($($sql:ty => $name:literal),+ $(,)?) => {
        $(impl PgName for $sql {
            const NAME: &'static str = $name;
        })+
    };
}

pg_names! {
    SqlUuid => "uuid",
    Text => "text",
    BigInt => "bigint",
    Integer => "int",
    Timestamptz => "timestamptz",
    Binary => "bytea",
    Jsonb => "jsonb",
}

impl<T: PgName + diesel::sql_types::SqlType> PgName for Nullable<T> {
    const NAME: &'static str = T::NAME;
}

/// Compiles only when both are the same type: a column's SQL type in
/// `schema.rs` and the type bound for it.
pub fn same_sql_type<T>(_schema: PhantomData<T>, _bound: PhantomData<T>) {}

/// In what order an insert's rows go in (see [`statement`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOrder {
    /// Any.
    Any,
    /// The arrays' order (a serial id follows it), once the transaction
    /// has its transaction id: the outbox's rule (see
    /// [`NewOutboxMessage::add_to`](super::NewOutboxMessage::add_to)).
    /// A condition without columns is checked once, before the first row
    /// is read, so before any row draws its id.
    ArrayAfterXid,
}

/// The statement for `columns` (name, PostgreSQL type) of `table`, its
/// arrays bound from `$first` on.
pub fn statement(table: &str, columns: &[(&str, &str)], order: RowOrder, first: usize) -> String {
    let names: Vec<String> = columns
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    let names = names.join(", ");
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, pg))| format!("${}::{pg}[]", first + i))
        .collect();
    let arrays = arrays.join(", ");
    match order {
        RowOrder::ArrayAfterXid => format!(
            "INSERT INTO \"{table}\" ({names}) SELECT {names} FROM unnest({arrays}) \
             WITH ORDINALITY AS v({names}, \"position\") \
             WHERE pg_current_xact_id() IS NOT NULL AND {AFTER} ORDER BY \"position\""
        ),
        RowOrder::Any => format!(
            "INSERT INTO \"{table}\" ({names}) SELECT * FROM unnest({arrays}) WHERE {AFTER}"
        ),
    }
}

/// Where a part of a [`OneStatement`] says "once the part before it ran":
/// a condition of its `WHERE`, without columns.
pub const AFTER: &str = "@after@";

/// Writes to several tables as ONE statement, one round trip: each write
/// a data-modifying `WITH` part (`WITH w0 AS (INSERT …), w1 AS (UPDATE …)
/// SELECT …`). The parts see one snapshot, so none may read what another
/// writes, nor change a row another changes. PostgreSQL would run them in
/// an order of its own (the part the main query reads first, the others
/// after it in reverse); here each part runs after the one added before
/// it, as separate statements would: its [`AFTER`] condition counts the
/// rows the part before returned, which PostgreSQL checks once, before the
/// part's first row (a one-time condition), so running the part before to
/// its end. That matters for what is checked row by row: an order may have
/// one active payment (a partial unique index), so a failed payment's
/// update goes before the insert of its replacement. Foreign keys are
/// checked at the statement's end, when every part ran. PostgreSQL's
/// documentation calls the parts' order unpredictable: this order rests on
/// how its executor runs one-time conditions and `WITH` parts (checked on
/// PostgreSQL 15 with `EXPLAIN`; `one_batch` and the relay's tests fail
/// without it).
pub struct OneStatement<'a> {
    parts: Vec<String>,
    binds: BoxedSqlQuery<'a, Pg, SqlQuery>,
    bound: usize,
    returning: Option<usize>,
    counted: Option<usize>,
}

/// What [`OneStatement::run`] returns.
#[derive(Debug, Default)]
pub struct Ran {
    /// The ids of the part that returns ids, ascending.
    pub ids: Vec<i64>,
    /// The rows of the part that is counted (0 without one).
    pub counted: i64,
}

impl Default for OneStatement<'_> {
    fn default() -> Self {
        Self {
            parts: Vec::new(),
            binds: diesel::sql_query("").into_boxed(),
            bound: 0,
            returning: None,
            counted: None,
        }
    }
}

impl<'a> OneStatement<'a> {
    /// The number of the next value bound (`$n`).
    pub fn next_param(&self) -> usize {
        self.bound + 1
    }

    /// Binds the next value (`$n`, see [`next_param`](Self::next_param)).
    pub fn bind<ST, V>(&mut self, value: V)
    where
        Pg: HasSqlType<ST>,
        V: ToSql<ST, Pg> + Send + 'a,
        ST: Send + 'a,
    {
        let binds = std::mem::replace(&mut self.binds, diesel::sql_query("").into_boxed());
        self.binds = binds.bind::<ST, V>(value);
        self.bound += 1;
    }

    /// A write whose values are bound; its `WHERE` holds [`AFTER`].
    pub fn add(&mut self, sql: String) {
        assert!(sql.contains(AFTER), "a part without its order: {sql}");
        self.parts.push(format!("{sql} RETURNING 1"));
    }

    /// A write whose `RETURNING id` [`run`](Self::run) returns (one a
    /// statement).
    pub fn add_returning_ids(&mut self, sql: String) {
        debug_assert!(self.returning.is_none(), "one part returns ids");
        assert!(sql.contains(AFTER), "a part without its order: {sql}");
        self.returning = Some(self.parts.len());
        self.parts.push(format!("{sql} RETURNING id"));
    }

    /// A write whose rows [`run`](Self::run) counts (one a statement).
    pub fn add_counted(&mut self, sql: String) {
        debug_assert!(self.counted.is_none(), "one part is counted");
        self.counted = Some(self.parts.len());
        self.add(sql);
    }

    /// Runs the writes (nothing when there are none).
    pub fn run(self, conn: &mut PgConnection) -> QueryResult<Ran> {
        if self.parts.is_empty() {
            return Ok(Ran::default());
        }
        let parts: Vec<String> = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let after = match i {
                    0 => "true".to_owned(),
                    _ => format!("(SELECT count(*) FROM w{}) >= 0", i - 1),
                };
                format!("w{i} AS ({})", part.replace(AFTER, &after))
            })
            .collect();
        let ids = match self.returning {
            Some(i) => format!("ARRAY(SELECT id FROM w{i})"),
            None => "ARRAY[]::bigint[]".to_owned(),
        };
        let counted = match self.counted {
            Some(i) => format!("(SELECT count(*) FROM w{i})"),
            None => "0::bigint".to_owned(),
        };
        let sql = format!(
            "WITH {} SELECT {ids} AS ids, {counted} AS counted",
            parts.join(", ")
        );
        let returned: Returned = self.binds.sql(sql).get_result(conn)?;
        // Ids come from the sequence in insertion (row) order.
        let mut ids = returned.ids;
        ids.sort_unstable();
        Ok(Ran {
            ids,
            counted: returned.counted,
        })
    }
}

/// `insert_unnest!(one, rows, table { column: SqlType = |row| value, … })`
/// (or `table ordered after xid returning ids { … }`): adds the insert of
/// `rows` to `one` (a [`OneStatement`]), nothing when there are none. The
/// compiler checks each column against `schema.rs`: it must exist on the
/// table, with the SQL type that is bound.
#[macro_export]
macro_rules! insert_unnest {
    (@add $one:expr, $rows:expr, $table:ident, $order:expr, $returning:ident,
     { $($column:ident : $sql:ty = |$row:ident| $value:expr),+ $(,)? }) => {{
        $(
            $crate::db::models::unnest::same_sql_type(
                ::std::marker::PhantomData::<
                    <$crate::db::schema::$table::$column as ::diesel::Expression>::SqlType,
                >,
                ::std::marker::PhantomData::<$sql>,
            );
        )+
        let one: &mut $crate::db::models::unnest::OneStatement<'_> = $one;
        let rows = $rows;
        if !rows.is_empty() {
            let sql = $crate::db::models::unnest::statement(
                stringify!($table),
                &[$((
                    stringify!($column),
                    <$sql as $crate::db::models::unnest::PgName>::NAME,
                )),+],
                $order,
                one.next_param(),
            );
            $(
                one.bind::<::diesel::sql_types::Array<$sql>, _>(
                    rows.iter().map(|$row| $value).collect::<Vec<_>>(),
                );
            )+
            $crate::insert_unnest!(@finish $returning, one, sql);
        }
    }};
    (@finish count, $one:expr, $sql:expr) => { $one.add($sql) };
    (@finish ids, $one:expr, $sql:expr) => { $one.add_returning_ids($sql) };
    ($one:expr, $rows:expr, $table:ident ordered after xid returning ids { $($body:tt)+ }) => {
        $crate::insert_unnest!(@add $one, $rows, $table,
            $crate::db::models::unnest::RowOrder::ArrayAfterXid, ids, { $($body)+ })
    };
    ($one:expr, $rows:expr, $table:ident { $($body:tt)+ }) => {
        $crate::insert_unnest!(@add $one, $rows, $table,
            $crate::db::models::unnest::RowOrder::Any, count, { $($body)+ })
    };
}

/// The one row a [`OneStatement`] returns.
#[derive(diesel::QueryableByName)]
struct Returned {
    #[diesel(sql_type = diesel::sql_types::Array<BigInt>)]
    ids: Vec<i64>,
    #[diesel(sql_type = BigInt)]
    counted: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_and_cast_every_column() {
        assert_eq!(
            statement(
                "t",
                &[("id", "uuid"), ("timestamp", "timestamptz")],
                RowOrder::Any,
                3
            ),
            "INSERT INTO \"t\" (\"id\", \"timestamp\") SELECT * FROM unnest($3::uuid[], $4::timestamptz[]) WHERE @after@"
        );
        assert!(
            statement("t", &[("a", "text")], RowOrder::ArrayAfterXid, 1).ends_with(
                "WITH ORDINALITY AS v(\"a\", \"position\") \
                 WHERE pg_current_xact_id() IS NOT NULL AND @after@ ORDER BY \"position\""
            )
        );
    }
}
