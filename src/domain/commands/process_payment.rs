//! `ProcessPayment`: a payment of the order's exact total, pending, on a
//! pending order with items and no other active payment.

use super::fields::text;
use super::{Rule, existing, limits};
use crate::domain::{Change, Facts, OrderState, OrderStatus, Rejection, RejectionCode};

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessPayment {
    pub amount: i64,
    pub payment_method: String,
    pub transaction_id: String,
}

impl Rule for ProcessPayment {
    fn validate(&self) -> Result<(), Rejection> {
        if self.amount < 0 {
            return Err(Rejection::invalid("amount must not be negative"));
        }
        text(
            "payment_method",
            &self.payment_method,
            limits::PAYMENT_METHOD,
        )?;
        text(
            "transaction_id",
            &self.transaction_id,
            limits::TRANSACTION_ID,
        )
    }

    fn decide(&self, order: Option<&OrderState>, facts: Facts) -> Result<Change, Rejection> {
        let order = existing(order)?;
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
        if self.amount != order.total_amount {
            return Err(Rejection::new(
                RejectionCode::AmountMismatch,
                format!(
                    "amount {} differs from the order total {}",
                    self.amount, order.total_amount
                ),
            ));
        }
        Ok(Change::PaymentProcessed {
            amount: self.amount,
            payment_method: self.payment_method.clone(),
            transaction_id: self.transaction_id.clone(),
        })
    }
}

/// Any body, valid or not (the property tests).
#[cfg(test)]
impl proptest::arbitrary::Arbitrary for ProcessPayment {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;

    fn arbitrary_with((): ()) -> Self::Strategy {
        use crate::domain::proptests::text;
        use proptest::prelude::*;
        (any::<i64>(), text(), text())
            .prop_map(|(amount, payment_method, transaction_id)| Self {
                amount,
                payment_method,
                transaction_id,
            })
            .boxed()
    }
}
