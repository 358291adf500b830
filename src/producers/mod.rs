//! Producers: the outbox relay (order events), the dead-letter producer, and
//! the command publisher behind `send` and the REST API.

mod commands;
mod dlq;
mod relay;

pub use commands::{CommandPublisher, Published};
pub use dlq::{DeadLetter, DeadLetterProducer, headers as dead_letter_headers};
pub use relay::OutboxRelay;
