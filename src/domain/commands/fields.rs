//! The checks fields share: required, bounded text without NUL; a known
//! status.

use crate::domain::Rejection;

pub(super) fn known_status(known: bool) -> Result<(), Rejection> {
    if known {
        Ok(())
    } else {
        Err(Rejection::invalid("status is unspecified or unknown"))
    }
}

/// Required text: not blank, at most `max` characters, no NUL (which
/// PostgreSQL text cannot hold).
pub(super) fn text(field: &str, value: &str, max: usize) -> Result<(), Rejection> {
    if value.trim().is_empty() {
        return Err(Rejection::invalid(format!("{field} is required")));
    }
    bounded(field, value, max)
}

/// Optional text: at most `max` characters, no NUL.
pub(super) fn bounded(field: &str, value: &str, max: usize) -> Result<(), Rejection> {
    if value.chars().count() > max {
        return Err(Rejection::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if value.contains('\0') {
        return Err(Rejection::invalid(format!(
            "{field} contains a NUL character"
        )));
    }
    Ok(())
}
