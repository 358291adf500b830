//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the service exports its spans
//! over OTLP/HTTP, joined to the caller's trace: a stand-in collector
//! receives the request's trace id, and the event's `traceparent` is of
//! the same trace.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::chaos::process::ServiceProcess;
use crate::helpers::{new_id, spawn_env_with};

/// The body of every OTLP export received, with its content type.
type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

async fn collector() -> (String, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                store.lock().unwrap().push((content_type, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn spans_are_exported_over_otlp_in_the_callers_trace() {
    let mut env = spawn_env_with(|_| {}).await;
    let (endpoint, received) = collector().await;
    let name = format!("otlp-{}", new_id());
    let service = ServiceProcess::start_with_env(
        &env.settings,
        &name,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(service.readiness().await, Some((200, _))) {
        assert!(Instant::now() < deadline, "the service did not get ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let response = Client::new()
        .post(service.url("/orders/create"))
        .header("traceparent", format!("00-{trace_id}-b7ad6b7169203331-01"))
        .json(&json!({"user_id": "u-otlp", "shipping_address": "x", "currency": "EUR"}))
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // The event carries a traceparent of the same trace (the HTTP span's
    // own id, as the command record did).
    let events = env.events(1).await.to_vec();
    let traceparent = env.received_headers[&events[0].event_id]["traceparent"].clone();
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "{traceparent}"
    );
    assert!(
        !traceparent.contains("b7ad6b7169203331"),
        "a child span's id"
    );

    // The batch exporter sends within about five seconds.
    let wanted = hex(trace_id);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let exports = received.lock().unwrap().clone();
        let traced: Vec<&(String, Bytes)> = exports
            .iter()
            .filter(|(_, body)| contains(body, &wanted))
            .collect();
        if let Some((content_type, body)) = traced.first() {
            assert_eq!(content_type, "application/x-protobuf");
            assert!(contains(body, b"order-service"), "the service name");
            assert!(contains(body, b"http"), "the request's span");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no span of trace {trace_id} exported ({} exports)",
            exports.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(service);
}
