//! Property tests: any command against any state either changes the order
//! consistently or is rejected — never a panic, never an inconsistent state.
//! Each kind's bodies come from its own module (its `Arbitrary`); the
//! strategies they share are here.

use proptest::prelude::*;

use super::*;

pub(super) fn order_status() -> impl Strategy<Value = OrderStatus> {
    proptest::sample::select(OrderStatus::ALL.to_vec())
}

pub(super) fn payment_status() -> impl Strategy<Value = PaymentStatus> {
    proptest::sample::select(PaymentStatus::ALL.to_vec())
}

/// Text from empty to well past every limit, with odd characters.
pub(super) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9-]{1,12}",
        "\\PC{0,80}",
        (1usize..700).prop_map(|n| "x".repeat(n)),
        Just("a\0b".to_owned()),
    ]
}

proptest! {
    #[test]
    fn random_command_sequences_keep_the_order_consistent(
        bodies in proptest::collection::vec(any::<CommandBody>(), 1..60),
        taken in proptest::collection::vec(any::<bool>(), 60),
    ) {
        let mut state: Option<OrderState> = None;
        for (body, taken) in bodies.iter().zip(taken) {
            let facts = Facts { transaction_id_taken: taken };
            let before = state.clone();
            match decide(state.as_ref(), body, facts) {
                Ok(change) => {
                    match (&mut state, &change) {
                        (None, Change::Created { .. }) => state = Some(OrderState::created()),
                        (Some(s), _) => s.apply(&change),
                        (None, other) => panic!("{other:?} on a missing order"),
                    }
                    let after = state.as_ref().unwrap();
                    if let Some(before) = &before {
                        prop_assert_eq!(after.version, before.version + 1);
                    }
                    if let Change::ItemAdded { quantity, price_per_unit, total_price, new_total, .. } = change {
                        prop_assert!(quantity > 0 && price_per_unit >= 0);
                        prop_assert_eq!(total_price, i64::from(quantity) * price_per_unit);
                        prop_assert_eq!(new_total, before.unwrap().total_amount + total_price);
                    }
                    prop_assert_eq!(after.broken_invariant(), None, "{:?}", after);
                }
                Err(_) => prop_assert_eq!(&state, &before),
            }
        }
    }
}
