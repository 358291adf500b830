//! Consumers: the order-command consumer (reading and the lanes in
//! order_commands.rs; record.rs: a record decoded or dead-lettered;
//! durable.rs: a lane's batch made durable; leave.rs: leaving the group
//! while the database is unreachable), its librdkafka client (built again
//! while the broker holds a static id, client.rs), its batches and client
//! context, and the decoding of its records. Each part is a type of its
//! own that the consumer holds: imports go one way.

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
