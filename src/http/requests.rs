//! The bodies of the command endpoints, as clients send them (JSON); the
//! OpenAPI document describes them from these types, limits included.

use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// The new order's id; when absent, derived from the command id (a
    /// retry with the same command id gets the same order).
    #[schema(format = Uuid)]
    pub order_id: Option<String>,
    #[schema(min_length = 1, max_length = 64)]
    pub user_id: String,
    #[schema(min_length = 1, max_length = 500)]
    pub shipping_address: String,
    /// ISO 4217 code, e.g. EUR.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: String,
    /// The command's id; a new UUID when absent (see also the
    /// Idempotency-Key header).
    #[schema(format = Uuid)]
    pub command_id: Option<String>,
    /// Copied to the events; the request id when absent.
    #[schema(max_length = 200)]
    pub correlation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub product_id: String,
    #[schema(minimum = 1)]
    pub quantity: i32,
    /// In the currency's minor units.
    #[schema(minimum = 0)]
    pub price_per_unit: i64,
    #[schema(format = Uuid)]
    pub command_id: Option<String>,
    #[schema(max_length = 200)]
    pub correlation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessPaymentRequest {
    /// Must equal the order's total.
    #[schema(minimum = 0)]
    pub amount: i64,
    #[schema(min_length = 1, max_length = 50)]
    pub payment_method: String,
    /// The payment provider's id; when absent, derived from the command id.
    #[schema(min_length = 1, max_length = 100)]
    pub transaction_id: Option<String>,
    #[schema(format = Uuid)]
    pub command_id: Option<String>,
    #[schema(max_length = 200)]
    pub correlation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePaymentStatusRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub transaction_id: String,
    /// pending, completed, failed or refunded.
    pub status: String,
    #[schema(format = Uuid)]
    pub command_id: Option<String>,
    #[schema(max_length = 200)]
    pub correlation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStatusRequest {
    /// pending, confirmed, shipped, delivered or cancelled.
    pub status: String,
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    #[schema(format = Uuid)]
    pub command_id: Option<String>,
    #[schema(max_length = 200)]
    pub correlation_id: Option<String>,
}
