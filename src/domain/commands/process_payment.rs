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

/// Any body, valid or not (the property tests, the fuzz target).
#[cfg(any(test, feature = "proptest"))]
impl proptest::arbitrary::Arbitrary for ProcessPayment {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;

    fn arbitrary_with((): ()) -> Self::Strategy {
        use crate::domain::arbitrary::{small_or_any_i64, text, transaction_id};
        use proptest::prelude::*;
        (small_or_any_i64(), text(), transaction_id())
            .prop_map(|(amount, payment_method, transaction_id)| Self {
                amount,
                payment_method,
                transaction_id,
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::commands::tests::*;
    use crate::domain::*;

    #[test]
    fn process_payment_needs_the_exact_total() {
        let o = order(OrderStatus::Pending, PaymentStatus::Pending);
        let change = decide(Some(&o), &pay(2_500), Facts::default()).unwrap();
        assert_eq!(
            change,
            Change::PaymentProcessed {
                amount: 2_500,
                payment_method: "card".into(),
                transaction_id: "tx-2".into(),
            }
        );
        let mut state = o.clone();
        state.apply(&change);
        assert_eq!(state.payments.len(), 1);
        assert_eq!(state.payments[0].status, PaymentStatus::Pending);
        assert_eq!(state.payment_status, PaymentStatus::Pending);

        assert_eq!(
            code(decide(Some(&o), &pay(2_499), Facts::default())),
            RejectionCode::AmountMismatch
        );
        assert_eq!(
            code(decide(Some(&o), &pay(-1), Facts::default())),
            RejectionCode::ValidationFailed
        );
    }

    #[test]
    fn process_payment_rules() {
        let empty = OrderState {
            item_count: 0,
            total_amount: 0,
            ..order(OrderStatus::Pending, PaymentStatus::Pending)
        };
        assert_eq!(
            code(decide(Some(&empty), &pay(0), Facts::default())),
            RejectionCode::ValidationFailed
        );

        // Paying again while a payment is active is a transition refused.
        only_while_pending(&pay(2_500), RejectionCode::InvalidTransition);

        let o = order(OrderStatus::Pending, PaymentStatus::Pending);
        let taken = Facts {
            transaction_id_taken: true,
        };
        assert_eq!(
            code(decide(Some(&o), &pay(2_500), taken)),
            RejectionCode::ValidationFailed
        );
    }
}
