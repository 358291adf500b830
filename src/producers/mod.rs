//! Producers: the outbox relay (order events) and the dead-letter producer.

mod dlq;
mod relay;

pub use dlq::{DeadLetter, DeadLetterProducer};
pub use relay::OutboxRelay;
