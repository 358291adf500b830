//! The rules of every kind, through [`decide`]: every allowed and
//! forbidden transition.

use super::*;
use crate::domain::{OrderStatus, PaymentState, PaymentStatus};

pub(super) fn order(status: OrderStatus, payment_status: PaymentStatus) -> OrderState {
    OrderState {
        status,
        payment_status,
        total_amount: 2_500,
        item_count: 2,
        version: 3,
        payments: Vec::new(),
    }
}

pub(super) fn with_payment(mut o: OrderState, status: PaymentStatus) -> OrderState {
    o.payments.push(PaymentState {
        transaction_id: "tx-1".into(),
        status,
    });
    o.payment_status = status;
    o
}

pub(super) fn create() -> CommandBody {
    CreateOrder {
        user_id: "user-1".into(),
        shipping_address: "1 Main St".into(),
        currency: "EUR".into(),
    }
    .into()
}

pub(super) fn add_item(quantity: i32, price_per_unit: i64) -> CommandBody {
    AddOrderItem {
        product_id: "sku-1".into(),
        quantity,
        price_per_unit,
    }
    .into()
}

pub(super) fn pay(amount: i64) -> CommandBody {
    ProcessPayment {
        amount,
        payment_method: "card".into(),
        transaction_id: "tx-2".into(),
    }
    .into()
}

pub(super) fn set_payment(status: Option<PaymentStatus>) -> CommandBody {
    UpdatePaymentStatus {
        transaction_id: "tx-1".into(),
        status,
    }
    .into()
}

pub(super) fn set_status(status: Option<OrderStatus>) -> CommandBody {
    UpdateOrderStatus {
        status,
        reason: "because".into(),
    }
    .into()
}

pub(super) fn code(result: Result<Change, Rejection>) -> RejectionCode {
    result.expect_err("expected a rejection").code
}

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

#[test]
fn every_other_command_on_a_missing_order_is_order_not_found() {
    for body in [
        add_item(1, 100),
        pay(100),
        set_payment(Some(PaymentStatus::Completed)),
        set_status(Some(OrderStatus::Cancelled)),
    ] {
        assert_eq!(
            code(decide(None, &body, Facts::default())),
            RejectionCode::OrderNotFound,
            "{body:?}"
        );
    }
}

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
    for status in OrderStatus::ALL {
        let o = order(status, PaymentStatus::Pending);
        let result = decide(Some(&o), &add_item(1, 100), Facts::default());
        if status == OrderStatus::Pending {
            assert!(result.is_ok());
        } else {
            assert_eq!(code(result), RejectionCode::OrderNotEditable, "{status}");
        }
    }
    for payment in PaymentStatus::ALL {
        let o = with_payment(order(OrderStatus::Pending, PaymentStatus::Pending), payment);
        let result = decide(Some(&o), &add_item(1, 100), Facts::default());
        if payment.is_active() {
            assert_eq!(code(result), RejectionCode::OrderNotEditable, "{payment}");
        } else {
            assert!(result.is_ok(), "{payment}");
        }
    }
}

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

    for status in OrderStatus::ALL {
        let o = order(status, PaymentStatus::Pending);
        let result = decide(Some(&o), &pay(2_500), Facts::default());
        if status == OrderStatus::Pending {
            assert!(result.is_ok());
        } else {
            assert_eq!(code(result), RejectionCode::OrderNotEditable, "{status}");
        }
    }

    for payment in PaymentStatus::ALL {
        let o = with_payment(order(OrderStatus::Pending, PaymentStatus::Pending), payment);
        let result = decide(Some(&o), &pay(2_500), Facts::default());
        if payment.is_active() {
            assert_eq!(code(result), RejectionCode::InvalidTransition, "{payment}");
        } else {
            assert!(result.is_ok(), "retry after a {payment} payment");
        }
    }

    let o = order(OrderStatus::Pending, PaymentStatus::Pending);
    let taken = Facts {
        transaction_id_taken: true,
    };
    assert_eq!(
        code(decide(Some(&o), &pay(2_500), taken)),
        RejectionCode::ValidationFailed
    );
}

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

#[test]
fn status_text_round_trips() {
    for s in OrderStatus::ALL {
        assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
    }
    for s in PaymentStatus::ALL {
        assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
    }
    assert_eq!(OrderStatus::parse("PENDING"), None);
}

#[test]
fn broken_invariants_are_named() {
    assert_eq!(OrderState::created().broken_invariant(), None);
    let two_active = with_payment(
        with_payment(
            order(OrderStatus::Pending, PaymentStatus::Pending),
            PaymentStatus::Pending,
        ),
        PaymentStatus::Completed,
    );
    assert_eq!(
        two_active.broken_invariant(),
        Some("two pending or completed payments")
    );
    assert_eq!(
        order(OrderStatus::Shipped, PaymentStatus::Failed).broken_invariant(),
        Some("confirmed without a completed payment")
    );
    let negative = OrderState {
        total_amount: -1,
        ..order(OrderStatus::Pending, PaymentStatus::Pending)
    };
    assert_eq!(negative.broken_invariant(), Some("negative total"));
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
