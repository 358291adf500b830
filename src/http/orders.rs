//! The read side of the REST API: `GET /orders/{id}` and
//! `GET /orders?user_id=…`, read from PostgreSQL through the read pool
//! (`DATABASE_READ_POOL_SIZE`), apart from the consumer's connections.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::error::ErrorBody;
use super::views::{OrderPage, OrderSummary, OrderView};
use super::{ApiError, AppState};
use crate::db::models::{Order, OrderItem, Payment, StatusChange};
use crate::db::{Database, DbError};
use crate::domain::limits;

/// A UUID from a path, or `400 invalid_id`.
pub(super) fn parse_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::bad_request("invalid_id", format!("{text:?} is not a UUID")))
}

/// The order with its items, payments and history, of one snapshot.
pub(super) async fn load(reads: &Database, id: Uuid) -> Result<Option<OrderView>, ApiError> {
    let found = reads
        .run(move |conn| {
            conn.build_transaction()
                .read_only()
                .repeatable_read()
                .run::<_, DbError, _>(|conn| {
                    let Some(order) = Order::find(conn, id)? else {
                        return Ok(None);
                    };
                    Ok(Some(OrderView::new(
                        order,
                        OrderItem::for_order(conn, id)?,
                        Payment::for_orders(conn, &[id])?,
                        StatusChange::for_order(conn, id)?,
                    )))
                })
        })
        .await?;
    Ok(found)
}

/// An order with its items, payments and status history.
#[utoipa::path(
    get,
    path = "/orders/{id}",
    operation_id = "getOrder",
    tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 400, description = "`invalid_id`", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let id = parse_id(&id)?;
    load(&state.reads, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no order {id}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Whose orders.
    #[param(min_length = 1, max_length = 64)]
    user_id: String,
    /// Orders per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// `next_page_token` of the previous page.
    page_token: Option<String>,
}

const MAX_PAGE: i64 = 500;

/// A user's orders, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/orders",
    operation_id = "listOrders",
    tag = "orders",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn list_orders(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<OrderPage>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    if query.user_id.contains('\0') || query.user_id.chars().count() > limits::USER_ID {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "user_id must be at most {} characters, without NUL",
                limits::USER_ID
            ),
        ));
    }
    let after = query.page_token.as_deref().map(decode_token).transpose()?;
    let user_id = query.user_id;
    let orders = state
        .reads
        .run(move |conn| {
            // One more than asked tells whether there is a next page.
            Order::page_for_user(conn, &user_id, after, limit + 1).map_err(DbError::from)
        })
        .await?;
    let more = orders.len() as i64 > limit;
    let page: Vec<Order> = orders.into_iter().take(limit as usize).collect();
    let next_page_token = more
        .then(|| page.last().map(|o| encode_token(o.order_date, o.id)))
        .flatten();
    Ok(Json(OrderPage {
        orders: page.into_iter().map(OrderSummary::from).collect(),
        next_page_token,
    }))
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
