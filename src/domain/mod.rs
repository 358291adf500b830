//! The order rules, as pure code: no IO, no diesel, no rdkafka.
//!
//! [`decide`] takes what is known about one order and one command and answers
//! with the [`Change`] to make or the [`Rejection`] to report. The processor
//! loads the state, calls it, and writes what it answers; the same function is
//! unit-tested over every allowed and forbidden transition.

mod commands;
mod currency;
mod rejection;
mod state;
mod status;

#[cfg(any(test, feature = "proptest"))]
mod arbitrary;
#[cfg(any(test, feature = "proptest"))]
pub use arbitrary::body_from_seed;
#[cfg(test)]
mod proptests;

pub(crate) use commands::with_kinds;
pub use commands::*;
pub use currency::is_iso_4217;
pub use rejection::{Rejection, RejectionCode};
pub use state::{Change, Facts, OrderState, PaymentState};
pub use status::{OrderStatus, PaymentStatus};
