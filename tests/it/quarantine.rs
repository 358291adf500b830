//! A command the database keeps refusing, for a reason the rules did not
//! foresee, is quarantined: after a few failed attempts its batch is applied
//! command by command, the failing command is dead-lettered with the
//! reason, and everything else in its batch and partition is applied, once.
//! The failure here is a trigger raising SQLSTATE 22003 with a German
//! message: nothing may depend on the message's words or language.

use diesel::prelude::*;
use order_service::db::schema::{orders, processed_commands};
use order_service::proto::{OrderCommand, RejectionCode, order_event::Event};
use prost::Message as _;
use rdkafka::Message as _;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_the_database_keeps_refusing_is_quarantined_and_the_rest_applied() {
    let mut app = spawn_app().await;
    let mut conn = app.db();
    diesel::sql_query(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.user_id = 'poison-user' THEN
             RAISE EXCEPTION USING ERRCODE = '22003',
               MESSAGE = 'Wert liegt außerhalb des gültigen Bereichs';
           END IF;
           RETURN NEW;
         END $$",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON orders
         FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
    )
    .execute(&mut conn)
    .unwrap();

    let poison_order = new_id();
    let poison = create_order(&poison_order, "poison-user");
    let same_key = Some(poison_order.as_bytes());
    // Before and after it on its partition (same key), and elsewhere.
    let before: Vec<OrderCommand> = (0..5).map(|_| create_order(&new_id(), "user-ok")).collect();
    let after: Vec<OrderCommand> = (0..5).map(|_| create_order(&new_id(), "user-ok")).collect();
    let elsewhere: Vec<OrderCommand> = (0..10)
        .map(|_| create_order(&new_id(), "user-ok"))
        .collect();
    for command in &before {
        app.send_raw(same_key, &command.encode_to_vec(), &[]).await;
    }
    // Its own header: the dead letter is the record as it came.
    app.send_raw(
        same_key,
        &poison.encode_to_vec(),
        &[("origin", "upstream-7")],
    )
    .await;
    let follow_up = add_item(&poison_order, "sku-1", 1, 100);
    app.send(&follow_up).await;
    for command in &after {
        app.send_raw(same_key, &command.encode_to_vec(), &[]).await;
    }
    app.send_all(&elsewhere).await;

    let good: Vec<&OrderCommand> = before.iter().chain(&after).chain(&elsewhere).collect();
    let expected = good.len() + 1;
    let events = app.events(expected).await.to_vec();
    for command in &good {
        let created: Vec<_> = events
            .iter()
            .filter(|e| e.command_id == command.command_id)
            .collect();
        assert_eq!(created.len(), 1, "{} applied once", command.order_id);
        assert!(matches!(created[0].event, Some(Event::OrderCreated(_))));
    }
    // The order never came to be, so its follow-up is answered as such.
    let answer = events
        .iter()
        .find(|e| e.command_id == follow_up.command_id)
        .expect("the follow-up is answered");
    assert_eq!(rejection(answer), Some(RejectionCode::OrderNotFound));
    assert!(events.iter().all(|e| e.command_id != poison.command_id));

    let letters = app.dead_letters(1).await;
    let letter = &letters[0];
    let headers = headers_of(letter);
    assert!(
        headers["error"].starts_with("quarantined:"),
        "{}",
        headers["error"]
    );
    assert_eq!(letter.key(), Some(poison_order.as_bytes()));
    let replayable = OrderCommand::decode(letter.payload().unwrap()).unwrap();
    assert_eq!(replayable, poison, "the dead letter is the command itself");
    assert_eq!(headers["original_topic"], app.settings.kafka.commands_topic);
    assert_eq!(headers["origin"], "upstream-7", "the original headers stay");

    let rows: i64 = orders::table.count().get_result(&mut conn).unwrap();
    assert_eq!(rows, good.len() as i64, "every other order, once");
    let processed: i64 = processed_commands::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(
        processed, expected as i64,
        "the quarantined command is not recorded"
    );
    let line = r#"order_service_commands_dead_lettered_total{reason="quarantined"} 1"#;
    let metrics = app.metrics_with(&[line]).await;
    assert!(metrics.contains(line), "{metrics}");
    app.stop().await;
}
