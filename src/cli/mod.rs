//! The command-line verbs besides `serve`: what a person uses to drive and
//! watch the service by hand.

mod send;
mod tail;

pub use send::{prepare_command, send};
pub use tail::tail;
