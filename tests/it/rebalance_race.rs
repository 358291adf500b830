//! Two instances writing one partition's orders in a rebalance race: each
//! decides from what its cache knows, and the one whose knowledge is stale
//! is caught by the version check (or by a primary key) and applies its
//! batch again from fresh reads. Nothing is lost or doubled, every event's
//! sequence is the order's next. The apply stage alone: no broker.

use diesel::prelude::*;
use order_service::db::schema::orders;
use order_service::proto::order_event::Event;
use order_service::proto::{OrderCommand, PaymentStatus, RejectionCode};

use crate::helpers::*;

/// The order's item count, total and version as stored.
fn stored(stage: &ApplyStage, order: &str) -> (i32, i64, i64) {
    orders::table
        .filter(orders::id.eq(order.parse::<uuid::Uuid>().expect("a uuid")))
        .select((orders::item_count, orders::total_amount, orders::version))
        .first(&mut stage.db())
        .expect("the order")
}

/// The sequences of the order's events, in the order written.
fn sequences(stage: &ApplyStage, order: &str) -> Vec<u64> {
    stage
        .events()
        .iter()
        .filter(|e| e.order_id == order)
        .map(|e| e.sequence)
        .collect()
}

#[tokio::test]
async fn an_order_moved_by_another_instance_is_caught_by_its_version() {
    let stage = ApplyStage::new();
    let other = stage.another_instance();
    let order = new_id();
    let first = stage
        .apply(&[
            create_order(&order, "u-race"),
            add_item(&order, "sku-1", 1, 100),
        ])
        .await;
    assert_eq!(first.applied, 2, "{first:?}");

    // The partition moved, and back: the other instance wrote the order
    // meanwhile, so what the first one knows (version 2) is stale.
    let moved = stage
        .apply_as(&other, &[add_item(&order, "sku-2", 1, 20)])
        .await;
    assert_eq!(moved.applied, 1, "{moved:?}");
    assert_eq!(stored(&stage, &order), (2, 120, 3));

    let raced = stage.apply(&[add_item(&order, "sku-3", 1, 3)]).await;
    assert_eq!((raced.applied, raced.rejected), (1, 0), "{raced:?}");
    assert_eq!(raced.reapplied, Some("stale_order"), "{raced:?}");
    assert_eq!(stored(&stage, &order), (3, 123, 4), "no write lost");
    assert_eq!(
        sequences(&stage, &order),
        [1, 2, 3, 4],
        "no sequence doubled"
    );

    // Known again, from fresh reads: the next batch applies on it.
    let next = stage.apply(&[add_item(&order, "sku-4", 1, 4)]).await;
    assert_eq!(next.applied, 1, "{next:?}");
    assert_eq!((next.orders_known, next.orders_read), (1, 0), "{next:?}");
    assert_eq!(next.reapplied, None);
    assert_eq!(stored(&stage, &order), (4, 127, 5));
}

#[tokio::test]
async fn a_rejection_decided_on_a_stale_order_is_caught_too() {
    let stage = ApplyStage::new();
    let other = stage.another_instance();
    let order = new_id();
    stage
        .apply(&[
            create_order(&order, "u-race-reject"),
            add_item(&order, "sku-1", 1, 100),
        ])
        .await;
    // The other instance takes a payment the first does not know of.
    let paid = stage
        .apply_as(&other, &[process_payment(&order, 100, "tx-race-1")])
        .await;
    assert_eq!(paid.applied, 1, "{paid:?}");

    // From its cache alone the first would reject this (no such payment)
    // without changing the order: the order is checked all the same.
    let status = update_payment(&order, "tx-race-1", PaymentStatus::Completed);
    let outcome = stage.apply(std::slice::from_ref(&status)).await;
    assert_eq!((outcome.applied, outcome.rejected), (1, 0), "{outcome:?}");
    let answer = stage
        .events()
        .into_iter()
        .find(|e| e.command_id == status.command_id)
        .expect("the status change is answered");
    assert!(
        matches!(answer.event, Some(Event::PaymentStatusChanged(_))),
        "{answer:?}"
    );
    assert_eq!(sequences(&stage, &order), [1, 2, 3, 4]);
}

