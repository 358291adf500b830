//! `INSERT … SELECT FROM unnest(arrays)`: any number of rows in one
//! statement with one bind per column, so a batch's writes cost one round
//! trip per table. [`insert_unnest!`](crate::insert_unnest) generates the
//! statement and its binds from one column list, and the compiler checks
//! each column against `schema.rs`: it must exist on the table, with the
//! SQL type that is bound.

use std::marker::PhantomData;

use diesel::sql_types::{
    BigInt, Binary, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
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

/// The statement for `columns` (name, PostgreSQL type) of `table`; with
/// `ordered`, rows are inserted in array order (a serial id follows it).
pub fn statement(table: &str, columns: &[(&str, &str)], ordered: bool) -> String {
    let names: Vec<String> = columns
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    let names = names.join(", ");
    let arrays: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, pg))| format!("${}::{pg}[]", i + 1))
        .collect();
    let arrays = arrays.join(", ");
    if ordered {
        format!(
            "INSERT INTO \"{table}\" ({names}) SELECT {names} FROM unnest({arrays}) \
             WITH ORDINALITY AS v({names}, \"position\") ORDER BY \"position\""
        )
    } else {
        format!("INSERT INTO \"{table}\" ({names}) SELECT * FROM unnest({arrays})")
    }
}

/// `insert_unnest!(conn, rows, table { column: SqlType = |row| value, … })`
/// (or `table ordered { … }`): inserts `rows` in one statement and returns
/// how many; nothing when there are none. `table ordered returning ids
/// { … }` returns the ids (a `bigserial id`) the rows were given, in row
/// order.
#[macro_export]
macro_rules! insert_unnest {
    (@run $conn:expr, $rows:expr, $table:ident, $ordered:expr, $mode:ident,
     { $($column:ident : $sql:ty = |$row:ident| $value:expr),+ $(,)? }) => {{
        $(
            $crate::db::models::unnest::same_sql_type(
                ::std::marker::PhantomData::<
                    <$crate::db::schema::$table::$column as ::diesel::Expression>::SqlType,
                >,
                ::std::marker::PhantomData::<$sql>,
            );
        )+
        let rows = $rows;
        if rows.is_empty() {
            Ok(::std::default::Default::default())
        } else {
            let sql = $crate::db::models::unnest::statement(
                stringify!($table),
                &[$((
                    stringify!($column),
                    <$sql as $crate::db::models::unnest::PgName>::NAME,
                )),+],
                $ordered,
            );
            $crate::insert_unnest!(@finish $mode, $conn, sql
                $(, ::diesel::sql_types::Array<$sql>, rows.iter().map(|$row| $value).collect::<Vec<_>>())+)
        }
    }};
    (@finish count, $conn:expr, $sql:expr $(, $array:ty, $values:expr)+) => {
        ::diesel::RunQueryDsl::execute(
            ::diesel::sql_query($sql)$(.bind::<$array, _>($values))+,
            $conn,
        )
    };
    (@finish ids, $conn:expr, $sql:expr $(, $array:ty, $values:expr)+) => {
        ::diesel::RunQueryDsl::load::<$crate::db::models::unnest::ReturnedId>(
            ::diesel::sql_query(format!("{} RETURNING id", $sql))$(.bind::<$array, _>($values))+,
            $conn,
        )
        .map(|returned| {
            // Ids come from the sequence in insertion (row) order.
            let mut ids: Vec<i64> = returned.into_iter().map(|r| r.id).collect();
            ids.sort_unstable();
            ids
        })
    };
    ($conn:expr, $rows:expr, $table:ident ordered returning ids { $($body:tt)+ }) => {
        $crate::insert_unnest!(@run $conn, $rows, $table, true, ids, { $($body)+ })
    };
    ($conn:expr, $rows:expr, $table:ident ordered { $($body:tt)+ }) => {
        $crate::insert_unnest!(@run $conn, $rows, $table, true, count, { $($body)+ })
    };
    ($conn:expr, $rows:expr, $table:ident { $($body:tt)+ }) => {
        $crate::insert_unnest!(@run $conn, $rows, $table, false, count, { $($body)+ })
    };
}

/// A row of `RETURNING id`.
#[derive(diesel::QueryableByName)]
pub struct ReturnedId {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_and_cast_every_column() {
        assert_eq!(
            statement("t", &[("id", "uuid"), ("timestamp", "timestamptz")], false),
            "INSERT INTO \"t\" (\"id\", \"timestamp\") SELECT * FROM unnest($1::uuid[], $2::timestamptz[])"
        );
        assert!(
            statement("t", &[("a", "text")], true)
                .ends_with("WITH ORDINALITY AS v(\"a\", \"position\") ORDER BY \"position\"")
        );
    }
}
