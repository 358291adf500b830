//! `order_items`: the items of an order, priced when added (total price
//! computed by the rules, never by the client).

use diesel::prelude::*;
use uuid::Uuid;

use diesel::sql_types::{Array, BigInt, Integer, Text, Uuid as SqlUuid};

use crate::db::schema::order_items;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = order_items, check_for_backend(diesel::pg::Pg))]
pub struct OrderItem {
    pub id: Uuid,
    pub order_id: Uuid,
    pub product_id: String,
    pub quantity: i32,
    pub price_per_unit: i64,
    pub total_price: i64,
}

#[derive(Debug, Clone)]
pub struct NewOrderItem {
    pub id: Uuid,
    pub order_id: Uuid,
    pub product_id: String,
    pub quantity: i32,
    pub price_per_unit: i64,
    pub total_price: i64,
}

impl OrderItem {
    pub fn for_order(conn: &mut PgConnection, order_id: Uuid) -> QueryResult<Vec<OrderItem>> {
        order_items::table
            .filter(order_items::order_id.eq(order_id))
            .order(order_items::id)
            .select(OrderItem::as_select())
            .load(conn)
    }

    /// `(order_id, number of items)` for those of the given orders that have items.
    pub fn count_by_order(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<(Uuid, i64)>> {
        order_items::table
            .filter(order_items::order_id.eq_any(ids))
            .group_by(order_items::order_id)
            .select((order_items::order_id, diesel::dsl::count_star()))
            .load(conn)
    }
}

impl NewOrderItem {
    /// One statement for any number of rows (see `NewOrder::insert_all`).
    pub fn insert_all(conn: &mut PgConnection, rows: &[NewOrderItem]) -> QueryResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::sql_query(
            "INSERT INTO order_items (id, order_id, product_id, quantity, price_per_unit, total_price) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::bigint[], $6::bigint[])",
        )
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(rows.iter().map(|r| r.order_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.product_id.as_str()).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(rows.iter().map(|r| r.quantity).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.price_per_unit).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.total_price).collect::<Vec<_>>())
        .execute(conn)
    }
}
