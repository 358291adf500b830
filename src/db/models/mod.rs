//! One module per table: a read struct, an insert struct, and the queries the
//! service runs against that table.

pub mod command_id_conflict;
pub mod command_topic;
pub mod consumer_offset;
mod expiry;
pub mod idempotency_key;
pub mod order;
pub mod order_item;
pub mod outbox;
pub mod outbox_partition;
pub mod payment;
pub mod processed_command;
pub mod relay_lease;
pub mod status_history;
pub mod unnest;

pub use command_id_conflict::CommandIdConflict;
pub use command_topic::CommandTopic;
pub use consumer_offset::ConsumerOffset;
pub use idempotency_key::{Claim, IdempotencyClaim};
pub use order::{NewOrder, Order, OrderUpdate};
pub use order_item::{NewOrderItem, OrderItem};
pub use outbox::{NewOutboxMessage, OutboxMessage};
pub use outbox_partition::OutboxPartition;
pub use payment::{NewPayment, Payment};
pub use processed_command::{NewProcessedCommand, ProcessedCommand, ProcessedFingerprint};
pub use relay_lease::{Claimed, LeaseView, RelayLease};
pub use status_history::{NewStatusChange, StatusChange};
