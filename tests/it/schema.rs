//! The schema backs the rules up: rows that break them are refused by
//! CHECK constraints, keys and indexes, whatever code writes them.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use crate::helpers::spawn_env_with;

const ORDER: &str = "11111111-1111-4111-8111-111111111111";

fn insert_order(status: &str, payment_status: &str, total: i64, currency: &str) -> String {
    format!(
        "INSERT INTO orders (id, user_id, status, payment_status, total_amount, currency, shipping_address) \
         VALUES (gen_random_uuid(), 'u', '{status}', '{payment_status}', {total}, '{currency}', 'addr')"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_that_break_the_rules_are_refused() {
    let app = spawn_env_with(|_| {}).await;
    let mut conn = app.db();
    diesel::sql_query(format!(
        "INSERT INTO orders (id, user_id, currency, shipping_address) VALUES ('{ORDER}', 'u', 'EUR', 'addr')"
    ))
    .execute(&mut conn)
    .expect("a valid order is accepted");
    diesel::sql_query(format!(
        "INSERT INTO payments (id, order_id, amount, payment_method, transaction_id) \
         VALUES (gen_random_uuid(), '{ORDER}', 0, 'card', 'tx-1')"
    ))
    .execute(&mut conn)
    .expect("a valid payment is accepted");

    let item = |quantity: i32, price: i64, total: i64, order: &str| {
        format!(
            "INSERT INTO order_items (id, order_id, product_id, quantity, price_per_unit, total_price) \
             VALUES (gen_random_uuid(), '{order}', 'sku', {quantity}, {price}, {total})"
        )
    };
    let cases = [
        (
            "unknown order status",
            insert_order("lost", "pending", 0, "EUR"),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "unknown payment status",
            insert_order("pending", "maybe", 0, "EUR"),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "negative total",
            insert_order("pending", "pending", -1, "EUR"),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "lower-case currency",
            insert_order("pending", "pending", 0, "eur"),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "confirmed but unpaid",
            insert_order("confirmed", "pending", 0, "EUR"),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "zero quantity",
            item(0, 100, 0, ORDER),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "negative price",
            item(1, -5, -5, ORDER),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "total not quantity × price",
            item(2, 100, 150, ORDER),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "item of a missing order",
            item(1, 1, 1, "22222222-2222-4222-8222-222222222222"),
            DatabaseErrorKind::ForeignKeyViolation,
        ),
        (
            "second active payment",
            format!(
                "INSERT INTO payments (id, order_id, amount, payment_method, transaction_id) \
                 VALUES (gen_random_uuid(), '{ORDER}', 0, 'card', 'tx-2')"
            ),
            DatabaseErrorKind::UniqueViolation,
        ),
        (
            "reused transaction id",
            format!(
                "INSERT INTO payments (id, order_id, amount, payment_method, status, transaction_id) \
                 VALUES (gen_random_uuid(), '{ORDER}', 0, 'card', 'failed', 'tx-1')"
            ),
            DatabaseErrorKind::UniqueViolation,
        ),
        (
            "history with an unknown status",
            format!(
                "INSERT INTO order_status_history (id, order_id, status, command_id) \
                 VALUES (gen_random_uuid(), '{ORDER}', 'lost', gen_random_uuid())"
            ),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "rejected command without a code",
            "INSERT INTO processed_commands (command_id, order_id, outcome) \
             VALUES (gen_random_uuid(), gen_random_uuid(), 'rejected')"
                .to_owned(),
            DatabaseErrorKind::CheckViolation,
        ),
        (
            "blank user id",
            "INSERT INTO orders (id, user_id, currency, shipping_address) \
             VALUES (gen_random_uuid(), '  ', 'EUR', 'addr')"
                .to_owned(),
            DatabaseErrorKind::CheckViolation,
        ),
    ];
    for (what, sql, expected) in cases {
        match diesel::sql_query(&sql).execute(&mut conn) {
            Err(Error::DatabaseError(kind, info)) => {
                assert_eq!(
                    std::mem::discriminant(&kind),
                    std::mem::discriminant(&expected),
                    "{what}: {}",
                    info.message()
                );
            }
            other => panic!("{what} was not refused: {other:?}"),
        }
    }
}
