//! The command-line verbs besides `serve`: what a person uses to drive and
//! watch the service by hand.

mod args;
mod dlq;
mod positions;
mod progress;
mod reader;
mod send;
mod tail;

#[cfg(feature = "bench")]
pub use args::BenchArgs;
pub use args::{Cli, CliCommand, DlqArgs, DlqCommand, SendArgs, TailArgs};
pub use dlq::dlq;
pub use positions::{PositionsArgs, PositionsCommand, ResetArgs, positions};
pub use send::{Rejected, prepare_command, send};
pub use tail::tail;
