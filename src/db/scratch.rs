//! Scratch databases for the tests and `order-service bench`, after
//! crates.io's test-db: each is a copy of a template database migrated once
//! per schema version (`CREATE DATABASE … TEMPLATE`, far quicker than
//! migrating), dropped when its [`ScratchDatabase`] is dropped. Its maker
//! holds a session advisory lock named after it for as long as it lives,
//! so a database whose lock nobody holds was left by a run that died, and
//! is dropped the next time one is made — whatever machine or container
//! that run was in. Blocking: call it from tests or `spawn_blocking`.
//!
//! The service gets a database as in production: owned by a login role
//! that is no superuser ([`SERVICE_ROLE`], made on first use), which also
//! runs the migrations; [`ScratchDatabase::url`] connects as it. The maker
//! connects as the admin URL's (super)user ([`ScratchDatabase::admin_url`]).

use std::sync::Once;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;

use super::{DbError, MIGRATIONS};

/// The role that owns scratch databases and that the service connects as.
pub const SERVICE_ROLE: &str = "order_service_scratch";
/// Its password: scratch databases live on test servers (loopback).
const SERVICE_PASSWORD: &str = "order-service-scratch";

/// A database of its own, dropped with this value.
pub struct ScratchDatabase {
    /// The session holding the database's lock, which says it is in use.
    holder: PgConnection,
    name: String,
    /// As [`SERVICE_ROLE`].
    url: String,
    /// As the admin URL's user.
    admin_url: String,
}

impl std::fmt::Debug for ScratchDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScratchDatabase")
            .field("name", &self.name)
            .finish()
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// Held exclusively to build or drop templates, shared to copy one.
const TEMPLATE_LOCK: i64 = 0x6f72_6465_7274_6d70;

/// The advisory lock key of a scratch database's name.
fn lock_key(name: &str) -> i64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

impl ScratchDatabase {
    /// A migrated database named `<prefix>_<pid>_<random>`, copied from the
    /// template of the current migrations.
    pub fn migrated(admin_url: &str, prefix: &str) -> Result<Self, DbError> {
        let mut admin = PgConnection::establish(admin_url)?;
        sweep_once(&mut admin, prefix);
        ensure_service_role(&mut admin)?;
        let template = ensure_template(&mut admin, admin_url, prefix)?;
        Self::make(admin, admin_url, prefix, Some(&template))
    }

    /// An empty database (for testing the migrations themselves).
    pub fn empty(admin_url: &str, prefix: &str) -> Result<Self, DbError> {
        let mut admin = PgConnection::establish(admin_url)?;
        sweep_once(&mut admin, prefix);
        ensure_service_role(&mut admin)?;
        Self::make(admin, admin_url, prefix, None)
    }

    fn make(
        mut admin: PgConnection,
        admin_url: &str,
        prefix: &str,
        template: Option<&str>,
    ) -> Result<Self, DbError> {
        let name = format!("{prefix}_{}_{:08x}", std::process::id(), fastrand::u32(..));
        // In use from before it exists: a sweep never takes it for a leftover.
        diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<BigInt, _>(lock_key(&name))
            .execute(&mut admin)?;
        match template {
            Some(template) => {
                // Shared: no sweep drops the template while it is copied.
                diesel::sql_query("SELECT pg_advisory_lock_shared($1)")
                    .bind::<BigInt, _>(TEMPLATE_LOCK)
                    .execute(&mut admin)?;
                let made = admin.batch_execute(&format!(
                    "CREATE DATABASE \"{name}\" OWNER {SERVICE_ROLE} TEMPLATE \"{template}\""
                ));
                diesel::sql_query("SELECT pg_advisory_unlock_shared($1)")
                    .bind::<BigInt, _>(TEMPLATE_LOCK)
                    .execute(&mut admin)?;
                made?;
                // A copy is another deployment: it must not share the
                // template's relay transactional id (each would fence the
                // other's publisher).
                PgConnection::establish(&sibling_url(admin_url, &name))?.batch_execute(
                    "UPDATE outbox_relay SET transactional_id = \
                     'order-service-relay-' || gen_random_uuid()",
                )?;
            }
            None => {
                admin.batch_execute(&format!("CREATE DATABASE \"{name}\" OWNER {SERVICE_ROLE}"))?
            }
        }
        Ok(Self {
            url: as_service(&sibling_url(admin_url, &name)),
            admin_url: sibling_url(admin_url, &name),
            holder: admin,
            name,
        })
    }

