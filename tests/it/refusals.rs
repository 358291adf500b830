//! The schema refuses a command the rules let through. When the refusal is
//! the command's (a constraint its data breaks, while a known-good command
//! passes), it is answered with `VALIDATION_FAILED` naming the constraint,
//! and the rest of the order's commands apply. When the refusal is the
//! database's and ends while the service is judging it (between the
//! command's failure and the known-good command's pass), the command is
//! applied, not rejected. The apply stage alone: no broker.

use diesel::prelude::*;
use order_service::proto::{RejectionCode, order_event::Event};

use crate::helpers::*;

fn rejection_message(event: &order_service::proto::OrderEvent) -> &str {
    match &event.event {
        Some(Event::CommandRejected(r)) => &r.message,
        _ => "",
    }
}

#[tokio::test]
async fn a_constraint_the_commands_data_breaks_rejects_that_command_only() {
    let stage = ApplyStage::new();
    stage.execute(
        "ALTER TABLE order_items ADD CONSTRAINT no_forbidden_products \
         CHECK (product_id <> 'sku-forbidden') NOT VALID",
    );

    let order = new_id();
    let script = [
        create_order(&order, "user-1"),
        add_item(&order, "sku-1", 1, 100),
        add_item(&order, "sku-forbidden", 1, 100),
        add_item(&order, "sku-2", 2, 100),
    ];
    let outcome = stage.apply(&script).await;
    assert_eq!((outcome.applied, outcome.rejected), (3, 1), "{outcome:?}");
    let events = stage.events();
    assert_eq!(events.len(), script.len());

    let refused = events
        .iter()
        .find(|e| e.command_id == script[2].command_id)
        .expect("the refused command is answered");
    assert_eq!(rejection(refused), Some(RejectionCode::ValidationFailed));
    assert_eq!(
        rejection_message(refused),
        "refused by the database: it breaks a check constraint (no_forbidden_products)"
    );
    for command in [&script[0], &script[1], &script[3]] {
        let event = events
            .iter()
            .find(|e| e.command_id == command.command_id)
            .expect("answered");
        assert_eq!(rejection(event), None, "applied: {event:?}");
    }
}

/// A trigger that refuses the first two items inserted (23514, as a broken
/// constraint would), whatever they hold: its count lives in a sequence,
/// which no rollback takes back. The batch holding the item fails, then
/// the item alone fails; the known-good command the service then applies
/// passes, as the refusal has ended. Blaming the command now would reject
/// a good command for a fault of the database's that came and went.
#[tokio::test]
async fn a_refusal_that_ends_while_it_is_judged_rejects_nothing() {
    let stage = ApplyStage::new();
    stage.execute("CREATE SEQUENCE item_refusals");
    stage.execute(
        "CREATE FUNCTION refuse_two_items() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF nextval('item_refusals') <= 2 THEN
             RAISE EXCEPTION USING ERRCODE = '23514', MESSAGE = 'a passing fault';
           END IF;
           RETURN NEW;
         END $$",
    );
    stage.execute(
        "CREATE TRIGGER refuse_two_items BEFORE INSERT ON order_items
         FOR EACH ROW EXECUTE FUNCTION refuse_two_items()",
    );

    let order = new_id();
    let script = [
        create_order(&order, "user-1"),
        add_item(&order, "sku-1", 1, 100),
    ];
    let outcome = stage.apply(&script).await;
    assert_eq!((outcome.applied, outcome.rejected), (2, 0), "{outcome:?}");
    let events = stage.events();
    let item = events
        .iter()
        .find(|e| e.command_id == script[1].command_id)
        .expect("the item is answered");
    assert!(
        matches!(item.event, Some(Event::OrderItemAdded(_))),
        "applied, not rejected: {item:?}"
    );
    let refusals: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "last_value FROM item_refusals",
    ))
    .get_result(&mut stage.db())
    .unwrap();
    assert!(refusals > 2, "the fault was met: {refusals} inserts tried");
}

/// A refusal the schema defers to the commit (a deferrable constraint
/// trigger, as an operator may add one): judged one command at a time, it
/// must come up at the command's statement, not at the judging
/// transaction's commit, where it would fail the whole batch again and
/// again.
#[tokio::test]
async fn a_deferred_constraint_rejects_the_command_that_breaks_it() {
    let stage = ApplyStage::new();
    stage.execute(
        "CREATE FUNCTION refuse_forbidden() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.product_id = 'sku-forbidden' THEN
             RAISE EXCEPTION USING ERRCODE = '23514', MESSAGE = 'forbidden product';
           END IF;
           RETURN NULL;
         END $$",
    );
    stage.execute(
        "CREATE CONSTRAINT TRIGGER no_forbidden_products AFTER INSERT ON order_items
         DEFERRABLE INITIALLY DEFERRED
         FOR EACH ROW EXECUTE FUNCTION refuse_forbidden()",
    );

    let order = new_id();
    let script = [
        create_order(&order, "user-1"),
        add_item(&order, "sku-forbidden", 1, 100),
        add_item(&order, "sku-2", 2, 100),
    ];
    let outcome = stage.apply(&script).await;
    assert_eq!((outcome.applied, outcome.rejected), (2, 1), "{outcome:?}");
    let events = stage.events();
    let refused = events
        .iter()
        .find(|e| e.command_id == script[1].command_id)
        .expect("the refused command is answered");
    assert_eq!(rejection(refused), Some(RejectionCode::ValidationFailed));
}
