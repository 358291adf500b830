//! Integration tests: the real application (built through
//! `Application::build`, as `main` does) against the real PostgreSQL and a
//! real Kafka-protocol broker. Run them with `scripts/test`, which starts the
//! broker and sets `TEST_KAFKA_BOOTSTRAP_SERVERS`.

mod helpers;

mod chaos;
mod cli;
mod dead_letters;
mod hostile;
mod http;
mod idempotency;
mod interleaving;
mod lifecycle;
mod rejections;
mod retention;
mod schema;
mod walkthrough;
