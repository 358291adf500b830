//! Fuzzes the command decoder and the domain state machine together: the
//! input is a sequence of records (one length byte, one kind byte, then the
//! payload). A record goes through `decode_command` exactly as the consumer
//! would see it, or, when the kind byte says so, seeds a command body drawn
//! from the kinds' property-test strategies (random bytes rarely decode to
//! a valid command: this is how the fuzzer reaches the rules).
//! What comes out is decided against the order's evolving state. Nothing
//! may panic, and the state must stay consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use order_service::consumers::decode_command;
use order_service::domain::{Change, Facts, OrderState, body_from_seed, decide};

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
            // Every kind, a new one included, from the kinds' own
            // strategies: no list of kinds here.
            body_from_seed(payload)
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
