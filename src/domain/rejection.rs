//! A broken rule: its code (the wire's `RejectionCode`) and message.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionCode {
    OrderNotFound,
    OrderAlreadyExists,
    ValidationFailed,
    InvalidTransition,
    AmountMismatch,
    PaymentNotFound,
    OrderNotEditable,
    /// The command_id was processed before for another order or body.
    CommandIdConflict,
}

impl RejectionCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderNotFound => "ORDER_NOT_FOUND",
            Self::OrderAlreadyExists => "ORDER_ALREADY_EXISTS",
            Self::ValidationFailed => "VALIDATION_FAILED",
            Self::InvalidTransition => "INVALID_TRANSITION",
            Self::AmountMismatch => "AMOUNT_MISMATCH",
            Self::PaymentNotFound => "PAYMENT_NOT_FOUND",
            Self::OrderNotEditable => "ORDER_NOT_EDITABLE",
            Self::CommandIdConflict => "COMMAND_ID_CONFLICT",
        }
    }
}

/// A broken rule: reported as a `CommandRejected` event, never an error of
/// the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: RejectionCode,
    pub message: String,
}

impl Rejection {
    pub fn new(code: RejectionCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub(super) fn invalid(message: impl Into<String>) -> Self {
        Self::new(RejectionCode::ValidationFailed, message)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}
