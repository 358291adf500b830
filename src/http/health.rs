//! Probes and metrics: `/healthz` (the process answers), `/readyz` (this
//! instance can do its own work: database reachable, a broker reachable,
//! consumer in its group), `/metrics`, `/openapi.json`.
//!
//! The relay's progress is shown in `/readyz`'s body, never in its status:
//! it is one publisher's work for every instance, and a relay held back (a
//! long transaction, a broker refusing one record) would otherwise take
//! every instance's HTTP front out of its load balancer at once.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use crate::housekeeping::Backlog;
use crate::metrics;

/// How long `/readyz` waits for the database.
const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "Alive", body = Object)),
)]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when every check passes, else 503; the body names each check, says
/// how far the relay is behind (`relay`, not a check) and which lanes wait
/// for the database (`apply.waiting`: SQLSTATE, error, seconds; not a
/// check either: a database refusing everyone is no reason to route
/// traffic elsewhere).
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready: database, broker and group are fine; `relay` says whether publishing lags", body = Object),
        (status = 503, description = "Not ready; `checks` says which check fails and why", body = Object),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (database, relay) =
        match tokio::time::timeout(DB_CHECK_TIMEOUT, Backlog::measure(&state.probes)).await {
            Ok(Ok(backlog)) => {
                backlog.record(&state.metrics);
                let lagging = backlog.rows > state.max_outbox_backlog
                    || backlog.oldest_age > state.max_outbox_age;
                (
                    json!({ "ok": true }),
                    json!({
                        "lagging": lagging,
                        "backlog": backlog.rows,
                        "oldest_unpublished_age_seconds": backlog.oldest_age.as_secs_f64(),
                        "max_backlog": state.max_outbox_backlog,
                        "max_age_seconds": state.max_outbox_age.as_secs(),
                        "holder": backlog.lease.holder,
                        "generation": backlog.lease.generation,
                        "lease_until": backlog.lease.lease_until.map(|t| t.to_rfc3339()),
                        "publishing_here": state.metrics.relay.publishing.get() == 1,
                    }),
                )
            }
            Ok(Err(e)) => (
                json!({ "ok": false, "error": e.to_string() }),
                json!({ "lagging": null, "error": "database unreachable" }),
            ),
            Err(_) => (
                json!({ "ok": false, "error": "no answer within 2 s" }),
                json!({ "lagging": null, "error": "database unreachable" }),
            ),
        };
    let membership = state.metrics.membership();
    let consumer = json!({
        "ok": state.metrics.in_group(),
        "assigned_partitions": membership.partitions.len(),
        "partitions": membership.partitions,
        "member_id": membership.member_id,
        "instance_id": membership.instance_id,
        // The broker still holds the static id for an earlier session.
        "instance_id_unreleased": state.metrics.topic.instance_id_unreleased.get() == 1,
        "partition_count": state.metrics.topic.partition_count(),
    });
    let broker = match (
        state.metrics.broker_reachable(),
        state.metrics.kafka_error(),
    ) {
        (true, _) => json!({ "ok": true }),
        (false, Some(error)) => json!({ "ok": false, "error": error }),
        (false, None) => json!({ "ok": false, "error": "no broker reachable" }),
    };
    let ready = [&database, &broker, &consumer]
        .iter()
        .all(|check| check["ok"] == true);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": { "database": database, "broker": broker, "consumer": consumer },
        "relay": relay,
        // Lanes retrying a batch the database refuses for its own reasons.
        "apply": { "waiting": state.metrics.apply.waiting() },
    });
    (status, Json(body)).into_response()
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses((status = 200, description = "The metrics", body = String,
               content_type = "application/openmetrics-text")),
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
        .into_response()
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object)),
)]
pub async fn openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.clone(),
    )
        .into_response()
}
