//! The write side of the REST API. `POST /orders/create`,
//! `POST /orders/{id}/items/add`, `POST /orders/{id}/payment`,
//! `PATCH /orders/{id}/payment`, `PATCH /orders/{id}/status` validate the
//! request, publish an `OrderCommand` to the command topic (the database is
//! not written here: the consumer applies it like any upstream command) and
//! answer:
//!
//! - `202 {command_id, order_id}` at once; or, with `Prefer: wait=N`
//!   (RFC 7240, N ≤ 30 s), once the command is processed: `201` + the order
//!   for a create, `200` + the order for the others, `422` with the
//!   rejection code for a rejected command; `202` if N passes first.
//! - An `Idempotency-Key` header becomes the command's id (hashed to a UUID
//!   when it is not one): the same key and body get the same answer, the
//!   same key with another body `422 idempotency_key_reused`.
//!
//! `GET /commands/{id}` tells a processed command's outcome.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ErrorBody;
use super::orders::{load, parse_id};
use super::views::{Accepted, CommandView, OrderView};
use super::{ApiError, AppState, RequestId};
use crate::db::DbError;
use crate::db::models::ProcessedCommand;
use crate::domain::{self, Command};
use crate::processor;
use crate::producers::complete;
use crate::proto::{self, OrderCommand, order_command::Command as Body};
use crate::telemetry;

/// The longest `Prefer: wait` honoured, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;

/// Namespace of the command ids derived from an `Idempotency-Key` that is
/// not a UUID.
const IDEMPOTENCY_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x7c2e_41d8_93b5_4f0a_a6d1_5e88_0c4b_29f7);

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// The new order's id; when absent, derived from the command id (a
    /// retry with the same command id gets the same order).
    #[schema(format = Uuid)]
    order_id: Option<String>,
    #[schema(min_length = 1, max_length = 64)]
    user_id: String,
    #[schema(min_length = 1, max_length = 500)]
    shipping_address: String,
    /// ISO 4217 code, e.g. EUR.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    currency: String,
    /// The command's id; a new UUID when absent (see also the
    /// Idempotency-Key header).
    #[schema(format = Uuid)]
    command_id: Option<String>,
    /// Copied to the events; the request id when absent.
    #[schema(max_length = 200)]
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    #[schema(min_length = 1, max_length = 64)]
    product_id: String,
    #[schema(minimum = 1)]
    quantity: i32,
    /// In the currency's minor units.
    #[schema(minimum = 0)]
    price_per_unit: i64,
    #[schema(format = Uuid)]
    command_id: Option<String>,
    #[schema(max_length = 200)]
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessPaymentRequest {
    /// Must equal the order's total.
    #[schema(minimum = 0)]
    amount: i64,
    #[schema(min_length = 1, max_length = 50)]
    payment_method: String,
    /// The payment provider's id; a new UUID when absent.
    #[schema(min_length = 1, max_length = 100)]
    transaction_id: Option<String>,
    #[schema(format = Uuid)]
    command_id: Option<String>,
    #[schema(max_length = 200)]
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePaymentStatusRequest {
    #[schema(min_length = 1, max_length = 100)]
    transaction_id: String,
    /// pending, completed, failed or refunded.
    status: String,
    #[schema(format = Uuid)]
    command_id: Option<String>,
    #[schema(max_length = 200)]
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStatusRequest {
    /// pending, confirmed, shipped, delivered or cancelled.
    status: String,
    #[schema(max_length = 500)]
    reason: Option<String>,
    #[schema(format = Uuid)]
    command_id: Option<String>,
    #[schema(max_length = 200)]
    correlation_id: Option<String>,
}

/// The envelope fields every command request may carry.
struct Envelope {
    command_id: Option<String>,
    correlation_id: Option<String>,
}

macro_rules! envelope {
    ($request:expr) => {
        Envelope {
            command_id: $request.command_id,
            correlation_id: $request.correlation_id,
        }
    };
}

/// The answers every command endpoint may give, for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only describes responses; never built.
enum CommandResponses {
    /// Published; not processed yet (or not within `Prefer: wait`).
    #[response(status = 202)]
    Accepted(#[to_schema] Accepted),
    /// The command is invalid: `invalid_id`, `invalid_command`,
    /// `validation_failed`, `invalid_status`, `malformed_json`,
    /// `invalid_body`, `invalid_idempotency_key`.
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// No valid bearer token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// A read-only token.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Larger than HTTP_BODY_LIMIT_BYTES.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Not `Content-Type: application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// Processed and rejected (code: the rejection code, e.g.
    /// INVALID_TRANSITION), or `idempotency_key_reused`.
    #[response(status = 422)]
    Rejected(ErrorBody),
    /// The broker or database does not answer, or the server sheds load.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// Creates an order.
#[utoipa::path(
    post,
    path = "/orders/create",
    operation_id = "createOrder",
    tag = "commands",
    params(CommandHeaders),
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "Processed (Prefer: wait): the new order", body = OrderView,
         headers(("Location" = String, description = "/orders/{id}"))),
        CommandResponses,
    ),
    security((), ("bearer" = [])),
)]
pub async fn create_order(
    State(state): State<AppState>,
    request_id: RequestId,
    headers: HeaderMap,
    body: Result<Json<CreateOrderRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let envelope = envelope!(request);
    let order_id = request.order_id.unwrap_or_default();
    let body = Body::CreateOrder(proto::CreateOrder {
        user_id: request.user_id,
        shipping_address: request.shipping_address,
        currency: request.currency,
    });
    submit(&state, &request_id, &headers, order_id, envelope, body).await
}

