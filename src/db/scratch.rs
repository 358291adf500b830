//! Scratch databases for the tests and `order-service bench`, after
//! crates.io's test-db: each is a copy of a template database migrated once
//! per schema version (`CREATE DATABASE … TEMPLATE`, far quicker than
//! migrating), dropped when its [`ScratchDatabase`] is dropped. Names carry
//! the creating process's id, so databases left by a killed run are found
//! and dropped the next time one is made (this assumes the runs share the
//! machine with PostgreSQL's clients, as `scripts/test` and `scripts/bench`
//! do). Blocking: call it from tests or `spawn_blocking`.

use std::sync::Once;

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;

use super::{DbError, MIGRATIONS};

/// A database of its own, dropped with this value.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// Serialises template builds across processes.
const TEMPLATE_LOCK: i64 = 0x6f72_6465_7274_6d70;

impl ScratchDatabase {
    /// A migrated database named `<prefix>_<pid>_<random>`, copied from the
    /// template of the current migrations.
    pub fn migrated(admin_url: &str, prefix: &str) -> Result<Self, DbError> {
        let mut admin = PgConnection::establish(admin_url)?;
        sweep_once(&mut admin, prefix);
        let template = ensure_template(&mut admin, admin_url, prefix)?;
        Self::make(admin, admin_url, prefix, Some(&template))
    }

    /// An empty database (for testing the migrations themselves).
    pub fn empty(admin_url: &str, prefix: &str) -> Result<Self, DbError> {
        let mut admin = PgConnection::establish(admin_url)?;
        sweep_once(&mut admin, prefix);
        Self::make(admin, admin_url, prefix, None)
    }

    fn make(
        mut admin: PgConnection,
        admin_url: &str,
        prefix: &str,
        template: Option<&str>,
    ) -> Result<Self, DbError> {
        let name = format!("{prefix}_{}_{:08x}", std::process::id(), fastrand::u32(..));
        let from = template.map_or(String::new(), |t| format!(" TEMPLATE \"{t}\""));
        admin.batch_execute(&format!("CREATE DATABASE \"{name}\"{from}"))?;
        Ok(Self {
            url: sibling_url(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The URL of database `name` on the server of `url`.
pub fn sibling_url(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let base = base.rsplit_once('/').map_or(base, |(server, _)| server);
    format!("{base}/{name}{query}")
}

/// The template of the current migrations, built (under a lock, by one
/// process) when missing.
fn ensure_template(
    admin: &mut PgConnection,
    admin_url: &str,
    prefix: &str,
) -> Result<String, DbError> {
    let template = format!("{prefix}_template_{:016x}", schema_version());
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(admin)?;
    let built = build_template(admin, admin_url, &template);
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(admin)?;
    built.map(|()| template)
}

fn build_template(
    admin: &mut PgConnection,
    admin_url: &str,
    template: &str,
) -> Result<(), DbError> {
    if !databases_like(admin, template)?.is_empty() {
        return Ok(());
    }
    // Built under another name and renamed once complete: a run killed
    // mid-build leaves no half-migrated template.
    let building = format!("{template}_building");
    // One statement per call: neither may run in a transaction block.
    admin.batch_execute(&format!(
        "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
    ))?;
    admin.batch_execute(&format!("CREATE DATABASE \"{building}\""))?;
    {
        let mut conn = PgConnection::establish(&sibling_url(admin_url, &building))?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?;
    }
    admin.batch_execute(&format!(
        "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
    ))?;
    Ok(())
}

/// A fingerprint of the embedded migrations' names.
fn schema_version() -> u64 {
    let names = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .map(|all| {
            all.iter()
                .map(|m| m.name().to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    names.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn databases_like(admin: &mut PgConnection, pattern: &str) -> Result<Vec<String>, DbError> {
    Ok(
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind::<Text, _>(pattern)
            .load::<Name>(admin)?
            .into_iter()
            .map(|n| n.datname)
            .collect(),
    )
}

/// [`ScratchDatabase::sweep`], once per process.
fn sweep_once(admin: &mut PgConnection, prefix: &str) {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(|| sweep(admin, prefix));
}

impl ScratchDatabase {
    /// Drops the databases `<prefix>_<pid>_…` of processes that are gone,
    /// and templates of other schema versions. Making a scratch database
    /// does this once per process.
    pub fn sweep(admin_url: &str, prefix: &str) -> Result<(), DbError> {
        sweep(&mut PgConnection::establish(admin_url)?, prefix);
        Ok(())
    }
}

fn sweep(admin: &mut PgConnection, prefix: &str) {
    let current = format!("{prefix}_template_{:016x}", schema_version());
    let Ok(names) = databases_like(admin, &format!("{prefix}\\_%")) else {
        return;
    };
    for name in names {
        let rest = &name[prefix.len() + 1..];
        let stale = if rest.starts_with("template_") {
            name != current && !name.ends_with("_building")
        } else {
            rest.split('_')
                .next()
                .and_then(|pid| pid.parse::<i32>().ok())
                .is_some_and(|pid| !alive(pid))
        };
        if stale {
            tracing::info!(database = %name, "dropping a scratch database left behind");
            let _ =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

/// Whether process `pid` runs on this machine.
fn alive(pid: i32) -> bool {
    if pid <= 0 || u32::try_from(pid) == Ok(std::process::id()) {
        return pid > 0;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_urls_keep_server_and_options() {
        assert_eq!(
            sibling_url("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            sibling_url("postgres://u@h/db?sslmode=require", "x"),
            "postgres://u@h/x?sslmode=require"
        );
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_one_is_not() {
        assert!(alive(std::process::id() as i32));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(!alive(pid));
    }
}
