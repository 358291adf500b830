//! `CreateOrder`: a new order, pending, without items.

use super::fields::text;
use super::{Rule, limits};
use crate::domain::{Change, Facts, OrderState, Rejection, RejectionCode, is_iso_4217};

#[derive(Debug, Clone, PartialEq)]
pub struct CreateOrder {
    pub user_id: String,
    pub shipping_address: String,
    pub currency: String,
}

impl Rule for CreateOrder {
    fn validate(&self) -> Result<(), Rejection> {
        text("user_id", &self.user_id, limits::USER_ID)?;
        text(
            "shipping_address",
            &self.shipping_address,
            limits::SHIPPING_ADDRESS,
        )?;
        if !is_iso_4217(&self.currency) {
            return Err(Rejection::invalid(
                "currency must be an ISO 4217 code in upper case, e.g. EUR",
            ));
        }
        Ok(())
    }

    fn decide(&self, order: Option<&OrderState>, _: Facts) -> Result<Change, Rejection> {
        if order.is_some() {
            return Err(Rejection::new(
                RejectionCode::OrderAlreadyExists,
                "an order with this order_id exists",
            ));
        }
        Ok(Change::Created {
            user_id: self.user_id.clone(),
            shipping_address: self.shipping_address.clone(),
            currency: self.currency.clone(),
        })
    }
}

/// Any body, valid or not (the property tests, the fuzz target).
#[cfg(any(test, feature = "proptest"))]
impl proptest::arbitrary::Arbitrary for CreateOrder {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;

    fn arbitrary_with((): ()) -> Self::Strategy {
        use crate::domain::arbitrary::text;
        use proptest::prelude::*;
        (
            text(),
            text(),
            prop_oneof![Just("EUR".to_owned()), "[A-Za-z]{0,4}"],
        )
            .prop_map(|(user_id, shipping_address, currency)| Self {
                user_id,
                shipping_address,
                currency,
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::commands::tests::*;
    use crate::domain::*;

    #[test]
    fn create_makes_a_pending_order() {
        let change = decide(None, &create(), Facts::default()).unwrap();
        assert_eq!(
            change,
            Change::Created {
                user_id: "user-1".into(),
                shipping_address: "1 Main St".into(),
                currency: "EUR".into(),
            }
        );
        let state = OrderState::created();
        assert_eq!(state.status, OrderStatus::Pending);
        assert_eq!(state.payment_status, PaymentStatus::Pending);
        assert_eq!(
            (state.total_amount, state.item_count, state.version),
            (0, 0, 1)
        );
    }

    #[test]
    fn create_on_an_existing_order_is_rejected() {
        let o = order(OrderStatus::Pending, PaymentStatus::Pending);
        assert_eq!(
            code(decide(Some(&o), &create(), Facts::default())),
            RejectionCode::OrderAlreadyExists
        );
    }
}
