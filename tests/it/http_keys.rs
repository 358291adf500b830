//! Idempotency keys: a retry is answered, not applied twice; a key reused
//! for another body is refused.

use std::time::Duration;

use diesel::prelude::*;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{processed_count, spawn_app};
use crate::http_wait::{body, create_body};

#[tokio::test]
async fn an_idempotency_key_makes_a_retry_safe_and_a_reuse_an_error() {
    let mut app = spawn_app().await;
    let http = Client::new();
    let send = |key: &'static str, user: &'static str, wait: bool| {
        let mut request = http
            .post(app.url("/orders/create"))
            .header("idempotency-key", key)
            .json(&create_body(user));
        if wait {
            request = request.header("prefer", "wait=30");
        }
        request.send()
    };

    let first = send("\"checkout-7f3a-attempt\"", "u-key", true)
        .await
        .expect("first");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = body(first).await;
    // The same key and body: the same order, not a second one.
    let again = send("checkout-7f3a-attempt", "u-key", true)
        .await
        .expect("again");
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(body(again).await["id"], first["id"]);
    let without_wait = send("checkout-7f3a-attempt", "u-key", false)
        .await
        .expect("again, no wait");
    assert_eq!(without_wait.status(), StatusCode::ACCEPTED);
    let accepted = body(without_wait).await;
    assert_eq!(accepted["order_id"], first["id"]);
    // The key (not a UUID) was hashed to the command id.
    assert!(uuid::Uuid::parse_str(accepted["command_id"].as_str().unwrap()).is_ok());

    // The same key with another body.
    for wait in [true, false] {
        let reused = send("checkout-7f3a-attempt", "someone-else", wait)
            .await
            .expect("reuse");
        assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body(reused).await["error"]["code"],
            "idempotency_key_reused"
        );
    }
    // A key that cannot be one.
    let bad = http
        .post(app.url("/orders/create"))
        .header("idempotency-key", "")
        .json(&create_body("u"))
        .send()
        .await
        .expect("bad key");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(bad).await["error"]["code"], "invalid_idempotency_key");

    // One order, one event: the retries were not applied again.
    let events = app.events(1).await;
    assert_eq!(events.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(processed_count(&mut app.db()), 1);
    let count: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM orders)",
    ))
    .get_result(&mut app.db())
    .expect("count orders");
    assert_eq!(count, 1);
}

/// Found in review: a payment without `transaction_id` got a random one per
/// request, so a retry with the same Idempotency-Key looked like another
/// body.
#[tokio::test]
async fn a_keyed_payment_retry_without_a_transaction_id_is_the_same_command() {
    let app = spawn_app().await;
    let http = Client::new();
    let created = http
        .post(app.url("/orders/create"))
        .header("prefer", "wait=30")
        .json(&create_body("u-pay"))
        .send()
        .await
        .expect("create");
    let order_id = body(created).await["id"].as_str().unwrap().to_owned();
    let added = http
        .post(app.url(&format!("/orders/{order_id}/items/add")))
        .header("prefer", "wait=30")
        .json(&json!({"product_id": "p", "quantity": 2, "price_per_unit": 700}))
        .send()
        .await
        .expect("add");
    assert_eq!(added.status(), StatusCode::OK);
    let pay = || {
        http.post(app.url(&format!("/orders/{order_id}/payment")))
            .header("prefer", "wait=30")
            .header("idempotency-key", format!("pay-{order_id}"))
            .json(&json!({"amount": 1400, "payment_method": "card"}))
            .send()
    };
    let first = pay().await.expect("pay");
    assert_eq!(first.status(), StatusCode::OK);
    let first = body(first).await;
    let retry = pay().await.expect("pay again");
    assert_eq!(retry.status(), StatusCode::OK, "the retry is answered");
    let retry = body(retry).await;
    assert_eq!(first["payments"], retry["payments"]);
    assert_eq!(retry["payments"].as_array().unwrap().len(), 1);
}

/// Found in review (#22): a key reused with another body before the first
/// command was processed was answered 202 and published. Keys are claimed
/// when a request is accepted: while nothing can be processed (the orders
/// table is locked), requests racing with one key and two bodies get one
/// command id for the first body and 422 for the other, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_claimed_when_accepted_not_when_processed() {
    use diesel::connection::SimpleConnection;

    let mut app = spawn_app().await;
    let http = Client::new();
    let mut blocker = app.db();
    blocker
        .batch_execute("BEGIN; LOCK TABLE orders IN EXCLUSIVE MODE")
        .expect("hold the orders");
    let send = |user: &'static str| {
        http.post(app.url("/orders/create"))
            .header("idempotency-key", "checkout-claimed-early")
            .json(&create_body(user))
            .send()
    };
    let answers = futures_util::future::join_all(
        ["u-first", "u-other", "u-first", "u-other", "u-first"]
            .into_iter()
            .map(|user| async move { (user, send(user).await.expect("answered")) }),
    )
    .await;
    let mut accepted = std::collections::HashMap::new();
    let mut refused = Vec::new();
    for (user, response) in answers {
        match response.status() {
            StatusCode::ACCEPTED => {
                let answer = body(response).await;
                accepted.insert(answer["command_id"].as_str().unwrap().to_owned(), user);
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(
                    body(response).await["error"]["code"],
                    "idempotency_key_reused"
                );
                refused.push(user);
            }
            other => panic!("{user}: {other}"),
        }
    }
    assert_eq!(
        accepted.len(),
        1,
        "one command id for every accepted request: {accepted:?}"
    );
    let winner = *accepted.values().next().unwrap();
    assert!(
        !refused.is_empty() && refused.iter().all(|user| *user != winner),
        "{refused:?}"
    );
    assert_eq!(
        processed_count(&mut app.db()),
        0,
        "nothing processed meanwhile"
    );

    blocker.batch_execute("COMMIT").expect("release");
    let events = app.events(1).await.to_vec();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(processed_count(&mut app.db()), 1, "{events:?}");
    app.stop().await;
}
