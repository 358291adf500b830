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

/// A transaction id: often the one every generated payment carries, so a
/// status update finds its payment.
pub(crate) fn transaction_id() -> impl Strategy<Value = String> {
    prop_oneof![Just("tx-1".to_owned()), text()]
}

/// A count: mostly small, so totals stay in range and items are accepted;
/// sometimes anything.
pub(crate) fn small_or_any_i32() -> impl Strategy<Value = i32> {
    prop_oneof![3 => 1..20i32, 1 => any::<i32>()]
}

/// An amount in minor units: mostly small (items accepted, a payment may
/// match the total), sometimes anything.
pub(crate) fn small_or_any_i64() -> impl Strategy<Value = i64> {
    prop_oneof![3 => 0..5_000i64, 1 => any::<i64>()]
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
/// fuzzer's) their randomness as they come, so the fuzzer steers each
/// field; the same bytes, the same body. Past the bytes comes a stream
/// seeded by them, not the zeros of a bare pass-through source: on zeros
/// for ever, a strategy that refuses a value (a character class) would
/// ask for ever.
pub fn body_from_seed(bytes: &[u8]) -> CommandBody {
    let mut seed = [0u8; 32];
    for (i, byte) in bytes.iter().enumerate() {
        seed[i % 32] ^= byte;
    }
    let mut stream = bytes.to_vec();
    let mut tail = vec![0u8; 16 * 1024];
    TestRng::from_seed(RngAlgorithm::ChaCha, &seed).fill_bytes(&mut tail);
    stream.extend_from_slice(&tail);
    let rng = TestRng::from_seed(RngAlgorithm::PassThrough, &stream);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    any::<CommandBody>()
        .new_tree(&mut runner)
        .expect("the kinds' strategies refuse no value")
        .current()
}
