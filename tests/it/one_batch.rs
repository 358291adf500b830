//! A batch is one transaction, written in one statement, whatever its
//! commands touch: a payment that failed and the payment that replaces it
//! (one active payment per order, checked row by row) commit together.
//! The apply stage alone: no broker.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use order_service::proto::{OrderCommand, PaymentStatus};

use crate::helpers::*;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many transactions wrote the `processed_commands` rows of `commands`.
fn writers(conn: &mut PgConnection, commands: &[OrderCommand]) -> i64 {
    let ids: Vec<String> = commands.iter().map(|c| c.command_id.clone()).collect();
    diesel::sql_query(
        "SELECT count(DISTINCT xmin::text) AS n FROM processed_commands \
         WHERE command_id::text = ANY($1)",
    )
    .bind::<Array<Text>, _>(ids)
    .get_result::<Count>(conn)
    .expect("count the writers")
    .n
}

#[tokio::test]
async fn a_failed_payment_and_its_replacement_commit_in_one_batch() {
    let stage = ApplyStage::new();
    let order = new_id();
    let first = stage
        .apply(&[
            create_order(&order, "u-one-batch"),
            add_item(&order, "sku-1", 1, 100),
            process_payment(&order, 100, "tx-one-batch-1"),
        ])
        .await;
    assert_eq!((first.applied, first.rejected), (3, 0), "{first:?}");

    // The failure of the first payment and the second payment, together.
    let second = [
        update_payment(&order, "tx-one-batch-1", PaymentStatus::Failed),
        process_payment(&order, 100, "tx-one-batch-2"),
    ];
    let outcome = stage.apply(&second).await;
    assert_eq!((outcome.applied, outcome.rejected), (2, 0), "{outcome:?}");
    let mut conn = stage.db();
    assert_eq!(writers(&mut conn, &second), 1, "one transaction");

    let payments: Vec<(String, String)> = order_service::db::schema::payments::table
        .select((
            order_service::db::schema::payments::transaction_id,
            order_service::db::schema::payments::status,
        ))
        .order(order_service::db::schema::payments::created_at)
        .load(&mut conn)
        .expect("read the payments");
    assert_eq!(
        payments,
        [
            ("tx-one-batch-1".to_owned(), "failed".to_owned()),
            ("tx-one-batch-2".to_owned(), "pending".to_owned()),
        ]
    );
}
