//! The database refuses for its own reasons while whole order lifecycles
//! stream in: a table renamed away (a broken migration and its fix), a
//! privilege revoked and granted again, a lock held past the service's lock
//! timeout, a constraint added that refuses every good command. Each hits
//! every table a command writes, one after the other. The service must
//! blame none of it on the commands: nothing dead-lettered, nothing
//! rejected, every lifecycle complete, once, in order; while a fault lasts
//! `/readyz`'s body names it (SQLSTATE) and how long the lane has waited.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use order_service::loadgen::Workload;

use super::{audit, distinct, full_scale, seeded_rng, wait_for_progress};
use crate::helpers::{TestApp, spawn_env_with};

/// The tables a command's transaction writes.
const TABLES: [&str; 7] = [
    "orders",
    "order_items",
    "payments",
    "order_status_history",
    "processed_commands",
    "outbox",
    "consumer_offsets",
];

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// `ALTER TABLE … RENAME` away and back (SQLSTATE 42P01).
    Renamed(&'static str),
    /// `REVOKE ALL` from the service's role and `GRANT ALL` again (42501).
    Revoked(&'static str),
    /// `LOCK TABLE … ACCESS EXCLUSIVE` held in an open transaction past the
    /// service's `lock_timeout` (55P03).
    Locked(&'static str),
    /// A `CHECK` constraint no item can pass, added `NOT VALID` and dropped
    /// again (23514: a refusal the probe must blame on the database).
    RefusesEveryItem,
}

impl Fault {
    fn sqlstate(self) -> &'static str {
        match self {
            Self::Renamed(_) => "42P01",
            Self::Revoked(_) => "42501",
            Self::Locked(_) => "55P03",
            Self::RefusesEveryItem => "23514",
        }
    }
}

/// A login role for the service that owns its database and tables, as the
/// scripts set it up (and no superuser, from whom nothing can be revoked).
struct ServiceRole {
    name: String,
}

impl ServiceRole {
    fn create(conn: &mut PgConnection) -> Self {
        let name = format!("order_service_fault_{}", uuid::Uuid::new_v4().simple());
        conn.batch_execute(&format!(
            "CREATE ROLE {name} LOGIN PASSWORD 'fault-test'; \
             DO $$ DECLARE t record; BEGIN \
               EXECUTE format('ALTER DATABASE %I OWNER TO {name}', current_database()); \
               FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP \
                 EXECUTE format('ALTER TABLE %I OWNER TO {name}', t.tablename); \
               END LOOP; \
             END $$"
        ))
        .expect("create the service's role");
        Self { name }
    }

    fn url(&self, database_url: &str) -> String {
        database_url.replacen(
            "postgres://postgres@",
            &format!("postgres://{}:fault-test@", self.name),
            1,
        )
    }

    fn drop_in(self, conn: &mut PgConnection) {
        let name = self.name;
        // The role is the cluster's: give its objects back, then drop it.
        conn.batch_execute(&format!(
            "REASSIGN OWNED BY {name} TO postgres; DROP OWNED BY {name}; DROP ROLE {name}"
        ))
        .expect("drop the service's role");
    }
}

/// Holds a fault while it lasts (an open transaction for a lock).
struct Injected {
    conn: PgConnection,
    fault: Fault,
    role: String,
}

impl Injected {
    fn begin(database_url: &str, fault: Fault, role: &str) -> Self {
        let mut conn = PgConnection::establish(database_url).expect("connect to inject");
        let sql = match fault {
            Fault::Renamed(table) => format!("ALTER TABLE {table} RENAME TO {table}_away"),
            Fault::Revoked(table) => format!("REVOKE ALL ON {table} FROM {role}"),
            Fault::Locked(table) => {
                format!("BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            }
            Fault::RefusesEveryItem => "ALTER TABLE order_items ADD CONSTRAINT \
                 refuses_every_item CHECK (quantity < 0) NOT VALID"
                .to_owned(),
        };
        conn.batch_execute(&sql).expect("inject the fault");
        Self {
            conn,
            fault,
            role: role.to_owned(),
        }
    }

    fn end(mut self) {
        let role = &self.role;
        let sql = match self.fault {
            Fault::Renamed(table) => format!("ALTER TABLE {table}_away RENAME TO {table}"),
            Fault::Revoked(table) => format!("GRANT ALL ON {table} TO {role}"),
            Fault::Locked(_) => "COMMIT".to_owned(),
            Fault::RefusesEveryItem => {
                "ALTER TABLE order_items DROP CONSTRAINT refuses_every_item".to_owned()
            }
        };
        self.conn.batch_execute(&sql).expect("end the fault");
    }
}

/// Streams lifecycles through `faults`, one after the other, each held for
/// `window` while a portion of the commands is sent.
async fn stream_through(name: &str, faults: &[Fault]) {
    let mut rng = seeded_rng(name);
    let window = if full_scale() {
        Duration::from_secs(20)
    } else {
        Duration::from_millis(1_500)
    };
    let mut app = spawn_env_with(|s| {
        s.batch_size = 50;
        // A lock held elsewhere fails a statement after half a second.
        s.database.lock_timeout_ms = 500;
    })
    .await;
    let admin_url = app.settings.database.database_url.clone();
    let role = ServiceRole::create(&mut app.db());
    app.settings.database.database_url = role.url(&admin_url);
    app.start().await;

    let orders = if full_scale() { 150 } else { 6 * faults.len() };
    let workload = Workload::lifecycles(orders, 3, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let portion = commands.len().div_ceil(faults.len() + 1);
    let mut portions = commands.chunks(portion);
    let pause = window / (portion as u32 / 2).max(1);
    let mut seen_waiting = Vec::new();
    for fault in faults {
        let send = app.send_paced(portions.next().unwrap_or_default(), 2, pause);
        let inject = async {
            wait_for_progress(&admin_url).await;
            let injected = Injected::begin(&admin_url, *fault, &role.name);
            let waiting = waiting_on(&app, fault.sqlstate(), window).await;
            tokio::time::sleep_until(tokio::time::Instant::now() + window / 2).await;
            injected.end();
            waiting
        };
        let ((), waiting) = tokio::join!(send, inject);
        println!("{name}: {fault:?}: /readyz named it: {waiting}");
        seen_waiting.push(waiting);
    }
    app.send_all(portions.next().unwrap_or_default()).await;

    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(90), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, faults.len(), &mut app.db());
    println!("{name}: {result}");
    assert!(result.is_clean(), "{result}");
    assert_eq!(result.rejections, 0, "no good command rejected: {result}");
    let metrics = app.metrics().await;
    let dead_lettered: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("order_service_commands_dead_lettered_total{"))
        .filter(|l| !l.ends_with(" 0"))
        .collect();
    assert!(
        dead_lettered.is_empty(),
        "nothing dead-lettered: {dead_lettered:?}"
    );
    assert!(
        seen_waiting.iter().any(|seen| *seen),
        "/readyz named at least one fault while it lasted"
    );
    for fault in faults {
        let line = format!(
            "order_service_apply_errors_total{{sqlstate=\"{}\"}}",
            fault.sqlstate()
        );
        assert!(
            metrics.contains(&line),
            "{fault:?} reached the service: {metrics}"
        );
    }
    let (status, body) = app.readiness().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apply"]["waiting"], serde_json::json!([]), "{body}");
    app.stop().await;
    role.drop_in(&mut PgConnection::establish(&admin_url).unwrap());
}

/// Polls `/readyz` for half the window: whether a lane waiting on
/// `sqlstate` showed up, with its error and wait.
async fn waiting_on(app: &TestApp, sqlstate: &str, window: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + window / 2;
    while tokio::time::Instant::now() < deadline {
        let (_, body) = app.readiness().await;
        let waiting = body["apply"]["waiting"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if waiting.iter().any(|lane| {
            lane["sqlstate"] == sqlstate
                && lane["error"].as_str().is_some_and(|e| !e.is_empty())
                && lane["waiting_seconds"].as_f64().is_some()
        }) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_renamed_away_and_back_dead_letters_nothing() {
    let faults: Vec<Fault> = TABLES.iter().map(|t| Fault::Renamed(t)).collect();
    stream_through("renamed", &faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privilege_revoked_and_granted_again_dead_letters_nothing() {
    let faults: Vec<Fault> = TABLES.iter().map(|t| Fault::Revoked(t)).collect();
    stream_through("revoked", &faults).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_past_the_lock_timeout_and_a_broken_constraint_dead_letter_nothing() {
    let mut faults: Vec<Fault> = TABLES.iter().map(|t| Fault::Locked(t)).collect();
    faults.push(Fault::RefusesEveryItem);
    stream_through("locked", &faults).await;
}
