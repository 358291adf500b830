//! The OpenAPI document: generated from the handlers (what is served is
//! what the code says), complete (operation ids, request and response
//! schemas), and true — schemathesis drives the running service from it
//! and finds no server error and no response off its schema.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;

use order_service::commands::{self, CommandInput, Route, Visitor};

use crate::helpers::{new_id, spawn_app, spawn_app_with};

/// Every command's route and request schema's name.
struct RequestBodies(Vec<(Route, String)>);

impl Visitor for RequestBodies {
    fn visit<C: CommandInput>(&mut self) {
        self.0.push((C::ROUTE, C::name().into_owned()));
    }
}

#[tokio::test]
async fn the_served_document_is_the_generated_one_and_complete() {
    let app = spawn_app().await;
    let response = Client::new()
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("openapi");
    assert_eq!(response.status(), StatusCode::OK);
    let served: Value = response.json().await.expect("JSON");
    let generated = serde_json::to_value(order_service::http::openapi()).expect("serialises");
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");

    let mut operation_ids = HashSet::new();
    let mut operations = Vec::new();
    for (path, items) in served["paths"].as_object().expect("paths") {
        for (method, operation) in items.as_object().expect("operations") {
            operations.push((method.to_uppercase(), path.clone()));
            let id = operation["operationId"].as_str().expect("an operationId");
            assert!(operation_ids.insert(id.to_owned()), "{id} twice");
            for (status, response) in operation["responses"].as_object().expect("responses") {
                assert!(
                    response["content"].is_object(),
                    "{method} {path} {status} has a body schema"
                );
            }
            if method == "post" || method == "patch" {
                let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
                assert!(schema["$ref"].is_string(), "{method} {path} request schema");
                for status in ["202", "400", "401", "403", "413", "415", "422", "503"] {
                    assert!(
                        operation["responses"][status].is_object(),
                        "{method} {path} documents {status}"
                    );
                }
            }
        }
    }
    // Every kind of the command catalogue, and the rest.
    let mut expected: Vec<(&str, &str)> = commands::routes()
        .iter()
        .map(|route| (route.method.as_str(), route.path))
        .collect();
    expected.extend([
        ("GET", "/orders/{id}"),
        ("GET", "/orders"),
        ("GET", "/commands/{id}"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
    ]);
    expected.sort();
    operations.sort();
    let operations: Vec<(&str, &str)> = operations
        .iter()
        .map(|(m, p)| (m.as_str(), p.as_str()))
        .collect();
    assert_eq!(operations, expected);
    for schema in [
        "OrderView",
        "OrderSummary",
        "OrderPage",
        "CommandView",
        "ErrorBody",
    ] {
        assert!(
            served["components"]["schemas"][schema].is_object(),
            "{schema} is in components"
        );
    }
    // Each command's request schema is its operation's body, in components.
    let mut bodies = RequestBodies(Vec::new());
    commands::visit(&mut bodies);
    for (route, schema) in bodies.0 {
        let operation = &served["paths"][route.path][route.method.as_str().to_lowercase()];
        assert_eq!(operation["operationId"], route.name, "{route:?}");
        assert_eq!(
            operation["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            format!("#/components/schemas/{schema}"),
            "{route:?}"
        );
        assert!(
            served["components"]["schemas"][&schema]["properties"].is_object(),
            "{schema} is in components"
        );
    }
    assert_eq!(
        served["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Every documented operation is served.
    let http = Client::new();
    for (method, path) in operations {
        let url = app.url(&path.replace("{id}", &new_id()));
        let response = http
            .request(method.parse().expect("a method"), &url)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(
            status != StatusCode::METHOD_NOT_ALLOWED && !text.contains("no such endpoint"),
            "{method} {path} is documented but not served: {status} {text}"
        );
    }
}

/// schemathesis (installed by `scripts/test`, which sets `SCHEMATHESIS`)
/// against the running service, with a write token.
#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_response_off_schema() {
    let schemathesis = std::env::var("SCHEMATHESIS")
        .expect("SCHEMATHESIS names the schemathesis executable; scripts/test installs it");
    let token = "schemathesis-write-token-0123";
    let app = spawn_app_with(|s| {
        s.http.api_tokens = Some(order_service::config::Secret::new(format!("write:{token}")))
    })
    .await;
    let report = std::env::temp_dir().join(format!("schemathesis-{}", new_id()));
    let run = tokio::process::Command::new(schemathesis)
        .arg("run")
        .arg(app.url("/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance",
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--max-examples",
            "30",
            "--seed",
            "1",
            // One worker: with two, schemathesis's threads build Python
            // ASTs at once (hypothesis describes its lambdas from their
            // source), and CPython 3.11 shares the AST builder's recursion
            // counter between threads ("AST constructor recursion depth
            // mismatch", a run ended by the tool, not by a finding).
            "--workers",
            "1",
            "--no-color",
            "--report-dir",
        ])
        .arg(&report)
        // Its example database (.schemathesis/) goes there too.
        .current_dir(std::env::temp_dir())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis finishes within 10 minutes")
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let count = |label: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .and_then(|rest| rest.split('/').next())
            .and_then(|n| n.trim().parse::<u32>().ok())
    };
    let selected = count("Selected:").expect("a Selected: line");
    assert!(selected >= 11, "{selected} operations selected:\n{text}");
    assert_eq!(
        count("Tested:"),
        Some(selected),
        "every operation tested:\n{text}"
    );
    let _ = std::fs::remove_dir_all(report);
}
