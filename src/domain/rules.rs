//! `decide`: the domain rules of DESIGN.md, one function per command,
//! over the order's [`OrderState`].

use super::{
    Change, CommandBody, Facts, OrderState, OrderStatus, PaymentStatus, Rejection, RejectionCode,
    validate,
};

/// Applies the rules to one command against the order's current state
/// (`None` when the order does not exist).
pub fn decide(
    order: Option<&OrderState>,
    body: &CommandBody,
    facts: Facts,
) -> Result<Change, Rejection> {
    validate(body)?;
    let Some(order) = order else {
        return match body {
            CommandBody::CreateOrder {
                user_id,
                shipping_address,
                currency,
            } => Ok(Change::Created {
                user_id: user_id.clone(),
                shipping_address: shipping_address.clone(),
                currency: currency.clone(),
            }),
            _ => Err(Rejection::new(
                RejectionCode::OrderNotFound,
                "order does not exist",
            )),
        };
    };
    match body {
        CommandBody::CreateOrder { .. } => Err(Rejection::new(
            RejectionCode::OrderAlreadyExists,
            "an order with this order_id exists",
        )),
        CommandBody::AddItem {
            product_id,
            quantity,
            price_per_unit,
        } => add_item(order, product_id, *quantity, *price_per_unit),
        CommandBody::ProcessPayment {
            amount,
            payment_method,
            transaction_id,
        } => process_payment(order, *amount, payment_method, transaction_id, facts),
        CommandBody::UpdatePaymentStatus {
            transaction_id,
            status,
        } => update_payment_status(order, transaction_id, *status),
        CommandBody::UpdateOrderStatus { status, reason } => {
            update_order_status(order, *status, reason)
        }
    }
}

fn add_item(
    order: &OrderState,
    product_id: &str,
    quantity: i32,
    price_per_unit: i64,
) -> Result<Change, Rejection> {
    if order.status != OrderStatus::Pending {
        return Err(Rejection::new(
            RejectionCode::OrderNotEditable,
            format!(
                "items can only be added to a pending order, this one is {}",
                order.status
            ),
        ));
    }
    if order.active_payments() > 0 {
        return Err(Rejection::new(
            RejectionCode::OrderNotEditable,
            "the order has a pending or completed payment",
        ));
    }
    let total_price = i64::from(quantity)
        .checked_mul(price_per_unit)
        .ok_or_else(|| Rejection::invalid("quantity × price_per_unit overflows"))?;
    let new_total = order
        .total_amount
        .checked_add(total_price)
        .ok_or_else(|| Rejection::invalid("the order total would overflow"))?;
    Ok(Change::ItemAdded {
        product_id: product_id.to_owned(),
        quantity,
        price_per_unit,
        total_price,
        new_total,
    })
}

fn process_payment(
    order: &OrderState,
    amount: i64,
    payment_method: &str,
    transaction_id: &str,
    facts: Facts,
) -> Result<Change, Rejection> {
    if order.status != OrderStatus::Pending {
        return Err(Rejection::new(
            RejectionCode::OrderNotEditable,
            format!(
                "only a pending order can be paid, this one is {}",
                order.status
            ),
        ));
    }
    if order.item_count == 0 {
        return Err(Rejection::invalid("the order has no items"));
    }
    if order.active_payments() > 0 {
        return Err(Rejection::new(
            RejectionCode::InvalidTransition,
            "the order already has a pending or completed payment",
        ));
    }
    if facts.transaction_id_taken {
        return Err(Rejection::invalid("transaction_id is already used"));
    }
    if amount != order.total_amount {
        return Err(Rejection::new(
            RejectionCode::AmountMismatch,
            format!(
                "amount {amount} differs from the order total {}",
                order.total_amount
            ),
        ));
    }
    Ok(Change::PaymentProcessed {
        amount,
        payment_method: payment_method.to_owned(),
        transaction_id: transaction_id.to_owned(),
    })
}

fn update_payment_status(
    order: &OrderState,
    transaction_id: &str,
    to: Option<PaymentStatus>,
) -> Result<Change, Rejection> {
    let to = to.ok_or_else(|| Rejection::invalid("status is unspecified or unknown"))?;
    let payment = order
        .payments
        .iter()
        .find(|p| p.transaction_id == transaction_id)
        .ok_or_else(|| {
            Rejection::new(
                RejectionCode::PaymentNotFound,
                "the order has no payment with this transaction_id",
            )
        })?;
    if !payment.status.can_become(to) {
        return Err(Rejection::new(
            RejectionCode::InvalidTransition,
            format!("payment cannot go from {} to {to}", payment.status),
        ));
    }
    if to == PaymentStatus::Completed && order.status == OrderStatus::Cancelled {
        return Err(Rejection::new(
            RejectionCode::InvalidTransition,
            "a payment cannot complete on a cancelled order",
        ));
    }
    Ok(Change::PaymentStatusChanged {
        transaction_id: transaction_id.to_owned(),
        from: payment.status,
        to,
    })
}

fn update_order_status(
    order: &OrderState,
    to: Option<OrderStatus>,
    reason: &str,
) -> Result<Change, Rejection> {
    let to = to.ok_or_else(|| Rejection::invalid("status is unspecified or unknown"))?;
    if !order.status.can_become(to) {
        return Err(Rejection::new(
            RejectionCode::InvalidTransition,
            format!("order cannot go from {} to {to}", order.status),
        ));
    }
    if to == OrderStatus::Confirmed && order.payment_status != PaymentStatus::Completed {
        return Err(Rejection::new(
            RejectionCode::InvalidTransition,
            format!(
                "order can only be confirmed once paid, payment is {}",
                order.payment_status
            ),
        ));
    }
    Ok(Change::OrderStatusChanged {
        from: order.status,
        to,
        reason: reason.to_owned(),
    })
}

#[cfg(test)]
mod field_tests;
#[cfg(test)]
mod tests;
