//! The database: where it is and the session limits every connection gets.

use clap::Args;

use super::env::Env;

#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// PostgreSQL connection URL, as the service's own role (the owner of
    /// its database, no superuser); the password in the URL, PGPASSWORD or
    /// ~/.pgpass.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://order_service@127.0.0.1:5432/order_service"
    )]
    pub database_url: String,

    /// Connections in the pool (and database calls in flight at once).
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,

    /// Longest a statement may run, in ms (PostgreSQL statement_timeout).
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = 30_000)]
    pub statement_timeout_ms: u64,

    /// Longest a statement waits for a row lock, in ms (lock_timeout): an
    /// instance that froze while holding an order's lock cannot block the
    /// others for longer.
    #[arg(long, env = "DATABASE_LOCK_TIMEOUT_MS", default_value_t = 10_000)]
    pub lock_timeout_ms: u64,

    /// How long the server keeps a session that sits idle inside a
    /// transaction, in ms (idle_in_transaction_session_timeout): a frozen
    /// instance's transaction is ended and its locks released.
    #[arg(
        long,
        env = "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        default_value_t = 15_000
    )]
    pub idle_in_transaction_timeout_ms: u64,
}

impl DatabaseSettings {
    pub fn write_env(&self, env: &mut Env) {
        env.set("DATABASE_URL", &self.database_url);
        env.set("DATABASE_POOL_SIZE", self.pool_size);
        env.set("DATABASE_STATEMENT_TIMEOUT_MS", self.statement_timeout_ms);
        env.set("DATABASE_LOCK_TIMEOUT_MS", self.lock_timeout_ms);
        env.set(
            "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
            self.idle_in_transaction_timeout_ms,
        );
    }
}
