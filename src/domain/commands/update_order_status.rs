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

/// Any body, valid or not (the property tests, the fuzz target).
#[cfg(any(test, feature = "proptest"))]
impl proptest::arbitrary::Arbitrary for UpdateOrderStatus {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;

    fn arbitrary_with((): ()) -> Self::Strategy {
        use crate::domain::arbitrary::{order_status, text};
        use proptest::prelude::*;
        (proptest::option::of(order_status()), text())
            .prop_map(|(status, reason)| Self { status, reason })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::commands::tests::*;
    use crate::domain::*;

    #[test]
    fn every_order_transition() {
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                for payment in PaymentStatus::ALL {
                    let o = order(from, payment);
                    let result = decide(Some(&o), &set_status(Some(to)), Facts::default());
                    let allowed = match (from, to) {
                        (OrderStatus::Pending, OrderStatus::Confirmed) => {
                            payment == PaymentStatus::Completed
                        }
                        (OrderStatus::Confirmed, OrderStatus::Shipped)
                        | (OrderStatus::Shipped, OrderStatus::Delivered)
                        | (OrderStatus::Pending, OrderStatus::Cancelled)
                        | (OrderStatus::Confirmed, OrderStatus::Cancelled) => true,
                        _ => false,
                    };
                    if allowed {
                        let change = result.unwrap();
                        assert_eq!(
                            change,
                            Change::OrderStatusChanged {
                                from,
                                to,
                                reason: "because".into(),
                            }
                        );
                        let mut state = o.clone();
                        state.apply(&change);
                        assert_eq!((state.status, state.version), (to, 4));
                    } else {
                        assert_eq!(
                            code(result),
                            RejectionCode::InvalidTransition,
                            "{from} -> {to} with payment {payment}"
                        );
                    }
                }
            }
        }
    }
}
