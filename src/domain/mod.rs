//! The order rules, as pure code: no IO, no diesel, no rdkafka.
//!
//! [`decide`] takes what is known about one order and one command and answers
//! with the [`Change`] to make or the [`Rejection`] to report. The processor
//! loads the state, calls it, and writes what it answers; the same function is
//! unit-tested over every allowed and forbidden transition.

mod command;
mod currency;
mod rejection;
mod rules;
mod state;
mod status;
mod validate;

#[cfg(test)]
mod proptests;

pub use command::{Command, CommandBody, limits};
pub use currency::is_iso_4217;
pub use rejection::{Rejection, RejectionCode};
pub use rules::decide;
pub use state::{Change, Facts, OrderState, PaymentState};
pub use status::{OrderStatus, PaymentStatus};
pub use validate::validate;
