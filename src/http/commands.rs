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

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::error::ErrorBody;
use super::orders::parse_id;
use super::requests::{
    AddItemRequest, CreateOrderRequest, ProcessPaymentRequest, UpdatePaymentStatusRequest,
    UpdateStatusRequest,
};
use super::submit::{find, submit};
use super::views::{Accepted, CommandView, OrderView};
use super::{ApiError, AppState, RequestId};
use crate::commands::Envelope;
use crate::proto::{self, order_command::Command as Body};

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
        // When absent, derived from the command id (`commands::complete`).
        transaction_id: request.transaction_id.unwrap_or_default(),
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

/// Headers the command endpoints read (see `submit`).
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
