//! Producers: the outbox relay (order events) and the dead-letter producer.
//! (The command publisher behind `send` and the REST API sits with the
//! commands: [`crate::commands::CommandPublisher`].)

mod dlq;
mod relay;

pub use dlq::{DeadLetter, DeadLetterProducer, headers as dead_letter_headers};
pub use relay::OutboxRelay;
