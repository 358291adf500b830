//! `TestApp`: a fresh database and fresh topics per test, the application
//! running on them, a producer for commands and readers for events and dead
//! letters. Dropping it stops the application and drops the database.

use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use order_service::config::{
    DatabaseSettings, HttpSettings, KafkaConnection, KafkaSettings, LogFormat, ServeSettings,
};
use order_service::db::ScratchDatabase;
use order_service::proto::{self, OrderCommand, OrderEvent, order_command::Command};
use order_service::shutdown::ShutdownTrigger;
use order_service::startup::Application;
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::task::JoinHandle;
use uuid::Uuid;

pub const PARTITIONS: i32 = 3;
const WAIT: Duration = Duration::from_secs(60);

fn env_or(name: &str, default: &str) -> String {
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
    _database: ScratchDatabase,
    producer: FutureProducer,
    events: StreamConsumer,
    dead_letters: StreamConsumer,
    /// Events read so far, in the order they were read.
    pub received: Vec<OrderEvent>,
    /// The Kafka headers of each event read, by event_id.
    pub received_headers: HashMap<String, HashMap<String, String>>,
    trigger: Option<ShutdownTrigger>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Where the running application's HTTP server listens.
    http_addr: Option<std::net::SocketAddr>,
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
    // Only when no test sets its own broker (the mock cluster) is one required.
    let bootstrap = std::env::var("TEST_KAFKA_BOOTSTRAP_SERVERS").unwrap_or_default();
    let mut settings = ServeSettings {
        database: DatabaseSettings {
            database_url,
            pool_size: 4,
            statement_timeout_ms: 30_000,
            lock_timeout_ms: 10_000,
            idle_in_transaction_timeout_ms: 15_000,
        },
        kafka: KafkaSettings {
            connection: KafkaConnection::plaintext(bootstrap),
            commands_topic: format!("commands-{suffix}"),
            events_topic: format!("events-{suffix}"),
            dlq_topic: format!("dlq-{suffix}"),
        },
        group_id: format!("group-{suffix}"),
        session_timeout_ms: 6_000,
        fetch_wait_max_ms: 100,
        create_topics: true,
        topic_partitions: PARTITIONS,
        topic_replication_factor: -1,
        topic_config: Vec::new(),
        batch_size: 200,
        apply_concurrency: 2,
        quarantine_after_attempts: 3,
        batch_linger_ms: 2,
        batch_max_bytes: 8 * 1024 * 1024,
        relay_batch_size: 500,
        relay_poll_ms: 200,
        http: HttpSettings {
            http_addr: "127.0.0.1:0".parse().expect("socket address"),
            api_tokens: None,
            api_tokens_file: None,
            request_timeout_ms: 35_000,
            header_read_timeout_ms: 65_000,
            body_limit_bytes: 64 * 1024,
            concurrency_limit: 512,
            read_pool_size: 4,
            otlp_endpoint: None,
        },
        retention_secs: 7 * 24 * 3600,
        housekeeping_interval_ms: 200,
        purge_batch_size: 1000,
        ready_max_outbox_age_secs: 60,
        ready_max_outbox_backlog: 100_000,
    };
    configure(&mut settings);
    if settings.kafka.connection.bootstrap_servers.is_empty() {
        settings.kafka.connection.bootstrap_servers = bootstrap_servers();
    }
    let partitions = settings.topic_partitions;
    // A test that turns topic creation off creates them itself.
    if settings.create_topics {
        let kafka = &settings.kafka;
        order_service::kafka::ensure_topics(
            &kafka.connection,
            &[&kafka.commands_topic, &kafka.events_topic, &kafka.dlq_topic],
            &order_service::kafka::TopicSpec {
                partitions: settings.topic_partitions,
                replication_factor: settings.topic_replication_factor,
                configs: &settings.topic_config,
            },
        )
        .await
        .expect("create the test topics");
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

/// The configuration of a test client connecting as the application does.
pub fn test_client_config(connection: &KafkaConnection) -> ClientConfig {
    order_service::kafka::client_config(connection).expect("Kafka client configuration")
}

/// A consumer assigned every partition of `topic` from the beginning, no group.
fn reader(connection: &KafkaConnection, topic: &str, partitions: i32) -> StreamConsumer {
    let consumer: StreamConsumer = test_client_config(connection)
        .set("group.id", format!("reader-{}", Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("test reader");
    let mut tpl = TopicPartitionList::new();
    for partition in 0..partitions {
        tpl.add_partition_offset(topic, partition, Offset::Beginning)
            .expect("partition offset");
    }
    consumer.assign(&tpl).expect("assign");
    consumer
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
            (
                "KAFKA_DLQ_REPLAY_GROUP",
                format!("{}-replay", self.settings.group_id),
            ),
            ("DATABASE_URL", self.settings.database.database_url.clone()),
        ]
    }

    /// Publishes a command as protobuf, key = order_id.
    pub async fn send(&self, command: &OrderCommand) {
        self.send_raw(
            Some(command.order_id.as_bytes()),
            &command.encode_to_vec(),
            &[("content-type", "application/x-protobuf")],
        )
        .await;
    }

    pub async fn send_all(&self, commands: &[OrderCommand]) {
        for command in commands {
            self.send(command).await;
        }
    }

    /// Publishes `commands` all at once (each enqueued in order, the
    /// acknowledgements awaited together): as fast as the producer goes.
    pub async fn send_burst(&self, commands: &[OrderCommand]) {
        futures_util::future::join_all(commands.iter().map(|c| self.send(c))).await;
    }

    /// Sends `commands` as a stream: `chunk` at a time, `pause` between.
    pub async fn send_paced(&self, commands: &[OrderCommand], chunk: usize, pause: Duration) {
        for chunk in commands.chunks(chunk) {
            self.send_all(chunk).await;
            tokio::time::sleep(pause).await;
        }
    }

    pub async fn send_raw(&self, key: Option<&[u8]>, payload: &[u8], headers: &[(&str, &str)]) {
        let mut owned = OwnedHeaders::new();
        for (name, value) in headers {
            owned = owned.insert(Header {
                key: name,
                value: Some(*value),
            });
        }
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.settings.kafka.commands_topic)
            .payload(payload)
            .headers(owned);
        if let Some(key) = key {
            record = record.key(key);
        }
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .expect("publish command");
    }

    /// Reads events until `count` have been read in all, then returns them all.
    pub async fn events(&mut self, count: usize) -> &[OrderEvent] {
        self.events_until(WAIT, |received| received.len() >= count)
            .await
            .unwrap_or_else(|received| {
                panic!(
                    "timed out with {} of {count} events: {received:#?}",
                    received.len()
                )
            })
    }

    /// Reads events until `done(all read so far)` holds; `Err` with what was
    /// read if `wait` passes first.
    pub async fn events_until(
        &mut self,
        wait: Duration,
        done: impl Fn(&[OrderEvent]) -> bool,
    ) -> Result<&[OrderEvent], &[OrderEvent]> {
        let deadline = tokio::time::Instant::now() + wait;
        while !done(&self.received) {
            let Ok(message) = tokio::time::timeout_at(deadline, self.events.recv()).await else {
                return Err(&self.received);
            };
            // Errors are reports (a broker went away); the consumer goes on.
            let Ok(message) = message else { continue };
            let event = OrderEvent::decode(message.payload().expect("event payload"))
                .expect("event decodes");
            check_headers(&message, &event);
            self.received_headers
                .insert(event.event_id.clone(), headers_of(&message));
            self.received.push(event);
        }
        Ok(&self.received)
    }

    /// The events read so far for one order, in order.
    pub fn events_of(&self, order_id: &str) -> Vec<&OrderEvent> {
        self.received
            .iter()
            .filter(|e| e.order_id == order_id)
            .collect()
    }

    /// Reads dead-letter records until `count` have arrived.
    pub async fn dead_letters(&self, count: usize) -> Vec<OwnedMessage> {
        let mut out = Vec::new();
        while out.len() < count {
            let message = tokio::time::timeout(WAIT, self.dead_letters.recv())
                .await
                .expect("timed out waiting for a dead letter")
                .expect("read dead letter");
            out.push(message.detach());
        }
        out
    }

    /// A connection to this test's database.
    pub fn db(&self) -> PgConnection {
        PgConnection::establish(&self.settings.database.database_url).expect("connect to test db")
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

/// Rows of `processed_commands`: commands applied or rejected.
pub fn processed_count(conn: &mut PgConnection) -> i64 {
    use diesel::QueryDsl;
    use order_service::db::schema::processed_commands;
    processed_commands::table
        .count()
        .get_result(conn)
        .expect("count processed commands")
}

/// Outbox rows the relay has not published yet.
pub fn unpublished_count(conn: &mut PgConnection) -> i64 {
    use diesel::ExpressionMethods;
    use diesel::QueryDsl;
    use order_service::db::schema::outbox;
    outbox::table
        .filter(outbox::published_at.is_null())
        .count()
        .get_result(conn)
        .expect("count unpublished outbox rows")
}

/// A record's headers as text, by name.
pub fn headers_of(message: &impl Message) -> HashMap<String, String> {
    message
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every event carries the CloudEvents binding headers, consistent with its body.
fn check_headers(message: &impl Message, event: &OrderEvent) {
    let headers = headers_of(message);
    let kind = event.event.as_ref().expect("event oneof set").type_name();
    assert_eq!(
        headers.get("ce_specversion").map(String::as_str),
        Some("1.0")
    );
    assert_eq!(headers.get("ce_id"), Some(&event.event_id));
    assert_eq!(headers.get("ce_type").map(String::as_str), Some(kind));
    assert_eq!(
        headers.get("ce_source").map(String::as_str),
        Some("order-service")
    );
    assert!(headers.contains_key("ce_time"), "ce_time header");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("application/x-protobuf")
    );
    assert_eq!(
        message.key(),
        Some(event.order_id.as_bytes()),
        "key = order_id"
    );
}

// Command builders. Every command gets a fresh command_id.

pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

pub fn command(order_id: &str, command: Command) -> OrderCommand {
    order_service::commands::new(order_id, command)
}

pub fn create_order(order_id: &str, user_id: &str) -> OrderCommand {
    command(
        order_id,
        Command::CreateOrder(proto::CreateOrder {
            user_id: user_id.into(),
            shipping_address: "1 Main St, Springfield".into(),
            currency: "EUR".into(),
        }),
    )
}

pub fn add_item(
    order_id: &str,
    product_id: &str,
    quantity: i32,
    price_per_unit: i64,
) -> OrderCommand {
    command(
        order_id,
        Command::AddOrderItem(proto::AddOrderItem {
            product_id: product_id.into(),
            quantity,
            price_per_unit,
        }),
    )
}

pub fn process_payment(order_id: &str, amount: i64, transaction_id: &str) -> OrderCommand {
    command(
        order_id,
        Command::ProcessPayment(proto::ProcessPayment {
            amount,
            payment_method: "card".into(),
            transaction_id: transaction_id.into(),
        }),
    )
}

pub fn update_payment(
    order_id: &str,
    transaction_id: &str,
    status: proto::PaymentStatus,
) -> OrderCommand {
    command(
        order_id,
        Command::UpdatePaymentStatus(proto::UpdatePaymentStatus {
            transaction_id: transaction_id.into(),
            status: status.into(),
        }),
    )
}

pub fn update_status(order_id: &str, status: proto::OrderStatus, reason: &str) -> OrderCommand {
    command(
        order_id,
        Command::UpdateOrderStatus(proto::UpdateOrderStatus {
            status: status.into(),
            reason: reason.into(),
        }),
    )
}

/// The rejection code of a `CommandRejected` event, or `None`.
pub fn rejection(event: &OrderEvent) -> Option<proto::RejectionCode> {
    match &event.event {
        Some(proto::order_event::Event::CommandRejected(r)) => Some(r.code()),
        _ => None,
    }
}
