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

/// Any body, valid or not (the property tests, the fuzz target); its
/// transaction id is often the one generated payments carry.
#[cfg(any(test, feature = "proptest"))]
impl proptest::arbitrary::Arbitrary for UpdatePaymentStatus {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;

    fn arbitrary_with((): ()) -> Self::Strategy {
        use crate::domain::arbitrary::{payment_status, transaction_id};
        use proptest::prelude::*;
        (transaction_id(), proptest::option::of(payment_status()))
            .prop_map(|(transaction_id, status)| Self {
                transaction_id,
                status,
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::commands::tests::*;
    use crate::domain::*;

    #[test]
    fn every_payment_transition() {
        for from in PaymentStatus::ALL {
            for to in PaymentStatus::ALL {
                let o = with_payment(order(OrderStatus::Pending, PaymentStatus::Pending), from);
                let result = decide(Some(&o), &set_payment(Some(to)), Facts::default());
                let allowed = matches!(
                    (from, to),
                    (PaymentStatus::Pending, PaymentStatus::Completed)
                        | (PaymentStatus::Pending, PaymentStatus::Failed)
                        | (PaymentStatus::Completed, PaymentStatus::Refunded)
                );
                if allowed {
                    let change = result.unwrap();
                    assert_eq!(
                        change,
                        Change::PaymentStatusChanged {
                            transaction_id: "tx-1".into(),
                            from,
                            to,
                        }
                    );
                    let mut state = o.clone();
                    state.apply(&change);
                    assert_eq!(state.payment_status, to, "order follows the payment");
                    assert_eq!(state.payments[0].status, to);
                } else {
                    assert_eq!(
                        code(result),
                        RejectionCode::InvalidTransition,
                        "{from} -> {to}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_payment_cannot_complete_on_a_cancelled_order() {
        let cancelled = with_payment(
            order(OrderStatus::Cancelled, PaymentStatus::Pending),
            PaymentStatus::Pending,
        );
        assert_eq!(
            code(decide(
                Some(&cancelled),
                &set_payment(Some(PaymentStatus::Completed)),
                Facts::default()
            )),
            RejectionCode::InvalidTransition
        );
        // Failing it is still allowed: the money never moved.
        assert!(
            decide(
                Some(&cancelled),
                &set_payment(Some(PaymentStatus::Failed)),
                Facts::default()
            )
            .is_ok()
        );
    }
}
