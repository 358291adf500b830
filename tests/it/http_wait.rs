//! Answers that wait (`Prefer: wait`), `GET /commands/{id}`, the request id
//! as correlation id, and the trace context carried from the request to the
//! events.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_id, spawn_app, spawn_app_with};

pub(crate) async fn body(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

pub(crate) fn create_body(user: &str) -> Value {
    json!({"user_id": user, "shipping_address": "1 Main St", "currency": "EUR"})
}

async fn get_order(app: &TestApp, order_id: &str) -> Value {
    body(
        Client::new()
            .get(app.url(&format!("/orders/{order_id}")))
            .send()
            .await
            .expect("GET order"),
    )
    .await
}

#[tokio::test]
async fn a_command_that_waits_answers_with_its_outcome() {
    let app = spawn_app().await;
    let http = Client::new();

    let created = http
        .post(app.url("/orders/create"))
        .header("prefer", "wait=30")
        .json(&create_body("u-wait"))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["preference-applied"], "wait");
    let location = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let order = body(created).await;
    let order_id = order["id"].as_str().expect("id").to_owned();
    assert_eq!(location, format!("/orders/{order_id}"));
    assert_eq!(order["status"], "pending");
    assert_eq!(order["version"], 1);
    assert_eq!(
        order,
        get_order(&app, &order_id).await,
        "the same JSON as GET"
    );

    let added = http
        .post(app.url(&format!("/orders/{order_id}/items/add")))
        .header("prefer", "respond-async, wait=30")
        .json(&json!({"product_id": "p-1", "quantity": 3, "price_per_unit": 500}))
        .send()
        .await
        .expect("add item");
    assert_eq!(added.status(), StatusCode::OK);
    assert_eq!(added.headers()["preference-applied"], "wait");
    let order = body(added).await;
    assert_eq!(order["total_amount"], 1500);
    assert_eq!(order["items"][0]["product_id"], "p-1");

    // A rule broken: 422 with the rejection code.
    let rejected = http
        .patch(app.url(&format!("/orders/{order_id}/status")))
        .header("prefer", "wait=30")
        .json(&json!({"status": "delivered"}))
        .send()
        .await
        .expect("update status");
    assert_eq!(rejected.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rejected.headers()["preference-applied"], "wait");
    let error = body(rejected).await;
    assert_eq!(error["error"]["code"], "INVALID_TRANSITION", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("delivered")),
        "{error}"
    );

    // Without Prefer: 202 as before, no Preference-Applied.
    let plain = http
        .post(app.url(&format!("/orders/{order_id}/items/add")))
        .json(&json!({"product_id": "p-2", "quantity": 1, "price_per_unit": 1}))
        .send()
        .await
        .expect("add item");
    assert_eq!(plain.status(), StatusCode::ACCEPTED);
    assert!(!plain.headers().contains_key("preference-applied"));
}

