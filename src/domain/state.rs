//! What the rules know of an order ([`OrderState`]), what an accepted
//! command changes ([`Change`]), and how a change is folded into the state.

use super::{OrderStatus, PaymentStatus};

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

    /// Payments pending or completed: at most one at a time, and none while
    /// items are added or another payment is made.
    pub fn active_payments(&self) -> usize {
        self.payments
            .iter()
            .filter(|p| p.status.is_active())
            .count()
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
        if self.active_payments() > 1 {
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
