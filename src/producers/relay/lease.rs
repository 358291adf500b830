//! The publisher role: a lease in `outbox_relay` (see
//! [`RelayLease`]), renewed on a connection of the relay's own, on which
//! the relay runs its statements.
//!
//! The holder's term is judged by its own monotonic clock from the moment
//! it last asked for a renewal, and ends a fifth of the lease before the
//! database would let another instance in: a holder that was paused or cut
//! off stops before anyone else starts. (Kafka's fencing is the guarantee;
//! this only keeps a deposed holder from trying.)
//!
//! Relays of earlier releases took the role with a session advisory lock,
//! exclusively: every instance of this release holds that lock shared, for
//! as long as it runs ([`OldRelayGuard`]), so no old relay can take it; a
//! new holder first ends the session of an old relay that holds it (its
//! owner stops publishing at its next statement). During a rolling upgrade
//! an old relay never publishes beside a new one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use tokio::time::Instant;

use crate::db::models::{Claimed, RelayLease};
use crate::db::{Database, DbError};

/// Key of the advisory lock relays of earlier releases publish under.
const OLD_RELAY_LOCK: i64 = 0x6f72_6465_725f_726c;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// A term of the publisher role.
pub(super) struct Lease {
    conn: Arc<Mutex<PgConnection>>,
    pub(super) claimed: Claimed,
    length: Duration,
    /// When this term ends by this process's clock.
    pub(super) valid_until: Instant,
    /// When the last renewal was asked for.
    renewed_at: Instant,
}

impl Lease {
    /// Connects, takes the lease for `holder` if it is free, and ends any
    /// earlier release's relay. `None` when another instance holds the
    /// lease. Blocking.
    pub(super) fn claim(
        db: &Database,
        holder: &str,
        length: Duration,
    ) -> Result<Option<Lease>, DbError> {
        let mut conn = db.dedicated_connection()?;
        // The watermark and renewals need not wait for the WAL flush: a
        // lost watermark only lags Kafka's position, a lost renewal only
        // ends the term sooner. The claim itself is flushed.
        diesel::sql_query("SET synchronous_commit = off").execute(&mut conn)?;
        diesel::sql_query("SELECT set_config('application_name', $1, false)")
            .bind::<Text, _>(format!("order-service relay {holder}"))
            .execute(&mut conn)?;
        let asked = Instant::now();
        let Some(claimed) = RelayLease::claim(&mut conn, holder, length.as_secs_f64())? else {
            return Ok(None);
        };
        Ok(Some(Lease {
            conn: Arc::new(Mutex::new(conn)),
            claimed,
            length,
            valid_until: asked + term(length),
            renewed_at: asked,
        }))
    }

    /// Whether the term still runs by this process's clock.
    pub(super) fn valid(&self) -> bool {
        Instant::now() < self.valid_until
    }

    /// When the next renewal is due (every fifth of the lease).
    pub(super) fn renewal_at(&self) -> Instant {
        self.renewed_at + self.length / 5
    }

    pub(super) fn renewal_due(&self) -> bool {
        Instant::now() >= self.renewal_at()
    }

    /// Renews the term, raising the saved watermark to `through` with it
    /// (and recording that Kafka holds a position when `kafka_position`).
    /// `Ok(false)`: the lease is someone else's now.
    pub(super) async fn renew(
        &mut self,
        through: Option<i64>,
        kafka_position: bool,
    ) -> Result<bool, DbError> {
        let generation = self.claimed.generation;
        let secs = self.length.as_secs_f64();
        let asked = Instant::now();
        let renewed = self
            .run(move |conn| RelayLease::renew(conn, generation, secs, through, kafka_position))
            .await?;
        if renewed {
            self.renewed_at = asked;
            self.valid_until = asked + term(self.length);
        }
        Ok(renewed)
    }

    /// Ends the term now (at shutdown), so the next holder need not wait.
    pub(super) async fn release(&self) -> Result<(), DbError> {
        let generation = self.claimed.generation;
        self.run(move |conn| RelayLease::release(conn, generation))
            .await
    }

    /// Runs `f` on the lease's connection on the blocking pool.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, DbError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| std::panic::resume_unwind(e.into_panic()))
        .and_then(|result| result.map_err(DbError::from))
    }
}

/// How long a term lasts by the holder's clock: the lease less a fifth.
fn term(length: Duration) -> Duration {
    length - length / 5
}

/// Keeps relays of earlier releases from taking the role: a shared hold
/// on their advisory lock, on a connection of its own for the process's
/// life, taken again when that connection is lost.
#[derive(Default)]
pub(super) struct OldRelayGuard {
    conn: Option<PgConnection>,
}

impl OldRelayGuard {
    /// Makes sure the shared hold stands; with `retire`, ends the sessions
    /// of earlier relays that hold the lock exclusively. Whether it
    /// stands. Blocking.
    pub(super) fn hold(&mut self, db: &Database, retire: bool) -> Result<bool, DbError> {
        if let Some(conn) = &mut self.conn
            && diesel::sql_query("SELECT 1").execute(conn).is_ok()
        {
            return Ok(true);
        }
        self.conn = None;
        let mut conn = db.dedicated_connection()?;
        let held = if retire {
            // Queued for the lock first, then the holder's session ended:
            // the queued request is granted as that session ends, before
            // the old relay (which retries within a second) can take the
            // lock again.
            let retirer = {
                let db = db.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(RETIRE_AFTER);
                    retire_old_relays(&db)
                })
            };
            // Not granted within the lock_timeout (or any other failure):
            // not held, and the term does not start.
            let held = conn
                .transaction(|conn| {
                    diesel::sql_query("SET LOCAL lock_timeout = '5s'").execute(conn)?;
                    diesel::sql_query("SELECT pg_advisory_lock_shared($1)")
                        .bind::<BigInt, _>(OLD_RELAY_LOCK)
                        .execute(conn)
                })
                .is_ok();
            let ended = match retirer
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
            {
                Ok(ended) => ended,
                // An earlier release that connected as a superuser cannot
                // be signalled by a role that is none (42501): the role is
                // not held, and the term waits until that release stops.
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "cannot end the session of an earlier release's relay (its role may \
                         need pg_signal_backend); publishing waits until that release stops"
                    );
                    0
                }
            };
            if ended > 0 {
                tracing::warn!(
                    sessions = ended,
                    "ended the session of an earlier release's relay (rolling upgrade)"
                );
            }
            held
        } else {
            diesel::sql_query("SELECT pg_try_advisory_lock_shared($1) AS locked")
                .bind::<BigInt, _>(OLD_RELAY_LOCK)
                .get_result::<Locked>(&mut conn)?
                .locked
        };
        if held {
            self.conn = Some(conn);
        }
        Ok(held)
    }
}

/// How long the lease's winner waits, queued for the earlier releases'
/// lock, before it ends the session holding it.
const RETIRE_AFTER: Duration = Duration::from_millis(100);

/// Ends the sessions holding the earlier releases' relay lock
/// exclusively (their relays); how many.
fn retire_old_relays(db: &Database) -> Result<usize, DbError> {
    let mut conn = db.dedicated_connection()?;
    let ended = diesel::sql_query(
        "SELECT pg_terminate_backend(pid) AS locked FROM pg_locks \
         WHERE locktype = 'advisory' AND granted AND mode = 'ExclusiveLock' \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND ((classid::bigint << 32) | objid::bigint) = $1 AND objsubid = 1",
    )
    .bind::<BigInt, _>(OLD_RELAY_LOCK)
    .load::<Locked>(&mut conn)?;
    Ok(ended.len())
}
