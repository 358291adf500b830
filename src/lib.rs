//! order-service: an event-driven order service.
//!
//! Upstream services publish Protobuf `OrderCommand`s to Kafka (key =
//! order_id). The service consumes them in a consumer group, applies each
//! batch to PostgreSQL in one transaction, and publishes `OrderEvent`s through
//! a transactional outbox. A command is applied at most once however often it
//! is delivered; an event is never lost once its state change committed.
//!
//! # Layout
//!
//! Following one command through the service:
//!
//! - [`consumers`]: [`consumers::OrderCommandConsumer`] reads `order-commands`,
//!   decodes records into batches, dead-letters undecodable ones, stores
//!   offsets once a batch is durable.
//! - [`processor`]: [`processor::CommandProcessor`] applies a batch in one
//!   database transaction: dedup, rules, state rows, outbox rows.
//! - [`domain`]: the order rules as pure functions (`decide`), no IO.
//! - [`db`]: diesel schema, one model module per table (`consumer_offsets`
//!   holds the consumer's position, written in the batch transaction), the
//!   pool and [`db::Database::run`], embedded migrations.
//! - [`events`]: the `OrderEvent` and CloudEvents headers written to the
//!   outbox for each processed command.
//! - [`handover`]: a committed batch's outbox rows, passed in process from
//!   the processor to the relay.
//! - [`producers`]: [`producers::OutboxRelay`] publishes the outbox to
//!   `order-events` (handed-over rows as they come, the table for the rest;
//!   no Kafka wait inside a transaction);
//!   [`producers::DeadLetterProducer`] writes `order-commands-dlq`.
//! - [`http`]: `/healthz`, `/readyz`, `/metrics`, the REST API and its
//!   OpenAPI document; [`metrics`] holds what it reports, and
//!   [`housekeeping`] measures the outbox backlog and purges expired rows;
//!   [`reachability`] tells the consumer when this instance has lost its
//!   database for long (it leaves its group until the database answers).
//!
//! Around them: [`commands`] (the command catalogue: one module per kind,
//! its input for REST, `send` and the OpenAPI document, its route; the one
//! place commands are built and checked, and published for `send` and the
//! REST API), [`proto`] (generated wire types and conversions), [`backoff`]
//! (the one retry backoff, with jitter), [`config`]
//! (the service's typed settings from flags and env; how Kafka clients
//! connect: TLS, SASL, properties file), [`kafka`] (every librdkafka property the service
//! sets, quiet error logging, topic creation), [`excerpt`] (bounded quotes of untrusted
//! input), [`startup`] (wiring, shared by `main` and the tests),
//! [`shutdown`], [`telemetry`], [`cli`] (the command line, and the verbs
//! `send`, `tail`, `dlq`, `positions`),
//! and, with the `bench` feature, `loadgen` (order lifecycles with known
//! end states) and `bench` (`order-service bench`).

pub mod backoff;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod consumers;
pub mod db;
pub mod domain;
pub mod events;
pub mod excerpt;
pub mod handover;
pub mod housekeeping;
pub mod http;
pub mod kafka;
#[cfg(feature = "bench")]
pub mod loadgen;
pub mod metrics;
pub mod processor;
pub mod producers;
pub mod proto;
pub mod reachability;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
