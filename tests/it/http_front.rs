//! The HTTP front's limits: the body limit, load shedding (never of the
//! probes), the request timeout, the header-read timeout, compression, and
//! the HTTP metrics.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, new_id, spawn_app_with};

pub(crate) fn create_body() -> Value {
    json!({"user_id": "u-front", "shipping_address": "1 Main St", "currency": "EUR"})
}

pub(crate) async fn code_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("a JSON error body");
    body["error"]["code"].as_str().expect("code").to_owned()
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = spawn_app_with(|s| s.http.body_limit_bytes = 1024).await;
    let http = Client::new();
    let big = json!({"user_id": "u", "shipping_address": "x".repeat(2000), "currency": "EUR"});
    let response = http
        .post(app.url("/orders/create"))
        .json(&big)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code_of(response).await, "payload_too_large");
    // Without a Content-Length (chunked), refused while it is read.
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(
                b"POST /orders/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                  Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
        for _ in 0..40 {
            // The server may stop reading once the limit is passed.
            if stream.write_all(b"64\r\n").is_err()
                || stream.write_all(&[b' '; 100]).is_err()
                || stream.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
}

/// Holds `orders` locked until the connection rolls back: the consumer and
/// every read of an order wait for it.
fn lock_orders_table(app: &TestApp) -> diesel::PgConnection {
    let mut lock = app.db();
    lock.batch_execute("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        .expect("lock the table");
    lock
}

/// An order created over HTTP, once the service has applied it (seen in
/// the database: no HTTP request but the one POST). Without `Prefer:
/// wait`: a test's own short request timeout would cap the wait, and the
/// first command also waits for the consumer to join its group.
async fn created_order(app: &TestApp) -> String {
    use diesel::prelude::*;
    use order_service::db::schema::orders;
    let response = Client::new()
        .post(app.url("/orders/create"))
        .json(&create_body())
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = response.json().await.unwrap();
    let order_id = accepted["order_id"].as_str().unwrap().to_owned();
    let id: uuid::Uuid = order_id.parse().unwrap();
    let mut conn = app.db();
    let deadline = Instant::now() + Duration::from_secs(60);
    while orders::table
        .find(id)
        .count()
        .get_result::<i64>(&mut conn)
        .unwrap()
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "order {order_id} was not created"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    order_id
}

#[tokio::test]
async fn api_load_is_shed_at_the_limit_and_the_probes_stay_up() {
    let app = spawn_app_with(|s| {
        s.http.concurrency_limit = 2;
        s.database.lock_timeout_ms = 30_000;
    })
    .await;
    let order_id = created_order(&app).await;
    let http = Client::new();
    let mut table_lock = lock_orders_table(&app);
    // A wait holds a slot; one of the two may wait at once (half the limit).
    // There is nothing to observe while a request waits: the sleeps below
    // give each request 2 s to reach its slot, and the waits are long
    // enough (10 s) that the slots are still held when the next comes.
    let waiting = tokio::spawn({
        let url = app.url(&format!("/orders/{order_id}/items/add"));
        let http = http.clone();
        async move {
            let started = Instant::now();
            let response = http
                .post(url)
                .header("prefer", "wait=10")
                .json(&json!({"product_id": "p", "quantity": 1, "price_per_unit": 1}))
                .send()
                .await
                .expect("waiting request");
            (response, started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    // No wait slot left: the preference is not honoured, 202 at once.
    let started = Instant::now();
    let unwaited = http
        .post(app.url(&format!("/orders/{order_id}/items/add")))
        .header("prefer", "wait=10")
        .json(&json!({"product_id": "q", "quantity": 1, "price_per_unit": 1}))
        .send()
        .await
        .expect("second wait");
    assert_eq!(unwaited.status(), StatusCode::ACCEPTED);
    assert!(!unwaited.headers().contains_key("preference-applied"));
    // Had it waited, it would have taken its 10 s (the table is locked).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Fill the last API slot with a read that blocks on the lock.
    let reading = tokio::spawn({
        let url = app.url(&format!("/orders/{order_id}"));
        let http = http.clone();
        async move { http.get(url).send().await.expect("blocked read").status() }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let shed = http
        .get(app.url(&format!("/orders/{}", new_id())))
        .send()
        .await
        .expect("shed");
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shed.headers()["retry-after"], "1");
    assert_eq!(code_of(shed).await, "unavailable");
    // The probes and the metrics are not shed.
    for path in ["/healthz", "/metrics"] {
        let status = http.get(app.url(path)).send().await.unwrap().status();
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let (response, took) = waiting.await.expect("waiting task");
    assert_eq!(response.status(), StatusCode::ACCEPTED, "its wait ran out");
    assert!(took >= Duration::from_secs(10), "{took:?}");
    table_lock.batch_execute("ROLLBACK").expect("unlock");
    assert_eq!(reading.await.unwrap(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_past_the_timeout_gets_503_and_a_wait_ends_before_it() {
    let app = spawn_app_with(|s| {
        s.http.request_timeout_ms = 2_000;
        s.database.lock_timeout_ms = 30_000;
    })
    .await;
    let order_id = created_order(&app).await;
    let http = Client::new();
    let mut table_lock = lock_orders_table(&app);
    let started = Instant::now();
    let read = http
        .get(app.url(&format!("/orders/{order_id}")))
        .send()
        .await
        .expect("read");
    assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Cut by the 2 s timeout, not by the 30 s lock timeout.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let body: Value = read.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP_REQUEST_TIMEOUT_MS"),
        "{body}"
    );
    // A command published and waited for is answered 202 before the
    // timeout, never 503 (a client would retry a command on its way): the
    // timeout would have answered 503, so the status is the proof.
    let waited = http
        .post(app.url(&format!("/orders/{order_id}/items/add")))
        .header("prefer", "wait=30")
        .json(&json!({"product_id": "p", "quantity": 1, "price_per_unit": 1}))
        .send()
        .await
        .expect("waited command");
    assert_eq!(waited.status(), StatusCode::ACCEPTED);
    assert_eq!(waited.headers()["preference-applied"], "wait");
    table_lock.batch_execute("ROLLBACK").expect("unlock");
}

#[tokio::test]
async fn a_made_up_method_is_counted_as_other() {
    let app = spawn_app_with(|_| {}).await;
    let http = Client::new();
    for method in ["FOO1", "FOO2", "BREW"] {
        http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            app.url("/healthz"),
        )
        .send()
        .await
        .unwrap();
    }
    let metrics = app.metrics().await;
    assert!(!metrics.contains("FOO1"), "{metrics}");
    assert!(
        metrics.contains("method=\"OTHER\",route=\"/healthz\",status=\"405\"} 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_client_that_sends_its_headers_slowly_is_cut_off() {
    let app = spawn_app_with(|s| s.http.header_read_timeout_ms = 500).await;
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let answered = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let started = Instant::now();
        let mut buffer = Vec::new();
        // The server closes the connection (possibly after a 408).
        let _ = stream.read_to_end(&mut buffer);
        (
            started.elapsed(),
            String::from_utf8_lossy(&buffer).into_owned(),
        )
    })
    .await
    .unwrap();
    let (took, text) = answered;
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
    assert!(!text.contains("200 OK"), "{text}");
}

#[tokio::test]
async fn reads_are_compressed_and_requests_are_counted() {
    let app = spawn_app_with(|_| {}).await;
    let http = Client::new();
    let order_id = created_order(&app).await;
    let response = http
        .get(app.url(&format!("/orders/{order_id}")))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("GET order");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let missing = http
        .get(app.url(&format!("/orders/{}", new_id())))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let metrics = app.metrics().await;
    for line in [
        "order_service_http_requests_total{method=\"GET\",route=\"/orders/{id}\",status=\"404\"} 1",
        "order_service_http_requests_total{method=\"GET\",route=\"/orders/{id}\",status=\"200\"} 1",
        "order_service_http_requests_total{method=\"POST\",route=\"/orders/create\",status=\"202\"} 1",
        "order_service_build_info{version=\"",
        "order_service_http_request_duration_seconds_count{method=\"GET\",route=\"/orders/{id}\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    // A path that matches no route is counted under one label.
    http.get(app.url(&format!("/nothing/{}", new_id())))
        .send()
        .await
        .unwrap();
    assert!(
        app.metrics()
            .await
            .contains("route=\"unmatched\",status=\"404\"} 1")
    );
}
