//! The field rules a command must meet whatever the order's state: text
//! lengths, NUL characters, known statuses, ISO 4217 currencies, positive
//! quantities. The REST API and `send` run them before publishing.

use super::command::limits;
use super::{CommandBody, Rejection};

/// Field checks that need no state (the first thing [`decide`] does; the
/// REST API also runs them before publishing).
pub fn validate(body: &CommandBody) -> Result<(), Rejection> {
    match body {
        CommandBody::CreateOrder {
            user_id,
            shipping_address,
            currency,
        } => {
            text("user_id", user_id, limits::USER_ID)?;
            text(
                "shipping_address",
                shipping_address,
                limits::SHIPPING_ADDRESS,
            )?;
            if !super::is_iso_4217(currency) {
                return Err(Rejection::invalid(
                    "currency must be an ISO 4217 code in upper case, e.g. EUR",
                ));
            }
        }
        CommandBody::AddItem {
            product_id,
            quantity,
            price_per_unit,
        } => {
            text("product_id", product_id, limits::PRODUCT_ID)?;
            if *quantity <= 0 {
                return Err(Rejection::invalid("quantity must be greater than 0"));
            }
            if *price_per_unit < 0 {
                return Err(Rejection::invalid("price_per_unit must not be negative"));
            }
        }
        CommandBody::ProcessPayment {
            amount,
            payment_method,
            transaction_id,
        } => {
            if *amount < 0 {
                return Err(Rejection::invalid("amount must not be negative"));
            }
            text("payment_method", payment_method, limits::PAYMENT_METHOD)?;
            text("transaction_id", transaction_id, limits::TRANSACTION_ID)?;
        }
        CommandBody::UpdatePaymentStatus {
            transaction_id,
            status,
        } => {
            text("transaction_id", transaction_id, limits::TRANSACTION_ID)?;
            known_status(status.is_some())?;
        }
        CommandBody::UpdateOrderStatus { reason, status } => {
            known_status(status.is_some())?;
            if reason.chars().count() > limits::REASON {
                return Err(Rejection::invalid(format!(
                    "reason is longer than {} characters",
                    limits::REASON
                )));
            }
            if reason.contains('\0') {
                return Err(Rejection::invalid("reason contains a NUL character"));
            }
        }
    }
    Ok(())
}

fn known_status(known: bool) -> Result<(), Rejection> {
    if known {
        Ok(())
    } else {
        Err(Rejection::invalid("status is unspecified or unknown"))
    }
}

/// Required text: not blank, at most `max` characters, no NUL (which
/// PostgreSQL text cannot hold).
fn text(field: &str, value: &str, max: usize) -> Result<(), Rejection> {
    if value.trim().is_empty() {
        return Err(Rejection::invalid(format!("{field} is required")));
    }
    if value.chars().count() > max {
        return Err(Rejection::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if value.contains('\0') {
        return Err(Rejection::invalid(format!(
            "{field} contains a NUL character"
        )));
    }
    Ok(())
}
