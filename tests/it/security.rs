//! Secured Kafka: the whole lifecycle over SASL_SSL (SCRAM-SHA-512),
//! SASL_PLAINTEXT (PLAIN and SCRAM-SHA-256) and SSL with a client
//! certificate, against the listeners `scripts/test` opens on its broker; a
//! wrong password and an unknown CA fail clearly and quietly; compressed
//! command batches are read and compressed events written; secrets stay out
//! of `--help` and the log.

use std::path::PathBuf;
use std::time::Duration;

use order_service::config::{
    Compression, KafkaConnection, SaslMechanism, Secret, SecurityProtocol,
};
use order_service::proto::{OrderStatus, PaymentStatus};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::chaos::process::ServiceProcess;
use crate::helpers::*;

fn required(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test"))
}

fn tls_file(name: &str) -> PathBuf {
    PathBuf::from(required("TEST_KAFKA_TLS_DIR")).join(name)
}

fn sasl(bootstrap: &str, protocol: SecurityProtocol, mechanism: SaslMechanism) -> KafkaConnection {
    let mut connection = KafkaConnection::plaintext(required(bootstrap));
    connection.security_protocol = Some(protocol);
    connection.sasl_mechanism = Some(mechanism);
    connection.sasl_username = Some(required("TEST_KAFKA_USER"));
    connection.sasl_password = Some(Secret::new(required("TEST_KAFKA_PASSWORD")));
    if protocol == SecurityProtocol::SaslSsl {
        connection.ssl_ca_location = Some(tls_file("ca.pem"));
    }
    connection
}

