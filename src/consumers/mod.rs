//! Consumers: the order-command consumer, its batches and client context,
//! and the decoding of its records.

mod batch;
mod context;
mod decode;
mod order_commands;

pub use decode::{DecodeError, decode_command};
pub use order_commands::OrderCommandConsumer;
