//! `TestApp`: a fresh database and fresh topics per test, the application
//! running on them, a producer for commands and readers for events and dead
//! letters. Dropping it stops the application and drops the database.
//! app.rs: the application and its settings; kafka.rs: clients, sending
//! and reading; commands.rs: commands and row counts; apply.rs: the apply
//! stage alone (a scratch database and the processor, no broker);
//! watchdog.rs: a bound on each test's time.

mod app;
mod apply;
mod commands;
mod kafka;
mod watchdog;

pub use app::*;
pub use apply::*;
pub use commands::*;
pub use kafka::*;
