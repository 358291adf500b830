//! Records that cannot be commands go to the dead-letter topic with their
//! key, bytes and headers kept and the error headers added; the partition
//! moves on. JSON commands (`content-type: application/json`) are accepted.

use order_service::proto::order_event::Event;
use rdkafka::Message;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_bytes_are_dead_lettered_and_the_partition_moves_on() {
    let mut app = spawn_app().await;
    let order_id = new_id();
    let poison = [0xde, 0xad, 0xbe, 0xef, 0xff, 0x00];
    // Same key as the valid command after it: same partition.
    app.send_raw(Some(order_id.as_bytes()), &poison, &[("trace-id", "abc")])
        .await;
    app.send(&create_order(&order_id, "user-1")).await;

    let events = app.events(1).await;
    assert_eq!(events[0].order_id, order_id);
    assert!(matches!(events[0].event, Some(Event::OrderCreated(_))));

    let letters = app.dead_letters(1).await;
    let letter = &letters[0];
    assert_eq!(letter.key(), Some(order_id.as_bytes()));
    assert_eq!(letter.payload(), Some(&poison[..]));
    let headers = headers_of(letter);
    assert_eq!(
        headers.get("trace-id").map(String::as_str),
        Some("abc"),
        "original headers kept"
    );
    assert_eq!(
        headers.get("original_topic"),
        Some(&app.settings.kafka.commands_topic)
    );
    let partition: i32 = headers["original_partition"].parse().unwrap();
    assert!((0..PARTITIONS).contains(&partition));
    let offset: i64 = headers["original_offset"].parse().unwrap();
    assert!(offset >= 0);
    assert!(
        headers["error"].contains("not a protobuf OrderCommand"),
        "{}",
        headers["error"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_commands_are_accepted_and_bad_ones_dead_lettered() {
    let mut app = spawn_app().await;
    let order_id = new_id();
    let command_id = new_id();
    let json = [("content-type", "application/json")];
    let key = Some(order_id.as_bytes());
    let good = format!(
        r#"{{"commandId":"{command_id}","orderId":"{order_id}","createOrder":{{"userId":"u-json","shippingAddress":"2 Side St","currency":"USD"}}}}"#
    );
    let no_oneof = format!(r#"{{"commandId":"{}","orderId":"{order_id}"}}"#, new_id());
    let bad_uuid = r#"{"commandId":"nope","orderId":"x","createOrder":{}}"#;
    app.send_raw(key, b"{not json", &json).await;
    app.send_raw(key, no_oneof.as_bytes(), &json).await;
    app.send_raw(key, bad_uuid.as_bytes(), &json).await;
    app.send_raw(key, good.as_bytes(), &json).await;

    let events = app.events(1).await;
    assert_eq!(events[0].command_id, command_id);
    let Some(Event::OrderCreated(created)) = &events[0].event else {
        panic!("expected OrderCreated");
    };
    let order = created.order.as_ref().unwrap();
    assert_eq!(
        (order.user_id.as_str(), order.currency.as_str()),
        ("u-json", "USD")
    );

    let letters = app.dead_letters(3).await;
    let mut errors: Vec<String> = letters
        .iter()
        .map(|l| headers_of(l)["error"].clone())
        .collect();
    errors.sort();
    assert!(
        errors[0].contains("command_id \"nope\" is not a UUID"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("not an OrderCommand in the protobuf JSON mapping"),
        "{errors:?}"
    );
    assert!(
        errors[2].contains("the command oneof is not set"),
        "{errors:?}"
    );
    app.stop().await;
}

/// A record near the size limit cannot be dead-lettered with its bytes (the
/// added headers push it over): it goes without them, and the partition
/// moves on instead of retrying forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_too_large_for_its_topic_goes_without_its_payload() {
    let mut app = spawn_app().await;
    let order_id = new_id();
    // librdkafka's default message.max.bytes is 1,000,000, counting key,
    // payload and headers: this fits with its key, not with the ~200 bytes
    // of headers a dead letter adds.
    let poison = vec![0xff_u8; 999_850];
    app.send_raw(Some(order_id.as_bytes()), &poison, &[]).await;
    app.send(&create_order(&order_id, "user-1")).await;

    let events = app.events(1).await;
    assert_eq!(events[0].order_id, order_id, "the partition moved on");
    let letters = app.dead_letters(1).await;
    let letter = &letters[0];
    assert_eq!(letter.key(), Some(order_id.as_bytes()));
    assert!(
        letter.payload().is_none(),
        "payload of {} bytes kept",
        letter.payload().map_or(0, <[u8]>::len)
    );
    let headers = headers_of(letter);
    assert_eq!(
        headers.get("dlq_dropped").map(String::as_str),
        Some("payload (999850 bytes)"),
        "the dead letter says what was cut"
    );
    app.stop().await;
}

/// Without a key, per-order order cannot hold: such a command is
/// dead-lettered. A key other than the order id still works, and is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyless_command_is_dead_lettered_and_a_wrong_key_counted() {
    use prost::Message as _;

    let mut app = spawn_app().await;
    let keyless = create_order(&new_id(), "user-keyless");
    app.send_raw(None, &keyless.encode_to_vec(), &[]).await;
    let order_id = new_id();
    let wrong_key = create_order(&order_id, "user-wrong-key");
    app.send_raw(Some(b"not-the-order-id"), &wrong_key.encode_to_vec(), &[])
        .await;
    app.send_raw(
        Some(b"not-the-order-id"),
        &add_item(&order_id, "sku-1", 1, 5).encode_to_vec(),
        &[],
    )
    .await;

    let events = app.events(2).await.to_vec();
    assert!(events.iter().all(|e| e.order_id == order_id), "{events:?}");
    assert!(events.iter().all(|e| rejection(e).is_none()), "{events:?}");
    let letters = app.dead_letters(1).await;
    let headers = headers_of(&letters[0]);
    assert!(headers["error"].contains("no key"), "{}", headers["error"]);
    assert_eq!(letters[0].key(), None);
    let lines = [
        "order_service_commands_key_mismatch_total 2",
        r#"order_service_commands_dead_lettered_total{reason="no_key"} 1"#,
    ];
    let metrics = app.metrics_with(&lines).await;
    for line in lines {
        assert!(
            metrics.contains(line),
            "{line} in
{metrics}"
        );
    }
    app.stop().await;
}
