//! What the kinds' `Arbitrary` bodies share: statuses and text from empty
//! to well past every limit. For the property tests, and for the fuzz
//! target (the `proptest` feature), which draws bodies from the same
//! strategies with the fuzzer's bytes as their randomness.

use proptest::prelude::*;

use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::{CommandBody, OrderStatus, PaymentStatus};

pub(crate) fn order_status() -> impl Strategy<Value = OrderStatus> {
    proptest::sample::select(OrderStatus::ALL.to_vec())
}

pub(crate) fn payment_status() -> impl Strategy<Value = PaymentStatus> {
    proptest::sample::select(PaymentStatus::ALL.to_vec())
}

/// Text from empty to well past every limit, with odd characters.
pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9-]{1,12}",
        "\\PC{0,80}",
        (1usize..700).prop_map(|n| "x".repeat(n)),
        Just("a\0b".to_owned()),
    ]
}

/// A body of any kind drawn from the kinds' strategies, `bytes` (a
/// fuzzer's) the seed of their randomness; the same bytes, the same body.
/// A seed, not a pass-through source: at the end of the bytes that gives
/// zeros for ever, and a strategy that refuses a value (a character class)
/// would ask for ever.
pub fn body_from_seed(bytes: &[u8]) -> CommandBody {
    let mut seed = [0u8; 32];
    for (i, byte) in bytes.iter().enumerate() {
        seed[i % 32] ^= byte;
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    any::<CommandBody>()
        .new_tree(&mut runner)
        .expect("the kinds' strategies refuse no value")
        .current()
}
