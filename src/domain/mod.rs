//! The order rules, as pure code: no IO, no diesel, no rdkafka.
//!
//! [`decide`] takes what is known about one order and one command and answers
//! with the [`Change`] to make or the [`Rejection`] to report. The processor
//! loads the state, calls it, and writes what it answers; the same function is
//! unit-tested over every allowed and forbidden transition.

mod command;
mod currency;
mod rules;
mod status;

#[cfg(test)]
mod proptests;

pub use command::{Command, CommandBody, limits};
pub use currency::is_iso_4217;
pub use rules::{
    Change, Facts, OrderState, PaymentState, Rejection, RejectionCode, decide, validate,
};
pub use status::{OrderStatus, PaymentStatus};
