//! The HTTP front as a platform team deploys it: bearer tokens, the body
//! limit, load shedding, the request timeout, the header-read timeout,
//! compression, the HTTP metrics, and the access log (without tokens in
//! it).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::chaos::process::ServiceProcess;
use crate::helpers::{TestApp, new_id, spawn_app_with, spawn_env_with};

const READER: &str = "reader-token-0123456789";
const WRITER: &str = "writer-token-9876543210";

fn tokens() -> order_service::config::Secret {
    order_service::config::Secret::new(format!("read:{READER},write:{WRITER}"))
}

fn create_body() -> Value {
    json!({"user_id": "u-front", "shipping_address": "1 Main St", "currency": "EUR"})
}

async fn code_of(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("a JSON error body");
    body["error"]["code"].as_str().expect("code").to_owned()
}

#[tokio::test]
async fn tokens_guard_the_api_and_leave_the_probes_open() {
    let app = spawn_app_with(|s| s.http.api_tokens = Some(tokens())).await;
    let http = Client::new();
    let order = app.url(&format!("/orders/{}", new_id()));
    let create = app.url("/orders/create");

    for (request, what) in [
        (http.get(&order), "no token"),
        (http.get(&order).bearer_auth("not-a-token"), "unknown token"),
        (
            http.get(&order)
                .header("authorization", format!("Basic {READER}")),
            "another scheme",
        ),
        (http.post(&create).json(&create_body()), "no token, write"),
    ] {
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
        assert_eq!(code_of(response).await, "unauthorized");
    }
    // A read token reads (the order does not exist: 404, past the check)...
    let read = http.get(&order).bearer_auth(READER).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    let read = http
        .get(&order)
        .header("authorization", format!("bearer {READER}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.status(),
        StatusCode::NOT_FOUND,
        "the scheme in any case"
    );
    // ...and may not send commands.
    let forbidden = http
        .post(&create)
        .bearer_auth(READER)
        .json(&create_body())
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert!(
        forbidden.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"insufficient_scope\"")
    );
    assert_eq!(code_of(forbidden).await, "forbidden");
    // A write token does both.
    let created = http
        .post(&create)
        .bearer_auth(WRITER)
        .json(&create_body())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    let command = app.url(&format!("/commands/{}", new_id()));
    let read = http.get(&command).bearer_auth(WRITER).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        http.get(&command).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Probes, metrics and the document stay open.
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let status = http.get(app.url(path)).send().await.unwrap().status();
        assert!(
            status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {status}"
        );
    }
}

#[tokio::test]
async fn bad_token_lists_stop_the_start_with_a_clear_error() {
    let env = spawn_env_with(|s| {
        s.http.api_tokens = Some(order_service::config::Secret::new(
            "admin:abcdefghijklmnopqrstuvwxyz",
        ))
    })
    .await;
    let error = order_service::startup::Application::build(env.settings.clone())
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("API_TOKENS entry 1"), "{error}");
    assert!(!error.contains("abcdefghijklmnop"), "{error}");
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

async fn created_order(app: &TestApp) -> String {
    let response = Client::new()
        .post(app.url("/orders/create"))
        .header("prefer", "wait=10")
        .json(&create_body())
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    order["id"].as_str().unwrap().to_owned()
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
    // The consumer and the reads of `orders` wait for this lock.
    let mut table_lock = app.db();
    table_lock
        .batch_execute("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        .expect("lock the table");
    // A wait holds a slot; one of the two may wait at once (half the limit).
    let waiting = tokio::spawn({
        let url = app.url(&format!("/orders/{order_id}/items/add"));
        let http = http.clone();
        async move {
            let started = Instant::now();
            let response = http
                .post(url)
                .header("prefer", "wait=3")
                .json(&json!({"product_id": "p", "quantity": 1, "price_per_unit": 1}))
                .send()
                .await
                .expect("waiting request");
            (response, started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    // No wait slot left: the preference is not honoured, 202 at once.
    let started = Instant::now();
    let unwaited = http
        .post(app.url(&format!("/orders/{order_id}/items/add")))
        .header("prefer", "wait=3")
        .json(&json!({"product_id": "q", "quantity": 1, "price_per_unit": 1}))
        .send()
        .await
        .expect("second wait");
    assert_eq!(unwaited.status(), StatusCode::ACCEPTED);
    assert!(!unwaited.headers().contains_key("preference-applied"));
    assert!(started.elapsed() < Duration::from_secs(2));

    // Fill the last API slot with a read that blocks on the lock.
    let reading = tokio::spawn({
        let url = app.url(&format!("/orders/{order_id}"));
        let http = http.clone();
        async move { http.get(url).send().await.expect("blocked read").status() }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
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
    assert!(took >= Duration::from_secs(3), "{took:?}");
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
    let mut table_lock = app.db();
    table_lock
        .batch_execute("BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        .expect("lock the table");
    let started = Instant::now();
    let read = http
        .get(app.url(&format!("/orders/{order_id}")))
        .send()
        .await
        .expect("read");
    assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(5));
    let body: Value = read.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP_REQUEST_TIMEOUT_MS"),
        "{body}"
    );
    // A command published and waited for is answered 202 before the
    // timeout, never 503 (a client would retry a command on its way).
    let started = Instant::now();
    let waited = http
        .post(app.url(&format!("/orders/{order_id}/items/add")))
        .header("prefer", "wait=30")
        .json(&json!({"product_id": "p", "quantity": 1, "price_per_unit": 1}))
        .send()
        .await
        .expect("waited command");
    assert_eq!(waited.status(), StatusCode::ACCEPTED);
    assert_eq!(waited.headers()["preference-applied"], "wait");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
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
        "order_service_http_requests_total{method=\"POST\",route=\"/orders/create\",status=\"201\"} 1",
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

#[tokio::test]
async fn each_request_gets_one_access_log_line_without_its_token() {
    let env = spawn_env_with(|_| {}).await;
    let name = format!("access-log-{}", new_id());
    let service = ServiceProcess::start_with_env(
        &env.settings,
        &name,
        &[
            ("API_TOKENS", format!("read:{READER},write:{WRITER}")),
            ("LOG_FORMAT", "json".to_owned()),
        ],
    );
    let base = service.url("");
    let deadline = Instant::now() + Duration::from_secs(60);
    while service.readiness().await.is_none() {
        assert!(Instant::now() < deadline, "the service did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let http = Client::new();
    let order = format!("{base}/orders/{}", new_id());
    http.get(&order)
        .bearer_auth(READER)
        .header("x-request-id", "access-log-test-1")
        .send()
        .await
        .unwrap();
    http.get(&order)
        .bearer_auth("wrong-token-xyz")
        .send()
        .await
        .unwrap();
    drop(service);
    let log = std::fs::read_to_string(ServiceProcess::log_path(&name)).expect("log");
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "request" && l["route"] == "/orders/{id}")
        .collect();
    assert_eq!(access.len(), 2, "{log}");
    assert_eq!(access[0]["method"], "GET");
    assert_eq!(access[0]["status"], 404);
    assert!(access[0]["latency_ms"].is_number());
    assert_eq!(
        access[0]["span"]["request_id"], "access-log-test-1",
        "{log}"
    );
    assert_eq!(access[1]["status"], 401);
    assert!(!log.contains("API_TOKENS is not set"), "{log}");
    for secret in [READER, WRITER, "wrong-token-xyz"] {
        assert!(!log.contains(secret), "a token in the log:\n{log}");
    }
}
