//! PostgreSQL through diesel: the pool, the one way to run a query from async
//! code ([`Database::run`]), the embedded migrations, and the models.
//!
//! Diesel is blocking. Every query runs on tokio's blocking pool, gated by a
//! semaphore the size of the connection pool, so async callers wait for a
//! connection without tying up runtime threads.

pub mod models;
pub mod schema;

use std::{sync::Arc, time::Duration};

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
}

/// Settings applied to every new connection.
#[derive(Debug)]
struct SessionSettings;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        // The batch queries look rows up by `= ANY($1)` over tables that grow
        // fast. A generic plan made while a table was small keeps scanning
        // it whole once it is large (no ANALYZE has run yet); a custom plan
        // is made with the table's current size and picks the index.
        diesel::sql_query("SET plan_cache_mode = force_custom_plan")
            .execute(conn)
            .map(drop)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A cloneable handle on the connection pool.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionManager<PgConnection>>,
    permits: Arc<Semaphore>,
}

impl Database {
    /// Builds the pool without connecting: the first query finds out whether
    /// the database is there, and callers retry.
    pub fn new(settings: &DatabaseSettings) -> Self {
        let manager = ConnectionManager::<PgConnection>::new(settings.database_url.clone());
        let pool = Pool::builder()
            .max_size(settings.pool_size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            .test_on_check_out(false)
            .connection_customizer(Box::new(SessionSettings))
            .build_unchecked(manager);
        Self {
            pool,
            permits: Arc::new(Semaphore::new(settings.pool_size as usize)),
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
        let permit = self.permits.clone().acquire_owned().await.ok();
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
        self.pool.get()
    }

    /// Applies the pending embedded migrations, one instance at a time.
    pub async fn migrate(&self) -> Result<Vec<String>, DbError> {
        self.run(|conn| {
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
