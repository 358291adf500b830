//! `orders`: one row per order, its status, payment status, total, item
//! count and version (the events' `sequence`); batches lock the rows they change
//! (`lock_many`) and write them back as parts of the batch's one statement
//! (see [`OneStatement`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use diesel::sql_types::{Array, BigInt, Bool, Integer, Text, Timestamptz, Uuid as SqlUuid};

use super::unnest::{AFTER, OneStatement};
use crate::db::schema::orders;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg))]
pub struct Order {
    pub id: Uuid,
    pub user_id: String,
    pub status: String,
    pub payment_status: String,
    pub total_amount: i64,
    pub currency: String,
    pub shipping_address: String,
    pub order_date: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub item_count: i32,
}

#[derive(Debug)]
pub struct NewOrder<'a> {
    pub id: Uuid,
    pub user_id: &'a str,
    pub status: &'a str,
    pub payment_status: &'a str,
    pub total_amount: i64,
    pub currency: &'a str,
    pub shipping_address: &'a str,
    pub order_date: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub item_count: i32,
}

/// The columns a command can change on an existing order, written only
/// over the version the batch decided on.
#[derive(Debug)]
pub struct OrderUpdate<'a> {
    pub id: Uuid,
    pub status: &'a str,
    pub payment_status: &'a str,
    pub total_amount: i64,
    pub version: i64,
    pub item_count: i32,
    /// The version the batch read: the row is written only while it has
    /// it (another writer moved it otherwise).
    pub read_version: i64,
    /// False for an order only decided on: its row is written as it is in
    /// the table (none of these values copied), to check its version and
    /// hold its lock to the commit.
    pub changed: bool,
}

impl Order {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Order>> {
        orders::table
            .find(id)
            .select(Order::as_select())
            .first(conn)
            .optional()
    }

    /// A page of a user's orders, newest first, starting after `after`
    /// (the `(order_date, id)` of the previous page's last order).
    pub fn page_for_user(
        conn: &mut PgConnection,
        user_id: &str,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> QueryResult<Vec<Order>> {
        let mut query = orders::table
            .filter(orders::user_id.eq(user_id))
            .order((orders::order_date.desc(), orders::id.desc()))
            .limit(limit)
            .select(Order::as_select())
            .into_boxed();
        if let Some((date, id)) = after {
            query = query.filter(
                orders::order_date
                    .lt(date)
                    .or(orders::order_date.eq(date).and(orders::id.lt(id))),
            );
        }
        query.load(conn)
    }

    /// Loads and row-locks the given orders, in id order so that concurrent
    /// batches lock in the same order and cannot deadlock. The transaction
    /// takes its transaction id here too, whether any order is found or
    /// not (a batch begun by [`OutboxMessage::writing`](super::OutboxMessage::writing)
    /// has it already; one nested in another transaction may not): its
    /// writes then hold the outbox's lock only with one (see
    /// [`OutboxMessage::oldest_writer`](super::OutboxMessage::oldest_writer)).
    pub fn lock_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Order>> {
        orders::table
            .filter(orders::id.eq_any(ids))
            // Without columns: checked once, before the first row, also
            // when no order is found. Keep the query sent for an empty
            // list too (diesel binds `= ANY($1)`; a `1=0` would fold it
            // away), or the transaction id comes later.
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "pg_current_xact_id() IS NOT NULL",
            ))
            .order(orders::id)
            .for_update()
            .select(Order::as_select())
            .load(conn)
    }

    /// Adds the update of many orders to `one` (nothing when there are
    /// none), as its counted part: an order whose row no longer has the
    /// version read is not written, and the count tells (see
    /// [`Ran::counted`](super::unnest::Ran::counted)).
    pub fn add_updates_to<'a>(
        one: &mut OneStatement<'a>,
        updates: &[OrderUpdate<'a>],
        at: DateTime<Utc>,
    ) {
        if updates.is_empty() {
            return;
        }
        let n = one.next_param();
        one.bind::<Array<SqlUuid>, _>(updates.iter().map(|u| u.id).collect::<Vec<_>>());
        one.bind::<Array<Text>, _>(updates.iter().map(|u| u.status).collect::<Vec<_>>());
        one.bind::<Array<Text>, _>(updates.iter().map(|u| u.payment_status).collect::<Vec<_>>());
        one.bind::<Array<BigInt>, _>(updates.iter().map(|u| u.total_amount).collect::<Vec<_>>());
        one.bind::<Array<BigInt>, _>(updates.iter().map(|u| u.version).collect::<Vec<_>>());
        one.bind::<Array<Integer>, _>(updates.iter().map(|u| u.item_count).collect::<Vec<_>>());
        one.bind::<Array<BigInt>, _>(updates.iter().map(|u| u.read_version).collect::<Vec<_>>());
        one.bind::<Array<Bool>, _>(updates.iter().map(|u| u.changed).collect::<Vec<_>>());
        one.bind::<Timestamptz, _>(at);
        one.add_counted(format!(
            "UPDATE orders AS o \
             SET status = CASE WHEN v.changed THEN v.status ELSE o.status END, \
                 payment_status = CASE WHEN v.changed THEN v.payment_status \
                                  ELSE o.payment_status END, \
                 total_amount = CASE WHEN v.changed THEN v.total_amount ELSE o.total_amount END, \
                 version = CASE WHEN v.changed THEN v.version ELSE o.version END, \
                 item_count = CASE WHEN v.changed THEN v.item_count ELSE o.item_count END, \
                 updated_at = CASE WHEN v.changed THEN ${at} ELSE o.updated_at END \
             FROM unnest(${n}::uuid[], ${}::text[], ${}::text[], ${}::bigint[], ${}::bigint[], \
                         ${}::int[], ${}::bigint[], ${}::bool[]) \
                  AS v(id, status, payment_status, total_amount, version, item_count, \
                       read_version, changed) \
             WHERE o.id = v.id AND o.version = v.read_version AND {AFTER}",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7,
            at = n + 8,
        ));
    }
}

impl NewOrder<'_> {
    /// Adds the insert of `rows` to `one`: `INSERT … SELECT FROM
    /// unnest(arrays)`, one bind per column whatever the number of rows.
    pub fn add_to<'a>(one: &mut OneStatement<'a>, rows: &[NewOrder<'a>]) {
        crate::insert_unnest!(
            one,
            rows,
            orders {
                id: SqlUuid = |r| r.id,
                user_id: Text = |r| r.user_id,
                status: Text = |r| r.status,
                payment_status: Text = |r| r.payment_status,
                total_amount: BigInt = |r| r.total_amount,
                currency: Text = |r| r.currency,
                shipping_address: Text = |r| r.shipping_address,
                order_date: Timestamptz = |r| r.order_date,
                updated_at: Timestamptz = |r| r.updated_at,
                version: BigInt = |r| r.version,
                item_count: Integer = |r| r.item_count,
            }
        )
    }
}
