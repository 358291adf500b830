//! The field rules as `decide` applies them: every command's fields are
//! checked (and answered `VALIDATION_FAILED`) before its order is looked at.

use super::tests::{add_item, code, create, order, pay, set_payment, set_status, with_payment};
use super::*;
use crate::domain::{OrderStatus, PaymentStatus};

#[test]
fn create_validates_its_fields() {
    let cases = [
        ("", "addr", "EUR"),
        ("   ", "addr", "EUR"),
        (&"u".repeat(limits::USER_ID + 1), "addr", "EUR"),
        ("user", "", "EUR"),
        ("user", &"a".repeat(limits::SHIPPING_ADDRESS + 1), "EUR"),
        ("user", "addr", "eur"),
        ("user", "addr", "EURO"),
        ("user", "addr", ""),
        ("us\0er", "addr", "EUR"),
    ];
    for (user_id, shipping_address, currency) in cases {
        let body = CommandBody::from(CreateOrder {
            user_id: user_id.into(),
            shipping_address: shipping_address.into(),
            currency: currency.into(),
        });
        assert_eq!(
            code(decide(None, &body, Facts::default())),
            RejectionCode::ValidationFailed,
            "{body:?}"
        );
    }
    // Limits count characters, not bytes.
    let body = CommandBody::from(CreateOrder {
        user_id: "ü".repeat(limits::USER_ID),
        shipping_address: "addr".into(),
        currency: "EUR".into(),
    });
    assert!(decide(None, &body, Facts::default()).is_ok());
}

#[test]
fn add_item_rejects_bad_quantities_prices_and_overflow() {
    let o = order(OrderStatus::Pending, PaymentStatus::Pending);
    for body in [
        add_item(0, 100),
        add_item(-1, 100),
        add_item(1, -1),
        add_item(i32::MAX, i64::MAX),
        add_item(1, i64::MAX),
        CommandBody::from(AddOrderItem {
            product_id: "".into(),
            quantity: 1,
            price_per_unit: 1,
        }),
        CommandBody::from(AddOrderItem {
            product_id: "p".repeat(limits::PRODUCT_ID + 1),
            quantity: 1,
            price_per_unit: 1,
        }),
    ] {
        assert_eq!(
            code(decide(Some(&o), &body, Facts::default())),
            RejectionCode::ValidationFailed,
            "{body:?}"
        );
    }
}

#[test]
fn order_status_needs_a_known_status_and_a_bounded_reason() {
    let o = order(OrderStatus::Pending, PaymentStatus::Completed);
    assert_eq!(
        code(decide(Some(&o), &set_status(None), Facts::default())),
        RejectionCode::ValidationFailed
    );
    let long = CommandBody::from(UpdateOrderStatus {
        status: Some(OrderStatus::Cancelled),
        reason: "r".repeat(limits::REASON + 1),
    });
    assert_eq!(
        code(decide(Some(&o), &long, Facts::default())),
        RejectionCode::ValidationFailed
    );
    let empty_reason = CommandBody::from(UpdateOrderStatus {
        status: Some(OrderStatus::Cancelled),
        reason: String::new(),
    });
    assert!(decide(Some(&o), &empty_reason, Facts::default()).is_ok());
}

#[test]
fn currency_must_be_a_real_iso_4217_code() {
    for currency in ["ABC", "XXX", "eur", "EURO"] {
        let body = CommandBody::from(CreateOrder {
            user_id: "user-1".into(),
            shipping_address: "1 Main St".into(),
            currency: currency.into(),
        });
        assert_eq!(
            code(decide(None, &body, Facts::default())),
            RejectionCode::ValidationFailed,
            "{currency}"
        );
    }
    assert!(decide(None, &create(), Facts::default()).is_ok());
}

#[test]
fn a_reason_with_a_nul_is_refused_before_any_sql() {
    let body = CommandBody::from(UpdateOrderStatus {
        status: Some(OrderStatus::Cancelled),
        reason: "changed\0mind".into(),
    });
    assert_eq!(
        code(decide(
            Some(&order(OrderStatus::Pending, PaymentStatus::Pending)),
            &body,
            Facts::default()
        )),
        RejectionCode::ValidationFailed
    );
}

#[test]
fn field_checks_come_before_the_order_lookup() {
    for body in [set_payment(None), set_status(None), add_item(0, 1), pay(-1)] {
        assert_eq!(
            code(decide(None, &body, Facts::default())),
            RejectionCode::ValidationFailed,
            "{body:?}"
        );
    }
}

#[test]
fn payment_status_needs_a_known_payment_and_status() {
    let o = order(OrderStatus::Pending, PaymentStatus::Pending);
    assert_eq!(
        code(decide(
            Some(&o),
            &set_payment(Some(PaymentStatus::Completed)),
            Facts::default()
        )),
        RejectionCode::PaymentNotFound
    );
    let o = with_payment(o, PaymentStatus::Pending);
    assert_eq!(
        code(decide(Some(&o), &set_payment(None), Facts::default())),
        RejectionCode::ValidationFailed
    );
}
