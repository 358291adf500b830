//! `decide`: the domain rules of DESIGN.md, and `OrderState::apply` to fold
//! an accepted change into the state.

use std::fmt;

use super::command::limits;
use super::{CommandBody, OrderStatus, PaymentStatus};

/// What the rules need to know about one existing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    pub status: OrderStatus,
    /// Follows the latest payment's status; `pending` before any payment.
    pub payment_status: PaymentStatus,
    /// Sum of the items' total prices, minor units.
    pub total_amount: i64,
    pub item_count: u32,
    /// The sequence of the order's last event.
    pub version: i64,
    pub payments: Vec<PaymentState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    pub transaction_id: String,
    pub status: PaymentStatus,
}

/// Facts from outside the order that a rule depends on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts {
    /// The command's `transaction_id` is already used by some payment.
    pub transaction_id_taken: bool,
}

/// An accepted command's effect on the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created {
        user_id: String,
        shipping_address: String,
        currency: String,
    },
    ItemAdded {
        product_id: String,
        quantity: i32,
        price_per_unit: i64,
        total_price: i64,
        new_total: i64,
    },
    PaymentProcessed {
        amount: i64,
        payment_method: String,
        transaction_id: String,
    },
    PaymentStatusChanged {
        transaction_id: String,
        from: PaymentStatus,
        to: PaymentStatus,
    },
    OrderStatusChanged {
        from: OrderStatus,
        to: OrderStatus,
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionCode {
    OrderNotFound,
    OrderAlreadyExists,
    ValidationFailed,
    InvalidTransition,
    AmountMismatch,
    PaymentNotFound,
    OrderNotEditable,
    /// The command_id was processed before for another order or body.
    CommandIdConflict,
}

impl RejectionCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderNotFound => "ORDER_NOT_FOUND",
            Self::OrderAlreadyExists => "ORDER_ALREADY_EXISTS",
            Self::ValidationFailed => "VALIDATION_FAILED",
            Self::InvalidTransition => "INVALID_TRANSITION",
            Self::AmountMismatch => "AMOUNT_MISMATCH",
            Self::PaymentNotFound => "PAYMENT_NOT_FOUND",
            Self::OrderNotEditable => "ORDER_NOT_EDITABLE",
            Self::CommandIdConflict => "COMMAND_ID_CONFLICT",
        }
    }
}

/// A broken rule: reported as a `CommandRejected` event, never an error of
/// the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: RejectionCode,
    pub message: String,
}

impl Rejection {
    pub fn new(code: RejectionCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(RejectionCode::ValidationFailed, message)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

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
    if order.payments.iter().any(|p| p.status.is_active()) {
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
    if order.payments.iter().any(|p| p.status.is_active()) {
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

impl OrderState {
    /// The state right after `Change::Created`.
    pub fn created() -> Self {
        Self {
            status: OrderStatus::Pending,
            payment_status: PaymentStatus::Pending,
            total_amount: 0,
            item_count: 0,
            version: 1,
            payments: Vec::new(),
        }
    }

    /// The first invariant this state breaks, if any: what the rules must
    /// never let happen (and the schema refuses too).
    pub fn broken_invariant(&self) -> Option<&'static str> {
        if self.total_amount < 0 {
            return Some("negative total");
        }
        if self.version < 1 {
            return Some("version below 1");
        }
        if self
            .payments
            .iter()
            .filter(|p| p.status.is_active())
            .count()
            > 1
        {
            return Some("two pending or completed payments");
        }
        let paid = matches!(
            self.payment_status,
            PaymentStatus::Completed | PaymentStatus::Refunded
        );
        let past_confirmation = matches!(
            self.status,
            OrderStatus::Confirmed | OrderStatus::Shipped | OrderStatus::Delivered
        );
        if past_confirmation && !paid {
            return Some("confirmed without a completed payment");
        }
        None
    }

    /// Folds an accepted change into the state and bumps the version.
    /// `Created` is not applied to an existing order; see [`Self::created`].
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Created { .. } => return,
            Change::ItemAdded { new_total, .. } => {
                self.total_amount = *new_total;
                self.item_count += 1;
            }
            Change::PaymentProcessed { transaction_id, .. } => {
                self.payments.push(PaymentState {
                    transaction_id: transaction_id.clone(),
                    status: PaymentStatus::Pending,
                });
                self.payment_status = PaymentStatus::Pending;
            }
            Change::PaymentStatusChanged {
                transaction_id, to, ..
            } => {
                if let Some(p) = self
                    .payments
                    .iter_mut()
                    .find(|p| &p.transaction_id == transaction_id)
                {
                    p.status = *to;
                }
                self.payment_status = *to;
            }
            Change::OrderStatusChanged { to, .. } => self.status = *to,
        }
        self.version += 1;
    }
}

#[cfg(test)]
mod tests;
