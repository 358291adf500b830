//! Property tests: any command against any state either changes the order
//! consistently or is rejected — never a panic, never an inconsistent state.

use proptest::prelude::*;

use super::*;

fn order_status() -> impl Strategy<Value = OrderStatus> {
    proptest::sample::select(OrderStatus::ALL.to_vec())
}

fn payment_status() -> impl Strategy<Value = PaymentStatus> {
    proptest::sample::select(PaymentStatus::ALL.to_vec())
}

/// Text from empty to well past every limit, with odd characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9-]{1,12}",
        "\\PC{0,80}",
        (1usize..700).prop_map(|n| "x".repeat(n)),
        Just("a\0b".to_owned()),
    ]
}

/// Any body of `kind`: a match over the kinds, so a new kind does not
/// compile until it has a generator.
fn body_of(kind: CommandKind) -> BoxedStrategy<CommandBody> {
    match kind {
        CommandKind::CreateOrder => (
            text(),
            text(),
            prop_oneof![Just("EUR".to_owned()), "[A-Za-z]{0,4}"],
        )
            .prop_map(|(user_id, shipping_address, currency)| {
                CreateOrder {
                    user_id,
                    shipping_address,
                    currency,
                }
                .into()
            })
            .boxed(),
        CommandKind::AddOrderItem => (text(), any::<i32>(), any::<i64>())
            .prop_map(|(product_id, quantity, price_per_unit)| {
                AddOrderItem {
                    product_id,
                    quantity,
                    price_per_unit,
                }
                .into()
            })
            .boxed(),
        CommandKind::ProcessPayment => (any::<i64>(), text(), text())
            .prop_map(|(amount, payment_method, transaction_id)| {
                ProcessPayment {
                    amount,
                    payment_method,
                    transaction_id,
                }
                .into()
            })
            .boxed(),
        CommandKind::UpdatePaymentStatus => (
            prop_oneof![Just("tx-0".to_owned()), text()],
            proptest::option::of(payment_status()),
        )
            .prop_map(|(transaction_id, status)| {
                UpdatePaymentStatus {
                    transaction_id,
                    status,
                }
                .into()
            })
            .boxed(),
        CommandKind::UpdateOrderStatus => (proptest::option::of(order_status()), text())
            .prop_map(|(status, reason)| UpdateOrderStatus { status, reason }.into())
            .boxed(),
    }
}

/// A body of any kind, each kind as likely.
fn body() -> impl Strategy<Value = CommandBody> {
    proptest::sample::select(CommandKind::ALL.to_vec()).prop_flat_map(body_of)
}

proptest! {
    #[test]
    fn random_command_sequences_keep_the_order_consistent(
        bodies in proptest::collection::vec(body(), 1..60),
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