#[tokio::test]
async fn a_wait_that_runs_out_answers_202_and_the_outcome_can_be_asked_later() {
    let app = spawn_app_with(|s| s.database.lock_timeout_ms = 30_000).await;
    let http = Client::new();
    let created = http
        .post(app.url("/orders/create"))
        .header("prefer", "wait=30")
        .json(&create_body("u-late"))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let order_id = body(created).await["id"].as_str().unwrap().to_owned();

    // Hold the order's row lock: its next command cannot be applied.
    let mut blocker = app.db();
    blocker
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM orders WHERE id = '{order_id}' FOR UPDATE"
        ))
        .expect("lock the order");
    let command_id = new_id();
    let started = Instant::now();
    let waited = http
        .post(app.url(&format!("/orders/{order_id}/items/add")))
        .header("prefer", "wait=1")
        .json(&json!({"product_id": "p", "quantity": 1, "price_per_unit": 10, "command_id": command_id}))
        .send()
        .await
        .expect("add item");
    let took = started.elapsed();
    assert_eq!(waited.status(), StatusCode::ACCEPTED);
    assert_eq!(waited.headers()["preference-applied"], "wait");
    assert!(took >= Duration::from_secs(1), "waited {took:?}");
    assert!(took < Duration::from_secs(5), "waited {took:?}");
    assert_eq!(body(waited).await["command_id"], command_id.as_str());

    let outcome = |id: String| {
        let http = http.clone();
        let url = app.url(&format!("/commands/{id}"));
        async move { http.get(url).send().await.expect("GET command") }
    };
    let pending = outcome(command_id.clone()).await;
    assert_eq!(pending.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(pending).await["error"]["code"], "not_found");

    blocker.batch_execute("ROLLBACK").expect("release the lock");
    let deadline = Instant::now() + Duration::from_secs(60);
    let view = loop {
        let response = outcome(command_id.clone()).await;
        if response.status() == StatusCode::OK {
            break body(response).await;
        }
        assert!(Instant::now() < deadline, "the command was not processed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(view["command_id"], command_id.as_str());
    assert_eq!(view["order_id"], order_id.as_str());
    assert_eq!(view["outcome"], "applied");
    assert_eq!(view["rejection_code"], Value::Null);
    assert_eq!(view["event"]["event_type"], "orders.v1.OrderItemAdded");
    assert!(view["event"]["event_id"].is_string(), "{view}");
    assert_eq!(
        outcome("not-a-uuid".into()).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn get_command_names_the_event_and_the_rejection() {
    let mut app = spawn_app().await;
    let http = Client::new();
    let command_id = new_id();
    let missing_order = new_id();
    let response = http
        .post(app.url(&format!("/orders/{missing_order}/items/add")))
        .header("prefer", "wait=30")
        .json(&json!({"product_id": "p", "quantity": 1, "price_per_unit": 1, "command_id": command_id}))
        .send()
        .await
        .expect("add item");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(response).await["error"]["code"], "ORDER_NOT_FOUND");

    let view = body(
        http.get(app.url(&format!("/commands/{command_id}")))
            .send()
            .await
            .expect("GET command"),
    )
    .await;
    assert_eq!(view["outcome"], "rejected");
    assert_eq!(view["rejection_code"], "ORDER_NOT_FOUND");
    assert!(view["rejection_message"].is_string(), "{view}");
    assert_eq!(view["event"]["event_type"], "orders.v1.CommandRejected");
    let events = app.events(1).await;
    assert_eq!(view["event"]["event_id"], events[0].event_id.as_str());
    assert_eq!(events[0].command_id, command_id);
}

#[tokio::test]
async fn the_request_id_and_trace_context_reach_the_events() {
    let mut app = spawn_app().await;
    let http = Client::new();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = http
        .post(app.url("/orders/create"))
        .header("x-request-id", "req-from-the-gateway-42")
        .header("traceparent", traceparent)
        .json(&create_body("u-trace"))
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(
        response.headers()["x-request-id"],
        "req-from-the-gateway-42"
    );
    // Given a correlation_id, the body's wins; no request id: one is made.
    let own = http
        .post(app.url("/orders/create"))
        .json(
            &json!({"user_id": "u-trace-2", "shipping_address": "x", "currency": "EUR",
                      "correlation_id": "mine"}),
        )
        .send()
        .await
        .expect("create");
    let generated = own.headers()["x-request-id"]
        .to_str()
        .expect("request id")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    // A request id that is not a plain token is replaced.
    let odd = http
        .get(app.url("/healthz"))
        .header("x-request-id", "x".repeat(500))
        .send()
        .await
        .expect("healthz");
    assert_eq!(
        odd.headers()["x-request-id"].to_str().unwrap().len(),
        36,
        "a new UUID"
    );

    let events = app.events(2).await.to_vec();
    let traced = events
        .iter()
        .find(|e| e.correlation_id == "req-from-the-gateway-42")
        .expect("the event carries the request id as correlation_id");
    assert!(events.iter().any(|e| e.correlation_id == "mine"));
    let headers = &app.received_headers[&traced.event_id];
    assert_eq!(
        headers.get("traceparent").map(String::as_str),
        Some(traceparent),
        "{headers:?}"
    );
    let untraced = events.iter().find(|e| e.correlation_id == "mine").unwrap();
    assert!(!app.received_headers[&untraced.event_id].contains_key("traceparent"));
}
