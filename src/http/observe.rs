//! Around every request: a request id (`x-request-id`, taken from the
//! client when it is 1 to 200 visible ASCII characters, else generated;
//! echoed on the response and on every log line of the request), a span
//! joined to the caller's `traceparent`, one access-log line (method,
//! route, status, latency), the HTTP metrics, and a JSON error body for
//! refusals made by the layers below (body limit, timeout).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use uuid::Uuid;

use super::ApiError;
use crate::metrics::{HttpLabels, HttpRouteLabels, Metrics};
use crate::telemetry;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, for handlers (a command's `correlation_id` when the
/// body has none), and when it arrived (deadlines count from there).
#[derive(Debug, Clone)]
pub struct RequestId {
    id: String,
    arrived: Instant,
}

impl RequestId {
    pub fn as_correlation_id(&self) -> String {
        self.id.clone()
    }

    pub fn arrived(&self) -> Instant {
        self.arrived
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId {
                id: Uuid::new_v4().to_string(),
                arrived: Instant::now(),
            }))
    }
}

fn usable(id: &str) -> bool {
    (1..=200).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| usable(v))
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
    let id_header = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("-"));
    request.headers_mut().insert(REQUEST_ID, id_header.clone());
    request.extensions_mut().insert(RequestId {
        id: id.clone(),
        arrived: started,
    });
    // Known methods only: any token is a valid method to hyper, and each
    // would be a metric series of its own.
    let method = match request.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known,
        _ => "OTHER",
    }
    .to_owned();
    // The route pattern, never the raw path: ids in paths would make a
    // metric series per order.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let span = tracing::info_span!("http", %method, %route, request_id = %id);
    if let Some(traceparent) = request
        .headers()
        .get(telemetry::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| telemetry::is_traceparent(v))
    {
        telemetry::join_remote(&span, traceparent);
    }
    let mut response = next.run(request).instrument(span.clone()).await;
    if needs_json_body(&response) {
        response = match response.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.into_response(),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
                ApiError::Unavailable("the request took longer than HTTP_REQUEST_TIMEOUT_MS".into())
                    .into_response()
            }
            _ => response,
        };
    }
    response.headers_mut().insert(REQUEST_ID, id_header);
    let status = response.status().as_u16();
    let latency = started.elapsed();
    tracing::info!(
        parent: &span,
        %method,
        %route,
        status,
        latency_ms = latency.as_secs_f64() * 1000.0,
        "request"
    );
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            method: method.clone(),
            route: route.clone(),
            status,
        })
        .inc();
    metrics
        .http_request_seconds
        .get_or_create(&HttpRouteLabels { method, route })
        .observe(latency.as_secs_f64());
    response
}

/// An error answer made by a layer rather than a handler (no JSON body).
fn needs_json_body(response: &Response) -> bool {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    (status.is_client_error() || status.is_server_error()) && !json
}
