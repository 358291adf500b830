//! `TestApp`: a fresh database and fresh topics per test, the application
//! running on them, a producer for commands and readers for events and dead
//! letters. Dropping it stops the application and drops the database.

use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

use diesel::{Connection, PgConnection};
use order_service::config::{GroupProtocol, LogFormat, ServeSettings};
use order_service::db::ScratchDatabase;
use order_service::proto::OrderEvent;
use order_service::shutdown::ShutdownTrigger;
use order_service::startup::Application;
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::kafka::{reader, test_client_config};

pub const PARTITIONS: i32 = 3;
pub(super) const WAIT: Duration = Duration::from_secs(60);

pub(super) fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn bootstrap_servers() -> String {
    std::env::var("TEST_KAFKA_BOOTSTRAP_SERVERS")
        .expect("TEST_KAFKA_BOOTSTRAP_SERVERS is not set: run the tests with scripts/test")
}

/// Test logs go nowhere unless `TEST_LOG` is set.
fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = order_service::telemetry::init(LogFormat::Pretty, None);
        }
    });
}

pub struct TestApp {
    pub settings: ServeSettings,
    /// Dropped (with the database) after the application stops.
    pub(super) _database: ScratchDatabase,
    pub(super) producer: FutureProducer,
    pub(super) events: StreamConsumer,
    pub(super) dead_letters: StreamConsumer,
    /// Events read so far, in the order they were read.
    pub received: Vec<OrderEvent>,
    /// The Kafka headers of each event read, by event_id.
    pub received_headers: HashMap<String, HashMap<String, String>>,
    pub(super) trigger: Option<ShutdownTrigger>,
    pub(super) task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Where the running application's HTTP server listens.
    pub(super) http_addr: Option<std::net::SocketAddr>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A fresh database and topics with the application running in-process.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ServeSettings)) -> TestApp {
    let mut app = spawn_env_with(configure).await;
    app.start().await;
    app
}

/// A fresh database (migrated) and topics (created), the application not
/// started: for tests that run it as child processes.
pub async fn spawn_env_with(configure: impl FnOnce(&mut ServeSettings)) -> TestApp {
    let admin_url = env_or(
        "TEST_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    spawn_env_on(&admin_url, configure).await
}

/// As [`spawn_env_with`], on the PostgreSQL server of `admin_url`.
pub async fn spawn_env_on(admin_url: &str, configure: impl FnOnce(&mut ServeSettings)) -> TestApp {
    init_logging();
    let suffix = Uuid::new_v4().simple().to_string();
    let database = ScratchDatabase::migrated(admin_url, "order_service_test")
        .expect("a scratch database on TEST_DATABASE_URL");
    let database_url = database.url().to_owned();
    super::watchdog::watch(database.admin_url());
    // Only when no test sets its own broker (the mock cluster) is one required.
    let bootstrap = std::env::var("TEST_KAFKA_BOOTSTRAP_SERVERS").unwrap_or_default();
    let mut settings = ServeSettings::for_tests(&database_url, &bootstrap, &suffix);
    settings.topics.topic_partitions = PARTITIONS;
    configure(&mut settings);
    if settings.kafka.connection.bootstrap_servers.is_empty() {
        settings.kafka.connection.bootstrap_servers = bootstrap_servers();
    }
    let partitions = settings.topics.topic_partitions;
    // A test that turns topic creation off creates them itself.
    if settings.topics.create_topics {
        let kafka = &settings.kafka;
        order_service::kafka::ensure_topics(
            &kafka.connection,
            &[&kafka.commands_topic, &kafka.events_topic, &kafka.dlq_topic],
            &order_service::kafka::TopicSpec {
                partitions: settings.topics.topic_partitions,
                replication_factor: settings.topics.topic_replication_factor,
                configs: &settings.topics.topic_config,
            },
        )
        .await
        .expect("create the test topics");
        order_service::kafka::ensure_relay_topic(
            &kafka.connection,
            &kafka.relay_topic(),
            settings.topics.topic_replication_factor,
        )
        .await
        .expect("create the relay's test topic");
    }

    // The test's own clients connect as the application does (TLS, SASL).
    let connection = &settings.kafka.connection;
    let producer = test_client_config(connection)
        .set("enable.idempotence", "true")
        .create()
        .expect("test producer");
    TestApp {
        events: reader(connection, &settings.kafka.events_topic, partitions),
        dead_letters: reader(connection, &settings.kafka.dlq_topic, partitions),
        settings,
        _database: database,
        producer,
        received: Vec::new(),
        received_headers: HashMap::new(),
        trigger: None,
        task: None,
        http_addr: None,
    }
}

/// `GET /readyz` on the server at `base`: status and body, `None` while
/// nothing answers.
pub async fn readiness_at(base: &str) -> Option<(u16, serde_json::Value)> {
    let response = reqwest::get(format!("{base}/readyz")).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.ok()?))
}

