//! Consumers: the order-command consumer (reading in order_commands.rs,
//! making batches durable in durable.rs, leaving its group while the
//! database is unreachable in leave.rs), its librdkafka client (built
//! again while the broker holds a static id, client.rs), its batches and
//! client context,
//! and the decoding of its records.

mod batch;
mod client;
mod context;
mod decode;
mod durable;
mod leave;
mod order_commands;
mod record;

pub use decode::{DecodeError, decode_command};
pub use order_commands::OrderCommandConsumer;
