//! Fuzzes the command decoder and the domain state machine together: the
//! input is a sequence of records (one length byte, one kind byte, then the
//! payload). A record goes through `decode_command` exactly as the consumer
//! would see it, or, when the kind byte says so, is read as a command body
//! field by field (random bytes rarely spell a UUID, so this is how the
//! fuzzer reaches the rules). What comes out is decided against the order's
//! evolving state. Nothing may panic, and the state must stay consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use order_service::consumers::decode_command;
use order_service::domain::{
    AddOrderItem, Change, CommandBody, CommandKind, CreateOrder, Facts, OrderState, OrderStatus,
    PaymentStatus, ProcessPayment, UpdateOrderStatus, UpdatePaymentStatus, decide,
};

fuzz_target!(|data: &[u8]| {
    let mut state: Option<OrderState> = None;
    let mut rest = data;
    while let [len, kind, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        let content_type: Option<&[u8]> = match kind % 3 {
            0 => None,
            1 => Some(b"application/json"),
            _ => Some(b"application/x-protobuf"),
        };
        let body = if kind & 0x40 != 0 {
            structured(payload)
        } else {
            match decode_command(Some(payload), content_type) {
                Ok(command) => command.body,
                Err(_) => continue,
            }
        };
        let facts = Facts {
            transaction_id_taken: kind & 0x80 != 0,
        };
        let before = state.clone();
        match decide(state.as_ref(), &body, facts) {
            Ok(Change::Created { .. }) if state.is_none() => state = Some(OrderState::created()),
            Ok(change) => {
                let order = state
                    .as_mut()
                    .expect("only Created applies to a missing order");
                order.apply(&change);
                assert_eq!(order.version, before.as_ref().map_or(0, |b| b.version) + 1);
            }
            Err(_) => assert_eq!(state, before, "a rejection changes nothing"),
        }
        if let Some(order) = &state {
            assert_eq!(order.broken_invariant(), None, "{order:?}");
        }
    }
});

/// A command body read straight from bytes.
fn structured(bytes: &[u8]) -> CommandBody {
    let byte = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let int = |i: usize| i32::from_le_bytes([byte(i), byte(i + 1), byte(i + 2), byte(i + 3)]);
    let long = |i: usize| i64::from(int(i)) * i64::from(byte(i + 4)).max(1);
    let text = |i: usize| match byte(i) % 4 {
        0 => String::new(),
        1 => "tx-1".to_owned(),
        2 => "x".repeat(usize::from(byte(i + 1)) * 3),
        _ => String::from_utf8_lossy(bytes.get(i..).unwrap_or_default()).into_owned(),
    };
    // One past the last status reads as unknown (`None`).
    let order_status = |i: usize| {
        OrderStatus::ALL
            .get(usize::from(byte(i)) % (OrderStatus::ALL.len() + 1))
            .copied()
    };
    let payment_status = |i: usize| {
        PaymentStatus::ALL
            .get(usize::from(byte(i)) % (PaymentStatus::ALL.len() + 1))
            .copied()
    };
    // A match over the kinds: a new kind does not compile until it is read.
    match CommandKind::ALL[usize::from(byte(0)) % CommandKind::ALL.len()] {
        CommandKind::CreateOrder => CreateOrder {
            user_id: text(1),
            shipping_address: text(3),
            currency: if byte(5) % 2 == 0 {
                "EUR".into()
            } else {
                text(6)
            },
        }
        .into(),
        CommandKind::AddOrderItem => AddOrderItem {
            product_id: text(1),
            quantity: int(3),
            price_per_unit: long(7),
        }
        .into(),
        CommandKind::ProcessPayment => ProcessPayment {
            amount: long(1),
            payment_method: text(6),
            transaction_id: text(8),
        }
        .into(),
        CommandKind::UpdatePaymentStatus => UpdatePaymentStatus {
            transaction_id: text(1),
            status: payment_status(3),
        }
        .into(),
        CommandKind::UpdateOrderStatus => UpdateOrderStatus {
            status: order_status(1),
            reason: text(2),
        }
        .into(),
    }
}