impl TestApp {
    /// Starts the application in-process, built as `main` builds it.
    pub async fn start(&mut self) {
        let app = Application::build(self.settings.clone())
            .await
            .expect("build the application");
        self.http_addr = Some(app.http_addr());
        let (trigger, shutdown) = ShutdownTrigger::new();
        self.task = Some(tokio::spawn(app.run_until_stopped(shutdown)));
        self.trigger = Some(trigger);
    }

    /// The URL of `path` on the running application's HTTP server.
    pub fn url(&self, path: &str) -> String {
        let addr = self.http_addr.expect("the application is running");
        format!("http://{addr}{path}")
    }

    /// `GET /metrics`: the Prometheus text.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// `GET /metrics` until it contains every one of `lines` (a batch is
    /// counted after its events may already have been read), for at most
    /// 10 s; the last text read.
    pub async fn metrics_with(&self, lines: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let metrics = self.metrics().await;
            if lines.iter().all(|line| metrics.contains(line))
                || tokio::time::Instant::now() >= deadline
            {
                return metrics;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// `GET /readyz` on the running application: status and body.
    pub async fn readiness(&self) -> (u16, serde_json::Value) {
        readiness_at(&self.url("")).await.expect("/readyz answers")
    }

    /// Polls `/readyz` until `wanted(status, body)`, for up to `within`;
    /// returns that body.
    pub async fn await_readiness(
        &self,
        within: Duration,
        wanted: impl Fn(u16, &serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (status, body) = self.readiness().await;
            if wanted(status, &body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "readiness not reached in {within:?}: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The environment the `order-service` binary needs to reach this
    /// test's broker, topics and database.
    pub fn cli_env(&self) -> Vec<(&'static str, String)> {
        let kafka = &self.settings.kafka;
        vec![
            (
                "KAFKA_BOOTSTRAP_SERVERS",
                kafka.connection.bootstrap_servers.clone(),
            ),
            ("KAFKA_COMMANDS_TOPIC", kafka.commands_topic.clone()),
            ("KAFKA_EVENTS_TOPIC", kafka.events_topic.clone()),
            ("KAFKA_DLQ_TOPIC", kafka.dlq_topic.clone()),
            ("KAFKA_RELAY_TOPIC", kafka.relay_topic()),
            ("KAFKA_GROUP_ID", self.settings.group.group_id.clone()),
            (
                "KAFKA_DLQ_REPLAY_GROUP",
                format!("{}-replay", self.settings.group.group_id),
            ),
            ("DATABASE_URL", self.settings.database.database_url.clone()),
        ]
    }

    /// A connection to this test's database, as the service connects (its
    /// owner, no superuser).
    pub fn db(&self) -> PgConnection {
        PgConnection::establish(&self.settings.database.database_url).expect("connect to test db")
    }

    /// The test database's URL as the admin user (TEST_DATABASE_URL's).
    pub fn admin_url(&self) -> &str {
        self._database.admin_url()
    }

    /// A connection to this test's database as the admin user.
    pub fn admin_db(&self) -> PgConnection {
        PgConnection::establish(self.admin_url()).expect("connect to test db as admin")
    }

    /// Fires shutdown and waits for the application to stop.
    pub async fn stop(&mut self) {
        if let Some(trigger) = self.trigger.take() {
            trigger.fire();
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("application stops within 30 s")
                .expect("application task")
                .expect("application ran without error");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The application stops before its database (a field) is dropped.
        if let Some(trigger) = self.trigger.take() {
            trigger.fire();
        }
    }
}

/// Makes `settings` speak the group `protocol`; under `consumer` the
/// session is the broker's (the service refuses its own then).
pub fn use_group_protocol(settings: &mut ServeSettings, protocol: GroupProtocol) {
    settings.group.protocol = protocol;
    if protocol == GroupProtocol::Consumer {
        settings.group.session_timeout_ms = None;
    }
}
