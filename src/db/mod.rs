//! PostgreSQL through diesel: the pool, the one way to run a query from async
//! code ([`Database::run`]), the embedded migrations, and the models.
//!
//! Diesel is blocking. Every query runs on tokio's blocking pool, gated by a
//! semaphore the size of the connection pool, so async callers wait for a
//! connection without tying up runtime threads.

pub mod fault;
pub mod models;
pub mod schema;
#[cfg(feature = "bench")]
pub mod scratch;
mod usage;

#[cfg(feature = "bench")]
pub use scratch::ScratchDatabase;
pub use usage::PoolUsage;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use diesel::connection::{Connection, SimpleConnection};
use diesel::{
    PgConnection, RunQueryDsl,
    r2d2::{ConnectionManager, CustomizeConnection, Pool, PoolError, PooledConnection},
    sql_types::BigInt,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tokio::sync::Semaphore;

use crate::config::DatabaseSettings;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Arbitrary key of the advisory lock that serialises migrations when several
/// instances start at once.
const MIGRATION_LOCK: i64 = 0x6f72_6465_725f_6d67;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection: {0}")]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// Another session holds this order's row lock: what failed may have
    /// been a lock timeout, which passes.
    #[error("order {0} is locked by another session")]
    Locked(uuid::Uuid),
    /// A statement failed for a command's data, but a known-good command
    /// fails too: the database is at fault (a broken migration, say).
    #[error("the database refuses a known-good command too: {0}")]
    Unwell(#[source] diesel::result::Error),
    /// An order a batch decided on changed under it, though row-locked
    /// (never expected; the batch is retried).
    #[error("an order changed under its row lock")]
    Stale,
}

/// Settings applied to every new connection.
#[derive(Debug, Clone, Copy)]
struct SessionSettings {
    statement_timeout_ms: u64,
    lock_timeout_ms: u64,
    idle_in_transaction_timeout_ms: u64,
}

impl SessionSettings {
    fn apply(&self, conn: &mut PgConnection) -> diesel::QueryResult<()> {
        // The batch queries look rows up by `= ANY($1)` over tables that grow
        // fast. A generic plan made while a table was small keeps scanning
        // it whole once it is large (no ANALYZE has run yet); a custom plan
        // is made with the table's current size and picks the index.
        conn.batch_execute(&format!(
            "SET plan_cache_mode = force_custom_plan; \
             SET statement_timeout = {}; SET lock_timeout = {}; \
             SET idle_in_transaction_session_timeout = {}",
            self.statement_timeout_ms, self.lock_timeout_ms, self.idle_in_transaction_timeout_ms
        ))
    }
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// `url` with TCP keepalives (libpq's `keepalives*` parameters) and a TCP
/// user timeout of 10 s unless it sets keepalives itself: a connection
/// whose peer vanished (a network cut) is found dead in about 30 s when
/// idle, and in 10 s when it has sent something unanswered (a query),
/// instead of retransmitting for a quarter of an hour. Long queries are
/// not cut: only data the peer never acknowledged counts.
fn with_keepalives(url: &str) -> String {
    let is_uri = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !is_uri || url.contains("keepalives") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}keepalives=1&keepalives_idle=15&keepalives_interval=5&keepalives_count=3\
         &tcp_user_timeout=10000"
    )
}

/// A cloneable handle on the connection pool.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionManager<PgConnection>>,
    permits: Arc<Semaphore>,
    session: SessionSettings,
    /// The pool's URL, for connections of their own.
    url: String,
    usage: PoolUsage,
}

impl Database {
    /// Builds the pool without connecting: the first query finds out whether
    /// the database is there, and callers retry.
    pub fn new(settings: &DatabaseSettings, usage: PoolUsage) -> Self {
        Self::build(settings, settings.pool_size, false, usage)
    }

    /// A pool of `size` for occasional reads (the HTTP GETs, probes): each
    /// connection is checked (`SELECT 1`) as it is taken, because an idle
    /// one may have died with a database restart and a read should not
    /// fail for it. The consumer's pool needs no check: its connections are
    /// in constant use, and a broken one is dropped at its first error.
    pub fn for_reads(settings: &DatabaseSettings, size: u32, usage: PoolUsage) -> Self {
        Self::build(settings, size, true, usage)
    }

    fn build(
        settings: &DatabaseSettings,
        size: u32,
        check_on_take: bool,
        usage: PoolUsage,
    ) -> Self {
        let url = with_keepalives(&settings.database_url);
        let manager = ConnectionManager::<PgConnection>::new(url.clone());
        let session = SessionSettings {
            statement_timeout_ms: settings.statement_timeout_ms,
            lock_timeout_ms: settings.lock_timeout_ms,
            idle_in_transaction_timeout_ms: settings.idle_in_transaction_timeout_ms,
        };
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            .test_on_check_out(check_on_take)
            .connection_customizer(Box::new(session))
            .event_handler(Box::new(usage::CountCheckouts(usage.clone())))
            .build_unchecked(manager);
        Self {
            pool,
            permits: Arc::new(Semaphore::new(size as usize)),
            session,
            url,
            usage,
        }
    }

    /// Runs `f` with a pooled connection on the blocking pool. The current
    /// tracing span is carried over; a panic in `f` is re-raised here.
    pub async fn run<F, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<PoolError> + Send + 'static,
    {
        // The semaphore is never closed. The permit moves into the blocking
        // task: a caller that stops waiting (a timeout, a dropped HTTP
        // request) does not free it while the task still holds a connection.
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                self.usage.waits.inc();
                let started = Instant::now();
                let permit = self.permits.clone().acquire_owned().await.ok();
                self.usage
                    .wait_seconds
                    .inc_by(started.elapsed().as_secs_f64());
                permit
            }
        };
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(|| {
                let mut conn = pool.get()?;
                f(&mut conn)
            })
        });
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("database task cancelled: {e}"),
        }
    }

    /// A pooled connection for code that is already blocking (a librdkafka
    /// callback); async code uses [`Self::run`].
    pub fn connection(
        &self,
    ) -> Result<PooledConnection<ConnectionManager<PgConnection>>, PoolError> {
        // Every connection is with an async caller: r2d2 makes this one
        // wait for one to come back.
        if self.permits.available_permits() == 0 {
            self.usage.waits.inc();
        }
        self.pool.get()
    }

    /// This pool's checkouts and waits so far.
    pub fn usage(&self) -> &PoolUsage {
        &self.usage
    }

    /// A connection of its own, outside the pool, with the pool's session
    /// settings and keepalives: for a session-level advisory lock that is
    /// held exactly as long as the connection lives. Blocking.
    pub fn dedicated_connection(&self) -> Result<PgConnection, DbError> {
        let mut conn = PgConnection::establish(&self.url)?;
        self.session.apply(&mut conn)?;
        Ok(conn)
    }

    /// Applies the pending embedded migrations, one instance at a time.
    pub async fn migrate(&self) -> Result<Vec<String>, DbError> {
        let session = self.session;
        self.run(move |conn| {
            // A migration (or the wait for another instance's) may take
            // longer than a statement is allowed to.
            conn.batch_execute("SET statement_timeout = 0; SET lock_timeout = 0")?;
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK)
                .execute(conn)?;
            let applied = conn
                .run_pending_migrations(MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(|e| DbError::Migration(e.to_string()));
            diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK)
                .execute(conn)?;
            session.apply(conn)?;
            applied
        })
        .await
    }

    /// `SELECT 1`: whether the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
    }
}