/// Adds an item to a pending order.
#[utoipa::path(
    post,
    path = "/orders/{id}/items/add",
    operation_id = "addOrderItem",
    tag = "commands",
    params(("id" = uuid::Uuid, Path, description = "The order's id"), CommandHeaders),
    request_body = AddItemRequest,
    responses(
        (status = 200, description = "Processed (Prefer: wait): the order", body = OrderView),
        CommandResponses,
    ),
    security((), ("bearer" = [])),
)]
pub async fn add_item(
    State(state): State<AppState>,
    request_id: RequestId,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    body: Result<Json<AddItemRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let body = Body::AddOrderItem(proto::AddOrderItem {
        product_id: request.product_id,
        quantity: request.quantity,
        price_per_unit: request.price_per_unit,
    });
    submit(
        &state,
        &request_id,
        &headers,
        order_id,
        envelope!(request),
        body,
    )
    .await
}

/// Records a payment of the order's total (status pending).
#[utoipa::path(
    post,
    path = "/orders/{id}/payment",
    operation_id = "processPayment",
    tag = "commands",
    params(("id" = uuid::Uuid, Path, description = "The order's id"), CommandHeaders),
    request_body = ProcessPaymentRequest,
    responses(
        (status = 200, description = "Processed (Prefer: wait): the order", body = OrderView),
        CommandResponses,
    ),
    security((), ("bearer" = [])),
)]
pub async fn process_payment(
    State(state): State<AppState>,
    request_id: RequestId,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    body: Result<Json<ProcessPaymentRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let body = Body::ProcessPayment(proto::ProcessPayment {
        amount: request.amount,
        payment_method: request.payment_method,
        transaction_id: request
            .transaction_id
            .unwrap_or_else(|| Uuid::new_v4().to_string()),
    });
    submit(
        &state,
        &request_id,
        &headers,
        order_id,
        envelope!(request),
        body,
    )
    .await
}

/// Moves a payment to another status.
#[utoipa::path(
    patch,
    path = "/orders/{id}/payment",
    operation_id = "updatePaymentStatus",
    tag = "commands",
    params(("id" = uuid::Uuid, Path, description = "The order's id"), CommandHeaders),
    request_body = UpdatePaymentStatusRequest,
    responses(
        (status = 200, description = "Processed (Prefer: wait): the order", body = OrderView),
        CommandResponses,
    ),
    security((), ("bearer" = [])),
)]
pub async fn update_payment_status(
    State(state): State<AppState>,
    request_id: RequestId,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    body: Result<Json<UpdatePaymentStatusRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let status = proto::parse_payment_status(&request.status)?;
    let body = Body::UpdatePaymentStatus(proto::UpdatePaymentStatus {
        transaction_id: request.transaction_id,
        status: status.into(),
    });
    submit(
        &state,
        &request_id,
        &headers,
        order_id,
        envelope!(request),
        body,
    )
    .await
}

/// Moves the order to another status.
#[utoipa::path(
    patch,
    path = "/orders/{id}/status",
    operation_id = "updateOrderStatus",
    tag = "commands",
    params(("id" = uuid::Uuid, Path, description = "The order's id"), CommandHeaders),
    request_body = UpdateStatusRequest,
    responses(
        (status = 200, description = "Processed (Prefer: wait): the order", body = OrderView),
        CommandResponses,
    ),
    security((), ("bearer" = [])),
)]
pub async fn update_status(
    State(state): State<AppState>,
    request_id: RequestId,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    body: Result<Json<UpdateStatusRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let status = proto::parse_order_status(&request.status)?;
    let body = Body::UpdateOrderStatus(proto::UpdateOrderStatus {
        status: status.into(),
        reason: request.reason.unwrap_or_default(),
    });
    submit(
        &state,
        &request_id,
        &headers,
        order_id,
        envelope!(request),
        body,
    )
    .await
}

