//! Integration tests: the real application (built through
//! `Application::build`, as `main` does) against the real PostgreSQL and a
//! real Apache Kafka broker. Run them with `scripts/test`, which starts the
//! broker (with plaintext, SASL_SSL, SASL_PLAINTEXT and SSL listeners) and
//! sets `TEST_KAFKA_*`.

mod helpers;

mod chaos;
mod cli;
mod cli_admin;
mod dead_letters;
mod hostile;
mod http;
mod http_auth;
mod http_front;
mod http_keys;
mod http_probes;
mod http_wait;
mod idempotency;
mod interleaving;
mod lifecycle;
mod one_batch;
mod openapi;
mod outbox_partitions;
mod oversized;
mod positions;
mod quarantine;
mod read_pools;
mod rebalance_race;
mod refusals;
mod rejections;
mod relay;
mod retention;
mod schema;
mod scratch;
mod security;
mod topics;
mod trace_export;
mod walkthrough;
