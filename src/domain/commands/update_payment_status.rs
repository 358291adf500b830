//! `UpdatePaymentStatus`: one of the order's payments moves along its
//! transitions (none completes on a cancelled order).

use super::fields::{known_status, text};
use super::{Rule, existing, limits};
use crate::domain::{
    Change, Facts, OrderState, OrderStatus, PaymentStatus, Rejection, RejectionCode,
};

#[derive(Debug, Clone, PartialEq)]
pub struct UpdatePaymentStatus {
    pub transaction_id: String,
    /// `None` when the wire value was unspecified or unknown.
    pub status: Option<PaymentStatus>,
}

impl Rule for UpdatePaymentStatus {
    fn validate(&self) -> Result<(), Rejection> {
        text(
            "transaction_id",
            &self.transaction_id,
            limits::TRANSACTION_ID,
        )?;
        known_status(self.status.is_some())
    }

    fn decide(&self, order: Option<&OrderState>, _: Facts) -> Result<Change, Rejection> {
        let order = existing(order)?;
        let to = self
            .status
            .ok_or_else(|| Rejection::invalid("status is unspecified or unknown"))?;
        let payment = order
            .payments
            .iter()
            .find(|p| p.transaction_id == self.transaction_id)
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
            transaction_id: self.transaction_id.clone(),
            from: payment.status,
            to,
        })
    }
}

/// Any body, valid or not (the property tests); its transaction id is
/// often the one the tests' payments carry.
#[cfg(test)]
impl proptest::arbitrary::Arbitrary for UpdatePaymentStatus {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;

    fn arbitrary_with((): ()) -> Self::Strategy {
        use crate::domain::proptests::{payment_status, text};
        use proptest::prelude::*;
        (
            prop_oneof![Just("tx-0".to_owned()), text()],
            proptest::option::of(payment_status()),
        )
            .prop_map(|(transaction_id, status)| Self {
                transaction_id,
                status,
            })
            .boxed()
    }
}
