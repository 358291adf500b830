//! Hostile input through the real broker: random bytes, truncated and
//! oversized messages, invalid ids, unknown enum values, out-of-range
//! numbers, huge strings, a missing oneof. Each ends as a dead letter or a
//! `CommandRejected` event; no row is written for them; the partitions go on.

use diesel::prelude::*;
use order_service::db::schema::orders;
use order_service::proto::{self, RejectionCode, order_command::Command};
use prost::Message as _;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_records_end_as_dead_letters_or_rejections() {
    let mut app = spawn_app().await;
    let mut rng = fastrand::Rng::with_seed(42);

    // Records that must be dead-lettered.
    let mut poison: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            (0..rng.usize(1..200 * (i + 1)))
                .map(|_| rng.u8(..))
                .collect()
        })
        .collect();
    let mut bad_ids = create_order(&new_id(), "u");
    bad_ids.order_id = "12345".into();
    let mut no_oneof = create_order(&new_id(), "u");
    no_oneof.command = None;
    let mut nil_like = create_order(&new_id(), "u");
    nil_like.command_id = "not-a-uuid-at-all".into();
    let truncated = create_order(&new_id(), "u").encode_to_vec();
    poison.push(bad_ids.encode_to_vec());
    poison.push(no_oneof.encode_to_vec());
    poison.push(nil_like.encode_to_vec());
    poison.push(truncated[..truncated.len() / 2].to_vec());

    // Records that decode but break a rule: VALIDATION_FAILED.
    let order = new_id();
    let huge = "h".repeat(200_000);
    let invalid = vec![
        create_order(&order, &huge),
        command(
            &order,
            Command::CreateOrder(proto::CreateOrder {
                user_id: "u".into(),
                shipping_address: "a".into(),
                currency: "€€€".into(),
            }),
        ),
        add_item(&order, "sku", 0, 100),
        add_item(&order, "sku", -3, 100),
        add_item(&order, "sku", i32::MIN, i64::MIN),
        add_item(&order, "sku", 1, -1),
        add_item(&order, &huge, 1, 1),
        process_payment(&order, -10, "tx"),
        command(
            &order,
            Command::UpdateOrderStatus(proto::UpdateOrderStatus {
                status: 99,
                reason: String::new(),
            }),
        ),
        command(
            &order,
            Command::UpdatePaymentStatus(proto::UpdatePaymentStatus {
                transaction_id: "tx".into(),
                status: -7,
            }),
        ),
    ];

    for bytes in &poison {
        let key = new_id();
        app.send_raw(Some(key.as_bytes()), bytes, &[]).await;
    }
    app.send_all(&invalid).await;
    // Valid commands after all of it, on every partition.
    let markers: Vec<_> = (0..12).map(|_| create_order(&new_id(), "marker")).collect();
    app.send_all(&markers).await;

    app.events(invalid.len() + markers.len()).await;
    for command in &invalid {
        let event = app
            .received
            .iter()
            .find(|e| e.command_id == command.command_id)
            .expect("an event for every decodable command");
        assert_eq!(
            rejection(event),
            Some(RejectionCode::ValidationFailed),
            "{event:?}"
        );
    }
    for marker in &markers {
        assert!(
            app.received
                .iter()
                .any(|e| e.command_id == marker.command_id && rejection(e).is_none())
        );
    }
    let letters = app.dead_letters(poison.len()).await;
    assert_eq!(letters.len(), poison.len());

    let mut conn = app.db();
    let rows: i64 = orders::table.count().get_result(&mut conn).unwrap();
    assert_eq!(rows, markers.len() as i64, "only the markers made orders");
    app.stop().await;
}
