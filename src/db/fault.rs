//! Whose fault a failed statement is, told by its SQLSTATE (never by the
//! server's message, whose language and wording are the server's).
//!
//! Only two classes speak of the data a statement carried: 22 (data
//! exception: a value out of range, a string too long) and 23 (integrity
//! constraint violation). Everything else says the database is not working
//! for this statement right now: a lost connection (08), a conflict or
//! deadlock (40), a missing table or a revoked privilege (42), resources
//! (53), a lock not available (55), a timeout or an operator's cancel (57),
//! the system (58), a read-only server (25006), a changed plan (0A000), an
//! internal error (XX), and any class not named here. A unique violation
//! (23505) is the one class-23 code a redelivery racing another instance
//! raises: it passes when retried, so it is the database's until it
//! persists (see the processor).

use diesel::result::Error as DieselError;

use super::DbError;

/// Whose fault a failed statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The statement's data: the same data fails the same way.
    Data,
    /// The database, its schema, its privileges or its load: wait and retry.
    Database,
}

pub const UNIQUE_VIOLATION: &str = "23505";

/// The SQLSTATE of a statement the server refused, if it sent one.
pub fn sqlstate(error: &DieselError) -> Option<&str> {
    match error {
        DieselError::DatabaseError(_, info) => info.sqlstate(),
        _ => None,
    }
}

/// Whose fault `error` is (module docs). Of the errors the server did not
/// send, only a value diesel could not bind comes from the command's data;
/// a row it could not read is the database's (a column whose type changed,
/// a status a newer release wrote).
pub fn blame(error: &DieselError) -> Blame {
    match error {
        DieselError::DatabaseError(..) => match sqlstate(error) {
            Some(code) if code == UNIQUE_VIOLATION => Blame::Database,
            Some(code) if code.starts_with("22") || code.starts_with("23") => Blame::Data,
            _ => Blame::Database,
        },
        DieselError::SerializationError(_) => Blame::Data,
        _ => Blame::Database,
    }
}

/// An integrity constraint's refusal (class 23), the unique violation a
/// redelivery may raise included.
pub fn is_integrity(error: &DieselError) -> bool {
    sqlstate(error).is_some_and(|code| code.starts_with("23"))
}

/// A refusal by the schema: an integrity constraint (class 23) other than
/// the unique violation a redelivery may raise.
pub fn is_constraint_refusal(error: &DieselError) -> bool {
    sqlstate(error).is_some_and(|code| code.starts_with("23") && code != UNIQUE_VIOLATION)
}

impl DbError {
    /// The SQLSTATE the server sent, if any.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Self::Query(e) | Self::Unwell(e) => sqlstate(e),
            _ => None,
        }
    }

    /// Whose fault it is; anything but a statement's own error is the
    /// database's (no connection, a lock held elsewhere, a failed probe).
    pub fn blame(&self) -> Blame {
        match self {
            Self::Query(e) => blame(e),
            _ => Blame::Database,
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind};

    use super::*;

    struct Info(&'static str);

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            "Meldung in der Sprache des Servers"
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
        fn sqlstate(&self) -> Option<&str> {
            Some(self.0)
        }
    }

    fn error(code: &'static str) -> DieselError {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(Info(code)))
    }

    #[test]
    fn only_data_exceptions_and_constraints_blame_the_data() {
        for code in [
            "22003", "22001", "22P02", "23502", "23503", "23514", "23P01",
        ] {
            assert_eq!(blame(&error(code)), Blame::Data, "{code}");
        }
        for code in [
            "23505", "08006", "40001", "40P01", "42P01", "42501", "53100", "55P03", "57014",
            "57P01", "58030", "25006", "0A000", "XX000", "54000", "P0001",
        ] {
            assert_eq!(blame(&error(code)), Blame::Database, "{code}");
        }
    }

    #[test]
    fn an_error_without_sqlstate_is_the_databases() {
        let unknown =
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(String::new()));
        assert_eq!(blame(&unknown), Blame::Database);
        assert_eq!(
            blame(&DieselError::BrokenTransactionManager),
            Blame::Database
        );
    }

    #[test]
    fn a_unique_violation_is_no_refusal() {
        assert!(is_constraint_refusal(&error("23502")));
        assert!(!is_constraint_refusal(&error("23505")));
        assert!(!is_constraint_refusal(&error("22003")));
    }
}
