//! Consumers: the order-command consumer and the decoding of its records.

mod decode;
mod order_commands;

pub use decode::{DecodeError, decode_command};
pub use order_commands::OrderCommandConsumer;
