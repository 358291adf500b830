//! `UpdateOrderStatus`: the order moves along its transitions (confirmed
//! only once paid).

use super::fields::{bounded, known_status};
use super::{Rule, existing, limits};
use crate::domain::{
    Change, Facts, OrderState, OrderStatus, PaymentStatus, Rejection, RejectionCode,
};

#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOrderStatus {
    /// `None` when the wire value was unspecified or unknown.
    pub status: Option<OrderStatus>,
    pub reason: String,
}

impl Rule for UpdateOrderStatus {
    fn validate(&self) -> Result<(), Rejection> {
        known_status(self.status.is_some())?;
        bounded("reason", &self.reason, limits::REASON)
    }

    fn decide(&self, order: Option<&OrderState>, _: Facts) -> Result<Change, Rejection> {
        let order = existing(order)?;
        let to = self
            .status
            .ok_or_else(|| Rejection::invalid("status is unspecified or unknown"))?;
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
            reason: self.reason.clone(),
        })
    }
}

/// Any body, valid or not (the property tests).
#[cfg(test)]
impl proptest::arbitrary::Arbitrary for UpdateOrderStatus {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;

    fn arbitrary_with((): ()) -> Self::Strategy {
        use crate::domain::proptests::{order_status, text};
        use proptest::prelude::*;
        (proptest::option::of(order_status()), text())
            .prop_map(|(status, reason)| Self { status, reason })
            .boxed()
    }
}
