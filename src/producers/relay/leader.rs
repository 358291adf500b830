//! The publisher role: a connection of its own holding a session-level
//! advisory lock (losing the connection loses the lock), on which the
//! relay runs its statements.

use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use crate::db::models::OutboxMessage;
use crate::db::{Database, DbError};

/// Key of the advisory lock that makes one relay the publisher.
const RELAY_LOCK: i64 = 0x6f72_6465_725f_726c;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// The publisher role: a connection holding the session-level lock.
#[derive(Clone)]
pub(super) struct Leader(Arc<Mutex<PgConnection>>);

impl Leader {
    /// Runs `f` on the leader connection on the blocking pool.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, DbError> {
        let conn = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| std::panic::resume_unwind(e.into_panic()))
        .and_then(|result| result.map_err(DbError::from))
    }

    /// Connects and tries the publisher lock: the role and the saved
    /// watermark, or `None` when another instance holds it. Blocking.
    pub(super) fn claim(db: &Database) -> Result<Option<(Leader, i64)>, DbError> {
        let mut conn = db.dedicated_connection()?;
        // A watermark lost in a crash only re-publishes its events
        // (repeats with the same event_id, which at-least-once allows):
        // the relay's statements need not wait for the WAL flush.
        diesel::sql_query("SET synchronous_commit = off").execute(&mut conn)?;
        let lock = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
            .bind::<BigInt, _>(RELAY_LOCK)
            .get_result::<Locked>(&mut conn)?;
        if !lock.locked {
            return Ok(None);
        }
        let published_through = OutboxMessage::published_through(&mut conn)?;
        Ok(Some((
            Leader(Arc::new(Mutex::new(conn))),
            published_through,
        )))
    }
}