    /// The database's URL as [`SERVICE_ROLE`], its owner.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's URL as the admin URL's user.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // The lock goes with the holder's session, after the database.
        let _ = self.holder.batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ));
    }
}

/// Makes [`SERVICE_ROLE`] when the server lacks it: it may log in, and
/// nothing more (no superuser, no CREATEDB, no CREATEROLE).
fn ensure_service_role(admin: &mut PgConnection) -> Result<(), DbError> {
    admin.batch_execute(&format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SERVICE_ROLE}') THEN \
             CREATE ROLE {SERVICE_ROLE} LOGIN PASSWORD '{SERVICE_PASSWORD}'; \
           END IF; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
         END $$"
    ))?;
    Ok(())
}

/// `url` with [`SERVICE_ROLE`] as its user.
fn as_service(url: &str) -> String {
    with_user(url, SERVICE_ROLE, SERVICE_PASSWORD)
}

/// `url` (a `postgres://` URI) with another user and password.
pub fn with_user(url: &str, user: &str, password: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}{path}")
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
    let template = template_name(prefix);
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
    admin.batch_execute(&format!(
        "CREATE DATABASE \"{building}\" OWNER {SERVICE_ROLE}"
    ))?;
    {
        // Migrated by its owner, as the service migrates its database.
        let mut conn = PgConnection::establish(&as_service(&sibling_url(admin_url, &building)))?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?;
    }
    admin.batch_execute(&format!(
        "ALTER DATABASE \"{building}\" RENAME TO \"{template}\""
    ))?;
    Ok(())
}

/// How templates are built, as part of their name: a template built
/// another way (before they were owned by [`SERVICE_ROLE`]) is not used.
const TEMPLATE_RECIPE: &str = "owned";

/// The template of the current migrations and recipe.
fn template_name(prefix: &str) -> String {
    format!("{prefix}_template_{}_{TEMPLATE_RECIPE}", schema_version())
}

/// The schema version: a fingerprint of the migrations' files, names and
/// contents (build.rs).
fn schema_version() -> &'static str {
    env!("MIGRATIONS_FINGERPRINT")
}

fn databases_like(admin: &mut PgConnection, pattern: &str) -> Result<Vec<String>, DbError> {
    Ok(
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE $1 ESCAPE '\\'")
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
    /// Drops the databases `<prefix>_…` whose lock nobody holds (their
    /// runs died), and templates of other schema versions. Making a
    /// scratch database does this once per process.
    pub fn sweep(admin_url: &str, prefix: &str) -> Result<(), DbError> {
        sweep(&mut PgConnection::establish(admin_url)?, prefix);
        Ok(())
    }
}

fn sweep(admin: &mut PgConnection, prefix: &str) {
    let current = template_name(prefix);
    let Ok(names) = databases_like(admin, &format!("{prefix}\\_%")) else {
        return;
    };
    for name in names {
        let rest = &name[prefix.len() + 1..];
        let (key, unlock) = if rest.starts_with("template_") {
            if name == current || name.ends_with("_building") {
                continue;
            }
            // Another schema version's template: dropped only while no
            // run copies or builds one.
            (TEMPLATE_LOCK, "SELECT pg_advisory_unlock($1)")
        } else {
            (lock_key(&name), "SELECT pg_advisory_unlock($1)")
        };
        let free = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "pg_try_advisory_lock({key})"
        )))
        .get_result::<bool>(admin)
        .unwrap_or(false);
        if !free {
            continue;
        }
        tracing::info!(database = %name, "dropping a scratch database left behind");
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        let _ = diesel::sql_query(unlock)
            .bind::<BigInt, _>(key)
            .execute(admin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_user_keeps_server_database_and_options() {
        assert_eq!(
            with_user("postgres://postgres@h:5432/db?sslmode=require", "u", "p"),
            "postgres://u:p@h:5432/db?sslmode=require"
        );
        assert_eq!(
            with_user("postgresql://a:b@h/db", "u", "p"),
            "postgresql://u:p@h/db"
        );
        assert_eq!(with_user("postgres://h", "u", "p"), "postgres://u:p@h");
    }

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
}