/// The outcome of a processed command.
#[utoipa::path(
    get,
    path = "/commands/{id}",
    operation_id = "getCommand",
    tag = "commands",
    params(("id" = uuid::Uuid, Path, description = "The command's id")),
    responses(
        (status = 200, description = "Processed: applied or rejected", body = CommandView),
        (status = 400, description = "`invalid_id`", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not processed (yet)", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get_command(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CommandView>, ApiError> {
    let id = parse_id(&id)?;
    find(&state, id)
        .await?
        .map(|processed| Json(processed.into()))
        .ok_or_else(|| ApiError::NotFound(format!("command {id} is not processed")))
}

/// Headers the command endpoints read.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Only describes headers; read from the HeaderMap.
struct CommandHeaders {
    /// `wait=N`: answer once the command is processed, or after N seconds
    /// (at most 30) with 202.
    #[param(rename = "Prefer")]
    prefer: Option<String>,
    /// The command's id: a UUID, or any other key of up to 255 visible
    /// ASCII characters (hashed to a UUID).
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
    /// W3C trace context, carried onto the command record and its events.
    #[param(rename = "traceparent")]
    traceparent: Option<String>,
}

/// `Prefer: wait=N` (RFC 7240), capped at [`MAX_WAIT_SECS`]; other
/// preferences, and a malformed wait, are ignored.
fn preferred_wait(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get_all(header::HeaderName::from_static("prefer"))
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|preference| {
            let preference = preference.split(';').next()?.trim();
            let (name, value) = preference.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("wait")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
        .next()?;
    (seconds > 0).then(|| Duration::from_secs(seconds.min(MAX_WAIT_SECS)))
}

/// The command id an `Idempotency-Key` stands for. The IETF draft sends the
/// key as a structured-field string (quoted); a bare token is taken too.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<Uuid>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    let key = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid());
    }
    Ok(Some(Uuid::parse_str(key).unwrap_or_else(|_| {
        Uuid::new_v5(&IDEMPOTENCY_KEY_NAMESPACE, key.as_bytes())
    })))
}

/// What the caller asked for besides the command.
struct Submission {
    wait: Option<Duration>,
    /// Whether the id came from an `Idempotency-Key` header.
    keyed: bool,
}

/// Checks the command as the service will, publishes it, and answers at
/// once or, when asked to wait, with its outcome.
async fn submit(
    state: &AppState,
    request_id: &RequestId,
    headers: &HeaderMap,
    order_id: String,
    envelope: Envelope,
    body: Body,
) -> Result<Response, ApiError> {
    if !order_id.is_empty() {
        parse_id(&order_id)?;
    }
    let key = idempotency_key(headers)?;
    let command_id = match (key, envelope.command_id) {
        (Some(key), Some(given)) if Uuid::parse_str(&given).ok() != Some(key) => {
            return Err(ApiError::bad_request(
                "invalid_command",
                "command_id and Idempotency-Key name different commands; send one",
            ));
        }
        (Some(key), _) => key.to_string(),
        (None, given) => given.unwrap_or_default(),
    };
    let given_id = !command_id.is_empty();
    let correlation_id = envelope
        .correlation_id
        .unwrap_or_else(|| request_id.as_correlation_id());
    let command = OrderCommand {
        command_id,
        order_id,
        correlation_id,
        issued_at: None,
        command: Some(body),
    };
    let (command, checked) = complete(command)?;
    domain::validate(&checked.body)
        .map_err(|rejection| ApiError::bad_request("validation_failed", rejection.message))?;
    let submission = Submission {
        wait: preferred_wait(headers),
        keyed: key.is_some(),
    };
    // A command id the client chose may have been processed already: the
    // answer is its outcome, not a second publication.
    if given_id {
        if let Some(processed) = find(state, checked.command_id).await? {
            return answer(state, &submission, &checked, Some(processed)).await;
        }
    }
    let mut waiter = submission
        .wait
        .map(|_| state.outcomes.register(checked.command_id));
    let traceparent = telemetry::traceparent_of(&tracing::Span::current()).or_else(|| {
        headers
            .get(telemetry::TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| telemetry::is_traceparent(v))
            .map(str::to_owned)
    });
    let published = state
        .commands
        .publish_traced(&command, traceparent.as_deref())
        .await
        .map_err(|e| ApiError::Unavailable(format!("publishing the command: {e}")))?;
    tracing::info!(
        command_id = %checked.command_id,
        order_id = %checked.order_id,
        kind = checked.body.kind(),
        partition = published.partition,
        offset = published.offset,
        "command accepted over http"
    );
    let processed = match (&mut waiter, submission.wait) {
        (Some(waiter), Some(wait)) => {
            let mut shutdown = state.shutdown.clone();
            let woken = tokio::select! {
                woken = waiter.wait(wait) => woken,
                _ = shutdown.recv() => false,
            };
            if woken {
                find(state, checked.command_id).await?
            } else {
                None
            }
        }
        _ => None,
    };
    answer(state, &submission, &checked, processed).await
}

