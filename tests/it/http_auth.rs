//! Bearer tokens on the REST API, and the access log (which never shows
//! them).

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::chaos::process::ServiceProcess;
use crate::helpers::{new_id, spawn_app_with, spawn_env_with};
use crate::http_front::{code_of, create_body};

const READER: &str = "reader-token-0123456789";
const WRITER: &str = "writer-token-9876543210";

fn tokens() -> order_service::config::Secret {
    order_service::config::Secret::new(format!("read:{READER},write:{WRITER}"))
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
