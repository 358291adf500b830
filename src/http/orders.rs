//! The REST API of orders. Commands: `POST /orders/create`,
//! `POST /orders/{id}/items/add`, `POST /orders/{id}/payment`,
//! `PATCH /orders/{id}/payment`, `PATCH /orders/{id}/status` validate,
//! publish an `OrderCommand` and answer `202 {"command_id", "order_id"}`;
//! the outcome arrives as an order event. Queries: `GET /orders/{id}` and
//! `GET /orders?user_id=…`, read from PostgreSQL.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{ApiError, AppState};
use crate::db::DbError;
use crate::db::models::{Order, OrderItem, Payment, StatusChange};
use crate::domain;
use crate::producers::complete;
use crate::proto::{self, OrderCommand, order_command::Command as Body};

/// Fields every command request may carry: `command_id`, the idempotency
/// key (a new UUID when absent; a retry with the same one is applied once),
/// and `correlation_id`, copied to the resulting events.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// The new order's id; when absent, derived from the command id (a
    /// retry with the same command_id gets the same order).
    order_id: Option<String>,
    user_id: String,
    shipping_address: String,
    currency: String,
    command_id: Option<String>,
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    product_id: String,
    quantity: i32,
    price_per_unit: i64,
    command_id: Option<String>,
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessPaymentRequest {
    amount: i64,
    payment_method: String,
    /// The payment provider's id; a new UUID when absent.
    transaction_id: Option<String>,
    command_id: Option<String>,
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePaymentStatusRequest {
    transaction_id: String,
    status: String,
    command_id: Option<String>,
    correlation_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateStatusRequest {
    status: String,
    reason: Option<String>,
    command_id: Option<String>,
    correlation_id: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
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
    publish(&state, order_id, envelope, body).await
}

pub async fn add_item(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    body: Result<Json<AddItemRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let body = Body::AddOrderItem(proto::AddOrderItem {
        product_id: request.product_id,
        quantity: request.quantity,
        price_per_unit: request.price_per_unit,
    });
    publish(&state, order_id, envelope!(request), body).await
}

pub async fn process_payment(
    State(state): State<AppState>,
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
    publish(&state, order_id, envelope!(request), body).await
}

pub async fn update_payment_status(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    body: Result<Json<UpdatePaymentStatusRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let status = proto::parse_payment_status(&request.status)?;
    let body = Body::UpdatePaymentStatus(proto::UpdatePaymentStatus {
        transaction_id: request.transaction_id,
        status: status.into(),
    });
    publish(&state, order_id, envelope!(request), body).await
}

pub async fn update_status(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    body: Result<Json<UpdateStatusRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let status = proto::parse_order_status(&request.status)?;
    let body = Body::UpdateOrderStatus(proto::UpdateOrderStatus {
        status: status.into(),
        reason: request.reason.unwrap_or_default(),
    });
    publish(&state, order_id, envelope!(request), body).await
}

/// Checks the command as the service will, publishes it and answers 202.
async fn publish(
    state: &AppState,
    order_id: String,
    envelope: Envelope,
    body: Body,
) -> Result<Response, ApiError> {
    if !order_id.is_empty() {
        self::order_id(&order_id)?;
    }
    let command = OrderCommand {
        command_id: envelope.command_id.unwrap_or_default(),
        order_id,
        correlation_id: envelope.correlation_id.unwrap_or_default(),
        issued_at: None,
        command: Some(body),
    };
    let (command, checked) = complete(command)?;
    domain::validate(&checked.body)
        .map_err(|rejection| ApiError::bad_request("validation_failed", rejection.message))?;
    let published = state
        .commands
        .publish(&command)
        .await
        .map_err(|e| ApiError::Unavailable(format!("publishing the command: {e}")))?;
    tracing::info!(
        command_id = %command.command_id,
        order_id = %command.order_id,
        kind = checked.body.kind(),
        partition = published.partition,
        offset = published.offset,
        "command accepted over http"
    );
    let location = format!("/orders/{}", command.order_id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(json!({ "command_id": command.command_id, "order_id": command.order_id })),
    )
        .into_response())
}

fn order_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::bad_request("invalid_id", format!("{text:?} is not a UUID")))
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[derive(Debug, Serialize)]
struct OrderView {
    id: Uuid,
    user_id: String,
    status: String,
    payment_status: String,
    total_amount: i64,
    currency: String,
    shipping_address: String,
    order_date: String,
    updated_at: String,
    version: i64,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            user_id: o.user_id,
            status: o.status,
            payment_status: o.payment_status,
            total_amount: o.total_amount,
            currency: o.currency,
            shipping_address: o.shipping_address,
            order_date: time(o.order_date),
            updated_at: time(o.updated_at),
            version: o.version,
        }
    }
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = order_id(&id)?;
    let found = state
        .db
        .run(move |conn| {
            // One snapshot: the items and payments belong to this version.
            conn.build_transaction()
                .read_only()
                .repeatable_read()
                .run::<_, DbError, _>(|conn| {
                    let Some(order) = Order::find(conn, id)? else {
                        return Ok(None);
                    };
                    Ok(Some((
                        order,
                        OrderItem::for_order(conn, id)?,
                        Payment::for_orders(conn, &[id])?,
                        StatusChange::for_order(conn, id)?,
                    )))
                })
        })
        .await?;
    let Some((order, items, payments, history)) = found else {
        return Err(ApiError::NotFound(format!("no order {id}")));
    };
    let mut body = serde_json::to_value(OrderView::from(order)).unwrap_or_default();
    body["items"] = items
        .into_iter()
        .map(|i| {
            json!({
                "id": i.id,
                "product_id": i.product_id,
                "quantity": i.quantity,
                "price_per_unit": i.price_per_unit,
                "total_price": i.total_price,
            })
        })
        .collect();
    body["payments"] = payments
        .into_iter()
        .map(|p| {
            json!({
                "id": p.id,
                "amount": p.amount,
                "payment_method": p.payment_method,
                "status": p.status,
                "transaction_id": p.transaction_id,
                "created_at": time(p.created_at),
                "updated_at": time(p.updated_at),
            })
        })
        .collect();
    body["status_history"] = history
        .into_iter()
        .map(|h| {
            json!({
                "from_status": h.from_status,
                "status": h.status,
                "reason": h.reason,
                "timestamp": time(h.timestamp),
                "command_id": h.command_id,
            })
        })
        .collect();
    Ok(Json(body).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    user_id: String,
    /// Orders per page, 1 to 500 (default 50).
    limit: Option<i64>,
    /// `next_page_token` of the previous page.
    page_token: Option<String>,
}

const MAX_PAGE: i64 = 500;

/// A user's orders, newest first, a page at a time.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let after = query.page_token.as_deref().map(decode_token).transpose()?;
    let user_id = query.user_id;
    let orders = state
        .db
        .run(move |conn| {
            // One more than asked tells whether there is a next page.
            Order::page_for_user(conn, &user_id, after, limit + 1).map_err(DbError::from)
        })
        .await?;
    let more = orders.len() as i64 > limit;
    let page: Vec<Order> = orders.into_iter().take(limit as usize).collect();
    let next = more
        .then(|| page.last().map(|o| encode_token(o.order_date, o.id)))
        .flatten();
    let orders: Vec<OrderView> = page.into_iter().map(OrderView::from).collect();
    Ok(Json(json!({ "orders": orders, "next_page_token": next })).into_response())
}

/// An opaque cursor: the `(order_date, id)` of a page's last order.
fn encode_token(date: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}/{id}", date.timestamp_micros()))
}

fn decode_token(token: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let invalid = || ApiError::bad_request("invalid_query", "page_token is not valid");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (micros, id) = text.split_once('/').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let date = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    Ok((date, Uuid::parse_str(id).map_err(|_| invalid())?))
}
