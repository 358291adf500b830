//! Consumers: the order-command consumer (reading in order_commands.rs,
//! making batches durable in durable.rs), its batches and client context,
//! and the decoding of its records.

mod batch;
mod context;
mod decode;
mod durable;
mod order_commands;

pub use decode::{DecodeError, decode_command};
pub use order_commands::OrderCommandConsumer;