async fn find(state: &AppState, id: Uuid) -> Result<Option<ProcessedCommand>, ApiError> {
    Ok(state
        .reads
        .run(move |conn| ProcessedCommand::find(conn, id).map_err(DbError::from))
        .await?)
}

/// The answer for `command`, given what became of it (`None`: not
/// processed yet).
async fn answer(
    state: &AppState,
    submission: &Submission,
    command: &Command,
    processed: Option<ProcessedCommand>,
) -> Result<Response, ApiError> {
    if let Some(processed) = &processed {
        let same_command = processed.order_id == command.order_id
            && processed
                .body_hash
                .is_none_or(|hash| hash == processor::fingerprint(command));
        if !same_command {
            let (code, what) = if submission.keyed {
                ("idempotency_key_reused", "Idempotency-Key")
            } else {
                ("COMMAND_ID_CONFLICT", "command_id")
            };
            return Err(ApiError::Unprocessable {
                code: code.to_owned(),
                message: format!("this {what} was used for another command"),
            });
        }
    }
    let (Some(processed), Some(_)) = (processed, submission.wait) else {
        let location = format!("/orders/{}", command.order_id);
        let mut response = (
            StatusCode::ACCEPTED,
            [(header::LOCATION, location)],
            Json(Accepted {
                command_id: command.command_id,
                order_id: command.order_id,
            }),
        )
            .into_response();
        if submission.wait.is_some() {
            response
                .headers_mut()
                .insert(PREFERENCE_APPLIED, HeaderValue::from_static("wait"));
        }
        return Ok(response);
    };
    let mut response = if processed.outcome == "applied" {
        let Some(order) = load(&state.reads, command.order_id).await? else {
            return Err(ApiError::Unavailable(
                "the order of an applied command is missing".into(),
            ));
        };
        let created = matches!(command.body, domain::CommandBody::CreateOrder { .. });
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut response = (status, Json::<OrderView>(order)).into_response();
        if created {
            let location = HeaderValue::from_str(&format!("/orders/{}", command.order_id))
                .map_err(|_| ApiError::Unavailable("location header".into()))?;
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    } else {
        ApiError::Unprocessable {
            code: processed
                .rejection_code
                .unwrap_or_else(|| "REJECTED".to_owned()),
            message: processed
                .rejection_message
                .unwrap_or_else(|| "the command was rejected".to_owned()),
        }
        .into_response()
    };
    response
        .headers_mut()
        .insert(PREFERENCE_APPLIED, HeaderValue::from_static("wait"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn prefer_wait_is_read_as_rfc_7240_says() {
        let wait = |value: &str| preferred_wait(&headers(&[("prefer", value)]));
        assert_eq!(wait("wait=5"), Some(Duration::from_secs(5)));
        assert_eq!(
            wait("respond-async, WAIT=\"7\""),
            Some(Duration::from_secs(7))
        );
        assert_eq!(wait("wait=10;foo=bar"), Some(Duration::from_secs(10)));
        assert_eq!(wait("wait=3600"), Some(Duration::from_secs(MAX_WAIT_SECS)));
        assert_eq!(wait("wait=0"), None);
        assert_eq!(wait("wait=-1"), None);
        assert_eq!(wait("wait=soon"), None);
        assert_eq!(wait("return=minimal"), None);
        assert_eq!(preferred_wait(&HeaderMap::new()), None);
        let two = headers(&[("prefer", "return=minimal"), ("prefer", "wait=2")]);
        assert_eq!(preferred_wait(&two), Some(Duration::from_secs(2)));
    }

    #[test]
    fn idempotency_keys_become_command_ids() {
        let key = |value: &str| idempotency_key(&headers(&[("idempotency-key", value)]));
        let uuid = "8e03978e-40d5-43e8-bc93-6894a57f9324";
        assert_eq!(key(uuid).unwrap(), Some(Uuid::parse_str(uuid).unwrap()));
        assert_eq!(
            key(&format!("\"{uuid}\"")).unwrap(),
            Some(Uuid::parse_str(uuid).unwrap())
        );
        let hashed = key("order-42-attempt").unwrap().unwrap();
        assert_eq!(key("\"order-42-attempt\"").unwrap(), Some(hashed));
        assert_ne!(key("order-43-attempt").unwrap(), Some(hashed));
        assert!(key("").is_err());
        assert!(key("has space").is_err());
        assert!(key(&"k".repeat(256)).is_err());
        assert_eq!(idempotency_key(&HeaderMap::new()).unwrap(), None);
    }
}
