//! `AddOrderItem`: an item added to a pending order without an active
//! payment; the order's total grows by its price.

use super::fields::text;
use super::{Rule, existing, limits};
use crate::domain::{Change, Facts, OrderState, OrderStatus, Rejection, RejectionCode};

#[derive(Debug, Clone, PartialEq)]
pub struct AddOrderItem {
    pub product_id: String,
    pub quantity: i32,
    pub price_per_unit: i64,
}

impl Rule for AddOrderItem {
    fn validate(&self) -> Result<(), Rejection> {
        text("product_id", &self.product_id, limits::PRODUCT_ID)?;
        if self.quantity <= 0 {
            return Err(Rejection::invalid("quantity must be greater than 0"));
        }
        if self.price_per_unit < 0 {
            return Err(Rejection::invalid("price_per_unit must not be negative"));
        }
        Ok(())
    }

    fn decide(&self, order: Option<&OrderState>, _: Facts) -> Result<Change, Rejection> {
        let order = existing(order)?;
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
        let total_price = i64::from(self.quantity)
            .checked_mul(self.price_per_unit)
            .ok_or_else(|| Rejection::invalid("quantity × price_per_unit overflows"))?;
        let new_total = order
            .total_amount
            .checked_add(total_price)
            .ok_or_else(|| Rejection::invalid("the order total would overflow"))?;
        Ok(Change::ItemAdded {
            product_id: self.product_id.clone(),
            quantity: self.quantity,
            price_per_unit: self.price_per_unit,
            total_price,
            new_total,
        })
    }
}

/// Any body, valid or not (the property tests, the fuzz target).
#[cfg(any(test, feature = "proptest"))]
impl proptest::arbitrary::Arbitrary for AddOrderItem {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;

    fn arbitrary_with((): ()) -> Self::Strategy {
        use crate::domain::arbitrary::{small_or_any_i32, small_or_any_i64, text};
        use proptest::prelude::*;
        (text(), small_or_any_i32(), small_or_any_i64())
            .prop_map(|(product_id, quantity, price_per_unit)| Self {
                product_id,
                quantity,
                price_per_unit,
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::commands::tests::*;
    use crate::domain::*;

    #[test]
    fn add_item_computes_the_totals() {
        let o = order(OrderStatus::Pending, PaymentStatus::Pending);
        let change = decide(Some(&o), &add_item(3, 1_250), Facts::default()).unwrap();
        assert_eq!(
            change,
            Change::ItemAdded {
                product_id: "sku-1".into(),
                quantity: 3,
                price_per_unit: 1_250,
                total_price: 3_750,
                new_total: 6_250,
            }
        );
        let mut state = o.clone();
        state.apply(&change);
        assert_eq!(
            (state.total_amount, state.item_count, state.version),
            (6_250, 3, 4)
        );
    }

    #[test]
    fn add_item_allows_a_free_item() {
        let o = order(OrderStatus::Pending, PaymentStatus::Pending);
        assert!(decide(Some(&o), &add_item(1, 0), Facts::default()).is_ok());
    }

    #[test]
    fn add_item_only_while_pending_and_unpaid() {
        only_while_pending(&add_item(1, 100), RejectionCode::OrderNotEditable);
    }
}
