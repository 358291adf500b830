//! `order_items`: the items of an order, priced when added (total price
//! computed by the rules, never by the client).

use diesel::prelude::*;
use uuid::Uuid;

use diesel::sql_types::{BigInt, Integer, Text, Uuid as SqlUuid};

use super::unnest::OneStatement;
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
}

impl NewOrderItem {
    /// Adds the insert of `rows` to `one` (see `NewOrder::add_to`).
    pub fn add_to<'a>(one: &mut OneStatement<'a>, rows: &'a [NewOrderItem]) {
        crate::insert_unnest!(
            one,
            rows,
            order_items {
                id: SqlUuid = |r| r.id,
                order_id: SqlUuid = |r| r.order_id,
                product_id: Text = |r| r.product_id.as_str(),
                quantity: Integer = |r| r.quantity,
                price_per_unit: BigInt = |r| r.price_per_unit,
                total_price: BigInt = |r| r.total_price,
            }
        )
    }
}
