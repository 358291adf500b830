//! What the rule tests share (an order, each kind's body), and the rules
//! across kinds. Each kind's own rules are tested in its module.

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

/// `body` applies to a pending order only (`OrderNotEditable` otherwise);
/// beside an active payment (pending or completed) it is refused with
/// `while_paying`, beside an ended one it applies.
pub(super) fn only_while_pending(body: &CommandBody, while_paying: RejectionCode) {
    for status in OrderStatus::ALL {
        let o = order(status, PaymentStatus::Pending);
        let result = decide(Some(&o), body, Facts::default());
        if status == OrderStatus::Pending {
            assert!(result.is_ok());
        } else {
            assert_eq!(code(result), RejectionCode::OrderNotEditable, "{status}");
        }
    }
    for payment in PaymentStatus::ALL {
        let o = with_payment(order(OrderStatus::Pending, PaymentStatus::Pending), payment);
        let result = decide(Some(&o), body, Facts::default());
        if payment.is_active() {
            assert_eq!(code(result), while_paying, "{payment}");
        } else {
            assert!(result.is_ok(), "after a {payment} payment");
        }
    }
}

pub(super) fn code(result: Result<Change, Rejection>) -> RejectionCode {
    result.expect_err("expected a rejection").code
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