/// Creates, fills, pays and confirms one order through `connection`: the
/// application and the test's own clients all connect with it.
async fn lifecycle_over(connection: KafkaConnection) {
    let mut app = spawn_app_with(|s| s.kafka.connection = connection).await;
    let order_id = new_id();
    let tx = format!("tx-{order_id}");
    let commands = vec![
        create_order(&order_id, "user-secure"),
        add_item(&order_id, "sku-1", 2, 1_250),
        process_payment(&order_id, 2_500, &tx),
        update_payment(&order_id, &tx, PaymentStatus::Completed),
        update_status(&order_id, OrderStatus::Confirmed, "paid"),
    ];
    app.send_all(&commands).await;
    let events = app.events(commands.len()).await.to_vec();
    for (i, (event, command)) in events.iter().zip(&commands).enumerate() {
        assert_eq!(event.command_id, command.command_id);
        assert_eq!(event.sequence, i as u64 + 1, "{event:?}");
        assert_eq!(rejection(event), None, "{event:?}");
    }
    app.await_readiness(Duration::from_secs(30), |status, _| status == 200)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifecycle_over_sasl_ssl_with_scram_sha_512() {
    lifecycle_over(sasl(
        "TEST_KAFKA_SASL_SSL_BOOTSTRAP_SERVERS",
        SecurityProtocol::SaslSsl,
        SaslMechanism::ScramSha512,
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifecycle_over_sasl_plaintext_with_plain_and_a_password_file() {
    let mut connection = sasl(
        "TEST_KAFKA_SASL_PLAINTEXT_BOOTSTRAP_SERVERS",
        SecurityProtocol::SaslPlaintext,
        SaslMechanism::Plain,
    );
    let file = std::env::temp_dir().join(format!("kafka-password-{}", new_id()));
    std::fs::write(&file, format!("{}\n", required("TEST_KAFKA_PASSWORD"))).unwrap();
    connection.sasl_password = None;
    connection.sasl_password_file = Some(file.clone());
    lifecycle_over(connection).await;
    std::fs::remove_file(file).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifecycle_over_sasl_plaintext_with_scram_sha_256() {
    lifecycle_over(sasl(
        "TEST_KAFKA_SASL_PLAINTEXT_BOOTSTRAP_SERVERS",
        SecurityProtocol::SaslPlaintext,
        SaslMechanism::ScramSha256,
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifecycle_over_ssl_with_a_client_certificate() {
    let mut connection = KafkaConnection::plaintext(required("TEST_KAFKA_SSL_BOOTSTRAP_SERVERS"));
    connection.security_protocol = Some(SecurityProtocol::Ssl);
    connection.ssl_ca_location = Some(tls_file("ca.pem"));
    connection.ssl_certificate_location = Some(tls_file("client.pem"));
    connection.ssl_key_location = Some(tls_file("client.key"));
    lifecycle_over(connection).await;
}

/// Starts the service as a child process connecting to the SASL_SSL
/// listener with `env`, waits until `/readyz` names an error containing
/// `expected`, then returns that body and the service's log after `quiet`.
async fn failing_start(
    name: &str,
    env: &[(&str, String)],
    expected: &str,
) -> (serde_json::Value, String) {
    let app = spawn_env_with(|_| {}).await;
    let mut settings = app.settings.clone();
    settings.kafka.connection.bootstrap_servers = required("TEST_KAFKA_SASL_SSL_BOOTSTRAP_SERVERS");
    let name = format!("{name}-{}", new_id());
    let service = ServiceProcess::start_with_env(&settings, &name, env);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let body = loop {
        if let Some((503, body)) = service.readiness().await
            && body["checks"]["broker"]["error"]
                .as_str()
                .is_some_and(|e| e.contains(expected))
        {
            break body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never named {expected:?}: {:?}",
            service.readiness().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Long enough for several reconnect attempts.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let log = std::fs::read_to_string(ServiceProcess::log_path(&name)).expect("service log");
    (body, log)
}

fn client_error_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains("ERROR") && line.contains("Kafka client error"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_clearly_once_and_never_shows_the_password() {
    let password = format!("wrong-{}", new_id());
    let env = [
        ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL".to_owned()),
        ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512".to_owned()),
        ("KAFKA_SASL_USERNAME", required("TEST_KAFKA_USER")),
        ("KAFKA_SASL_PASSWORD", password.clone()),
        (
            "KAFKA_SSL_CA_LOCATION",
            tls_file("ca.pem").display().to_string(),
        ),
    ];
    let (body, log) = failing_start("wrong-password", &env, "SASL authentication error").await;
    let error = body["checks"]["broker"]["error"].as_str().unwrap();
    assert!(
        error.contains("SCRAM-SHA-512"),
        "names the mechanism: {error}"
    );
    assert!(error.contains("127.0.0.1:"), "names the broker: {error}");
    let lines = client_error_lines(&log);
    assert_eq!(
        lines.len(),
        1,
        "one error line, not one per reconnect:\n{}",
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("SASL authentication error")),
        "{log}"
    );
    assert!(
        log.contains("with SASL SCRAM-SHA-512"),
        "the start names the mechanism: {log}"
    );
    assert!(
        !log.contains(&password),
        "the password is in the log:\n{log}"
    );
    assert!(!body.to_string().contains(&password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_certificate_authority_fails_clearly() {
    let env = [
        ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL".to_owned()),
        ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512".to_owned()),
        ("KAFKA_SASL_USERNAME", required("TEST_KAFKA_USER")),
        ("KAFKA_SASL_PASSWORD", required("TEST_KAFKA_PASSWORD")),
        (
            "KAFKA_SSL_CA_LOCATION",
            tls_file("other-ca.pem").display().to_string(),
        ),
    ];
    let (_, log) = failing_start("unknown-ca", &env, "certificate verify failed").await;
    let lines = client_error_lines(&log);
    assert_eq!(lines.len(), 1, "one error line:\n{}", lines.join("\n"));
    assert!(
        lines[0].contains("certificate verify failed"),
        "{}",
        lines[0]
    );
    assert!(!log.contains(&required("TEST_KAFKA_PASSWORD")), "{log}");
}

/// Upstream producers compress their batches; the service reads zstd and
/// lz4 batches and compresses what it writes when told to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_command_batches_are_read_and_events_written_compressed() {
    let mut app = spawn_app_with(|s| {
        s.kafka.connection.compression_type = Some(Compression::Zstd);
    })
    .await;
    let mut expected = 0;
    for codec in ["zstd", "lz4"] {
        let producer: FutureProducer = test_client_config(&app.settings.kafka.connection)
            .set("compression.type", codec)
            // One batch for the whole order.
            .set("linger.ms", "200")
            .create()
            .expect("compressing producer");
        let order_id = new_id();
        let commands = [
            create_order(&order_id, &format!("user-{codec}")),
            add_item(&order_id, "sku-1", 1, 100),
            add_item(&order_id, "sku-2", 3, 200),
        ];
        let sends = commands.iter().map(|command| {
            let payload = prost::Message::encode_to_vec(command);
            let producer = &producer;
            let topic = app.settings.kafka.commands_topic.clone();
            async move {
                producer
                    .send(
                        FutureRecord::to(&topic)
                            .key(command.order_id.as_str())
                            .payload(&payload),
                        Duration::from_secs(10),
                    )
                    .await
                    .map_err(|(e, _)| e)
                    .expect("publish")
            }
        });
        futures_util::future::join_all(sends).await;
        expected += commands.len();
        let events = app.events(expected).await;
        let of_order: Vec<_> = events.iter().filter(|e| e.order_id == order_id).collect();
        assert_eq!(of_order.len(), commands.len(), "{codec}: {events:?}");
        assert!(
            of_order.iter().all(|e| rejection(e).is_none()),
            "{of_order:?}"
        );
    }
}

#[test]
fn help_says_a_secret_is_set_without_showing_it() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_order-service"))
        .args(["serve", "--help"])
        .env("KAFKA_SASL_PASSWORD", "hunter2-secret")
        .env("KAFKA_SASL_USERNAME", "alice")
        .output()
        .expect("run order-service");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{help}");
    assert!(!help.contains("hunter2-secret"), "{help}");
    let line = help
        .lines()
        .skip_while(|l| !l.contains("--sasl-password "))
        .take(4)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(line.contains("[set, value hidden]"), "{line}");
    assert!(line.contains("KAFKA_SASL_PASSWORD"), "{line}");
}
