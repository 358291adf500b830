//! The database refuses for its own reasons while whole order lifecycles
//! stream in: a table renamed away (a broken migration and its fix), a
//! privilege revoked and granted again, a lock held past the service's lock
//! timeout, a constraint or trigger added that refuses every good command
//! (inserts, or only updates of orders that exist). Each hits
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
    /// A broken audit trigger that refuses every update of an order with
    /// 23502, while inserts pass: only a probe that updates orders it
    /// loaded can tell it from a command's fault.
    RefusesUpdates,
}

impl Fault {
    fn sqlstate(self) -> &'static str {
        match self {
            Self::Renamed(_) => "42P01",
            Self::Revoked(_) => "42501",
            Self::Locked(_) => "55P03",
            Self::RefusesEveryItem => "23514",
            Self::RefusesUpdates => "23502",
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
        order_service::db::scratch::with_user(database_url, &self.name, "fault-test")
    }

    fn drop_in(self, conn: &mut PgConnection) {
        let name = self.name;
        // The role is the cluster's: give its objects back, then drop it.
        conn.batch_execute(&format!(
            "REASSIGN OWNED BY {name} TO CURRENT_USER; DROP OWNED BY {name}; DROP ROLE {name}"
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
            Fault::RefusesUpdates => "CREATE FUNCTION refuse_updates() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN \
                   RAISE EXCEPTION USING ERRCODE = '23502', MESSAGE = 'broken audit trigger'; \
                 END $$; \
                 CREATE TRIGGER refuse_updates BEFORE UPDATE ON orders \
                 FOR EACH ROW EXECUTE FUNCTION refuse_updates()"
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
            Fault::RefusesUpdates => {
                "DROP TRIGGER refuse_updates ON orders; DROP FUNCTION refuse_updates()".to_owned()
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
        s.intake.batch_size = 50;
        // A lock held elsewhere fails a statement after half a second.
        s.database.lock_timeout_ms = 500;
    })
    .await;
    let admin_url = app.admin_url().to_owned();
    let role = ServiceRole::create(&mut app.admin_db());
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
    faults.push(Fault::RefusesUpdates);
    stream_through("locked", &faults).await;
}

/// A transaction left open in the database `postgres` of the server of
/// `url` (rolled back when the connection is dropped): it holds back every
/// snapshot's xmin, cluster-wide.
fn long_transaction_elsewhere(url: &str) -> PgConnection {
    let other_db = order_service::db::scratch::sibling_url(url, "postgres");
    let mut elsewhere = PgConnection::establish(&other_db).expect("connect elsewhere");
    elsewhere
        .batch_execute("BEGIN; SELECT pg_current_xact_id()")
        .expect("a long transaction elsewhere");
    elsewhere
}

/// A transaction left open in another database (a backfill, an idle
/// session) while an outbox id is burnt by a rolled-back insert: the relay
/// waits for no transaction but its own database's outbox writers, so the
/// gap goes, the watermark passes it, `/readyz` stays 200 throughout, and
/// a `kill -9` restart repeats nothing (it resumes where Kafka's committed
/// position says).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_transaction_elsewhere_and_a_burnt_outbox_id_hold_nothing_back() {
    let mut rng = seeded_rng("elsewhere");
    let stream_for = if full_scale() {
        Duration::from_secs(90)
    } else {
        Duration::from_secs(12)
    };
    let mut app = spawn_env_with(|s| s.intake.batch_size = 50).await;
    let settings = app.settings.clone();
    let url = settings.database.database_url.clone();
    let mut service = super::process::ServiceProcess::start(&settings, "elsewhere-0");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while service
        .readiness()
        .await
        .is_none_or(|(status, _)| status != 200)
    {
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut elsewhere = long_transaction_elsewhere(&url);
    PgConnection::establish(&url)
        .unwrap()
        .batch_execute(
            "BEGIN; INSERT INTO outbox (event_id, order_id, event_type, payload, created_at) \
             VALUES (gen_random_uuid(), gen_random_uuid(), 'Burnt', '\\x00', now()); ROLLBACK",
        )
        .expect("burn an outbox id");

    let workload = Workload::lifecycles(if full_scale() { 150 } else { 40 }, 3, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let (first, second) = commands.split_at(commands.len() / 2);
    let pause = stream_for / (first.len() as u32 / 2).max(1);
    let watch = async {
        let deadline = tokio::time::Instant::now() + stream_for;
        let mut polls = 0;
        while tokio::time::Instant::now() < deadline {
            let (status, body) = service.readiness().await.expect("/readyz answers");
            assert_eq!(
                status, 200,
                "ready while a transaction runs elsewhere: {body}"
            );
            polls += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        polls
    };
    let ((), polls) = tokio::join!(app.send_paced(first, 2, pause), watch);
    println!("elsewhere: /readyz answered 200 {polls} times in {stream_for:?}");
    let sent = first.len();
    let _ = app
        .events_until(Duration::from_secs(60), |r| distinct(r) >= sent)
        .await;
    // Everything sent is published, and the watermark says so: the burnt
    // id no longer holds it.
    let mut conn = app.db();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while crate::helpers::unpublished_count(&mut conn) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        crate::helpers::unpublished_count(&mut conn),
        0,
        "the watermark passed the burnt id while the transaction elsewhere runs"
    );
    let (_, body) = service.readiness().await.expect("/readyz answers");
    let age = body["relay"]["oldest_unpublished_age_seconds"]
        .as_f64()
        .unwrap();
    assert!(age < 1.0, "nothing unpublished: {body}");

    // kill -9 and restart: nothing repeats.
    service.kill9();
    let service = super::process::ServiceProcess::start(&settings, "elsewhere-1");
    app.send_paced(second, 10, Duration::from_millis(20)).await;
    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(90), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, 2, &mut app.db());
    println!("elsewhere: {result}");
    assert!(result.is_clean(), "{result}");
    elsewhere.batch_execute("ROLLBACK").unwrap();
    let status = service.terminate(super::process::SHUTDOWN_BOUND).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

/// The other side of the criterion above: a writer of this database's
/// outbox that commits late (its row drawn an id, then held uncommitted
/// while later rows are published past it) is waited for, also while a
/// transaction elsewhere runs, and its row is published once it commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_row_committed_late_in_this_database_is_still_published() {
    use diesel::sql_types::{Bytea, Text, Uuid as SqlUuid};
    use order_service::proto::{CommandRejected, OrderEvent, order_event::Event};
    use prost::Message as _;

    let mut rng = seeded_rng("late");
    let mut app = crate::helpers::spawn_app_with(|s| s.intake.batch_size = 20).await;
    let url = app.settings.database.database_url.clone();
    let mut elsewhere = long_transaction_elsewhere(&url);

    let order_id = uuid::Uuid::new_v4();
    let event = OrderEvent {
        event_id: uuid::Uuid::new_v4().to_string(),
        order_id: order_id.to_string(),
        command_id: uuid::Uuid::new_v4().to_string(),
        event: Some(Event::CommandRejected(CommandRejected::default())),
        ..OrderEvent::default()
    };
    let mut writer = PgConnection::establish(&url).expect("connect the writer");
    // As the service's writers do: the transaction id first, then the row.
    writer
        .batch_execute("BEGIN; SELECT pg_current_xact_id()")
        .unwrap();
    diesel::sql_query(
        "INSERT INTO outbox (event_id, order_id, event_type, payload, created_at) \
         VALUES ($1, $2, $3, $4, now())",
    )
    .bind::<SqlUuid, _>(uuid::Uuid::parse_str(&event.event_id).unwrap())
    .bind::<SqlUuid, _>(order_id)
    .bind::<Text, _>(order_service::events::type_name(
        event.event.as_ref().unwrap(),
    ))
    .bind::<Bytea, _>(event.encode_to_vec())
    .execute(&mut writer)
    .expect("a row written late");

    let workload = Workload::lifecycles(20, 3, &mut rng);
    let commands = workload.interleaved(&mut rng);
    app.send_paced(&commands, 4, Duration::from_millis(50))
        .await;
    let sent = commands.len();
    let _ = app
        .events_until(Duration::from_secs(60), |r| distinct(r) >= sent)
        .await;
    assert!(
        app.received.iter().all(|e| e.event_id != event.event_id),
        "not published before it commits"
    );
    // Held by the uncommitted row, and by nothing else.
    assert!(crate::helpers::unpublished_count(&mut app.db()) > 0);
    writer.batch_execute("COMMIT").unwrap();
    let read = app
        .events_until(Duration::from_secs(30), |r| {
            r.iter().any(|e| e.event_id == event.event_id)
        })
        .await;
    assert!(read.is_ok(), "the row committed late is published");
    elsewhere.batch_execute("ROLLBACK").unwrap();
    app.stop().await;
}