#[tokio::test]
async fn a_command_the_other_instance_processed_is_a_duplicate() {
    let stage = ApplyStage::new();
    let other = stage.another_instance();
    let order = new_id();
    stage
        .apply(&[
            create_order(&order, "u-race-dup"),
            add_item(&order, "sku-1", 2, 10),
        ])
        .await;
    // Rejected there (the wrong amount): the order's version does not
    // move, so only the command's primary key can tell.
    let paid = process_payment(&order, 99, "tx-race-dup");
    let there = stage.apply_as(&other, std::slice::from_ref(&paid)).await;
    assert_eq!(there.rejected, 1, "{there:?}");

    // Delivered again to the first instance, which knows the order but
    // never saw the command's id: it changes nothing, answered once.
    let again: Vec<OrderCommand> = vec![paid.clone(), add_item(&order, "sku-2", 1, 5)];
    let outcome = stage.apply(&again).await;
    assert_eq!((outcome.applied, outcome.duplicates), (1, 1), "{outcome:?}");
    assert_eq!(outcome.reapplied, Some("refused"), "{outcome:?}");
    assert_eq!(stored(&stage, &order), (2, 25, 3));
    let answers = stage
        .events()
        .iter()
        .filter(|e| e.command_id == paid.command_id)
        .count();
    assert_eq!(answers, 1, "answered once");
}

#[tokio::test]
async fn a_stale_order_beside_an_unknown_one_is_read_again() {
    let stage = ApplyStage::new();
    let other = stage.another_instance();
    let order = new_id();
    stage
        .apply(&[
            create_order(&order, "u-race-mixed"),
            add_item(&order, "sku-1", 1, 100),
        ])
        .await;
    stage
        .apply_as(&other, &[process_payment(&order, 100, "tx-race-mixed")])
        .await;
    // With an order it does not know, the batch locks both: the known one
    // is at another version than the cache's, so it is read, not taken
    // from the cache (which knows no payment).
    let status = update_payment(&order, "tx-race-mixed", PaymentStatus::Completed);
    let outcome = stage
        .apply(&[status, create_order(&new_id(), "u-race-mixed")])
        .await;
    assert_eq!((outcome.applied, outcome.rejected), (2, 0), "{outcome:?}");
    assert_eq!(
        (outcome.orders_known, outcome.orders_read),
        (0, 2),
        "{outcome:?}"
    );
}

/// Two orders of 10 known to `stage`, the first paid with `transaction_id`;
/// returns the second.
async fn two_orders_the_first_paid(stage: &ApplyStage, transaction_id: &str) -> String {
    let (one, two) = (new_id(), new_id());
    let outcome = stage
        .apply(&[
            create_order(&one, "u-race-tx"),
            create_order(&two, "u-race-tx"),
            add_item(&one, "sku-1", 1, 10),
            add_item(&two, "sku-1", 1, 10),
            process_payment(&one, 10, transaction_id),
        ])
        .await;
    assert_eq!(outcome.applied, 5, "{outcome:?}");
    two
}

#[tokio::test]
async fn a_transaction_id_taken_on_another_order_is_rejected() {
    let stage = ApplyStage::new();
    let two = two_orders_the_first_paid(&stage, "tx-race-taken").await;
    // Both orders are known; the taken id is read all the same (the batch
    // pays), and rejects it.
    let outcome = stage
        .apply(&[process_payment(&two, 10, "tx-race-taken")])
        .await;
    assert_eq!((outcome.applied, outcome.rejected), (0, 1), "{outcome:?}");
}

#[tokio::test]
async fn a_taken_transaction_id_is_the_rejection_on_a_known_order_as_on_a_read_one() {
    let stage = ApplyStage::new();
    let two = two_orders_the_first_paid(&stage, "tx-race-amount").await;
    // Taken and the wrong amount: the taken id is the answer (as when the
    // order is read), though no row is written that its key would refuse.
    let known = process_payment(&two, 99, "tx-race-amount");
    stage.apply(std::slice::from_ref(&known)).await;
    // The same, decided by an instance that reads the order.
    let read = process_payment(&two, 98, "tx-race-amount");
    stage
        .apply_as(&stage.another_instance(), std::slice::from_ref(&read))
        .await;
    let codes: Vec<Option<RejectionCode>> = [&known, &read]
        .iter()
        .map(|c| {
            stage
                .events()
                .iter()
                .find(|e| e.command_id == c.command_id)
                .and_then(rejection)
        })
        .collect();
    assert_eq!(
        codes,
        [
            Some(RejectionCode::ValidationFailed),
            Some(RejectionCode::ValidationFailed)
        ]
    );
}
