//! Scratch databases: copies of the migrated template, dropped with their
//! handle; those of killed runs are swept.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use order_service::db::ScratchDatabase;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn exists(admin: &mut PgConnection, name: &str) -> bool {
    diesel::select(diesel::dsl::sql::<BigInt>(&format!(
        "(SELECT count(*) FROM pg_database WHERE datname = '{name}')"
    )))
    .get_result::<i64>(admin)
    .expect("count")
        == 1
}

#[test]
fn a_scratch_database_is_migrated_and_dropped_with_its_handle() {
    let mut admin = PgConnection::establish(&admin_url()).expect("connect");
    let database = ScratchDatabase::migrated(&admin_url(), "order_service_test").expect("made");
    let name = database.name().to_owned();
    let tables: i64 = diesel::select(diesel::dsl::sql::<BigInt>(
        "(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
          AND table_name IN ('orders', 'order_items', 'payments', 'order_status_history', \
                             'processed_commands', 'outbox', 'consumer_offsets'))",
    ))
    .get_result(&mut PgConnection::establish(database.url()).expect("connect"))
    .expect("count tables");
    assert_eq!(tables, 7);
    assert!(exists(&mut admin, &name));
    drop(database);
    assert!(!exists(&mut admin, &name));
}

#[test]
fn databases_of_dead_runs_are_swept_and_live_ones_kept() {
    let mut admin = PgConnection::establish(&admin_url()).expect("connect");
    // As a run that died would leave it: nobody holds its lock.
    let leftover = format!("order_service_test_1_{:08x}", fastrand::u32(..));
    admin
        .batch_execute(&format!("CREATE DATABASE \"{leftover}\""))
        .expect("create");
    let live = ScratchDatabase::migrated(&admin_url(), "order_service_test").expect("made");
    ScratchDatabase::sweep(&admin_url(), "order_service_test").expect("sweep");
    assert!(
        !exists(&mut admin, &leftover),
        "a dead run's database is dropped"
    );
    assert!(
        exists(&mut admin, live.name()),
        "a live run's database is kept"
    );
}

/// The service runs as it is deployed: as a role that owns its database
/// and everything in it, and is no superuser (it migrates, applies and
/// publishes all the same).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_as_its_own_role_not_a_superuser() {
    use crate::helpers::{create_order, new_id, spawn_app};

    let mut app = spawn_app().await;
    app.send(&create_order(&new_id(), "user-role")).await;
    app.events(1).await;
    let mut conn = app.db();
    let attributes: (String, bool, bool, bool) = diesel::select((
        diesel::dsl::sql::<Text>("current_user::text"),
        diesel::dsl::sql::<Bool>("(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"),
        diesel::dsl::sql::<Bool>("(SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user)"),
        diesel::dsl::sql::<Bool>(
            "(SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user)",
        ),
    ))
    .get_result(&mut conn)
    .expect("the role's attributes");
    assert_eq!(
        attributes,
        (
            order_service::db::scratch::SERVICE_ROLE.to_owned(),
            false,
            false,
            false
        )
    );
    let foreign: i64 = diesel::select(diesel::dsl::sql::<BigInt>(
        "(SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> current_user) \
         + (SELECT count(*) FROM pg_database WHERE datname = current_database() \
              AND pg_get_userbyid(datdba) <> current_user)",
    ))
    .get_result(&mut conn)
    .expect("count what the role does not own");
    assert_eq!(foreign, 0, "it owns its database and every table in it");
    app.stop().await;
}
