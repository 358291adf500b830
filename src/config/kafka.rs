//! How every Kafka client of the project connects: brokers, TLS, SASL,
//! compression, and any other librdkafka property from a file (the
//! settings; `kafka::properties` turns them into librdkafka's).
//!
//! Secrets (`KAFKA_SASL_PASSWORD`, `KAFKA_SSL_KEY_PASSWORD`) are [`Secret`]s:
//! their `Debug` is redacted, `--help` says only whether they are set, and
//! no error built here quotes a value.

use std::path::{Path, PathBuf};

use clap::Args;

use super::env::Env;
use super::{Compression, SaslMechanism, Secret, SecurityProtocol};

/// Why the Kafka client configuration could not be assembled. Never holds
/// a property's value: a properties file may hold secrets.
#[derive(Debug, thiserror::Error)]
pub enum KafkaConfigError {
    #[error("cannot read {variable} ({path}): {source}")]
    Unreadable {
        variable: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: not a `name=value` property")]
    BadLine { path: PathBuf, line: usize },
    #[error("KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are both set; set one")]
    TwoPasswords,
}

#[derive(Debug, Clone, Args)]
pub struct KafkaSettings {
    #[command(flatten)]
    pub connection: KafkaConnection,

    /// Topic the order commands arrive on (key = order_id).
    #[arg(long, env = "KAFKA_COMMANDS_TOPIC", default_value = "order-commands")]
    pub commands_topic: String,

    /// Topic the order events are published to (key = order_id).
    #[arg(long, env = "KAFKA_EVENTS_TOPIC", default_value = "order-events")]
    pub events_topic: String,

    /// Topic for commands that cannot be decoded (original key and bytes kept).
    #[arg(long, env = "KAFKA_DLQ_TOPIC", default_value = "order-commands-dlq")]
    pub dlq_topic: String,

    /// The relay's progress topic (compacted, one partition): written only
    /// inside the relay's Kafka transactions, it says exactly which events
    /// were published. Unset: the events topic's name and `-relay`
    /// (`order-events-relay`).
    #[arg(long, env = "KAFKA_RELAY_TOPIC")]
    pub relay_topic: Option<String>,
}

impl KafkaSettings {
    /// The relay's progress topic (see `relay_topic`).
    pub fn relay_topic(&self) -> String {
        self.relay_topic
            .clone()
            .unwrap_or_else(|| format!("{}-relay", self.events_topic))
    }

    pub fn write_env(&self, env: &mut Env) {
        self.connection.write_env(env);
        env.set("KAFKA_COMMANDS_TOPIC", &self.commands_topic);
        env.set("KAFKA_EVENTS_TOPIC", &self.events_topic);
        env.set("KAFKA_DLQ_TOPIC", &self.dlq_topic);
        env.set_some("KAFKA_RELAY_TOPIC", self.relay_topic.as_ref());
    }
}

/// Where and how every Kafka client connects (consumer, producers, admin,
/// `send`, `tail`, `dlq`, `bench`).
#[derive(Debug, Clone, Args)]
pub struct KafkaConnection {
    /// Kafka bootstrap servers, comma-separated host:port.
    #[arg(
        long,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "127.0.0.1:9092"
    )]
    pub bootstrap_servers: String,

    /// How to talk to the brokers (librdkafka's security.protocol).
    #[arg(long, env = "KAFKA_SECURITY_PROTOCOL", value_enum, ignore_case = true)]
    pub security_protocol: Option<SecurityProtocol>,

    /// SASL mechanism, with SASL_PLAINTEXT or SASL_SSL.
    #[arg(long, env = "KAFKA_SASL_MECHANISM", value_enum, ignore_case = true)]
    pub sasl_mechanism: Option<SaslMechanism>,

    /// SASL user name.
    #[arg(long, env = "KAFKA_SASL_USERNAME")]
    pub sasl_username: Option<String>,

    /// SASL password. Prefer the variable (or the file) to the flag, which
    /// other users of the machine can see in the process list.
    #[arg(long, env = "KAFKA_SASL_PASSWORD", hide_env_values = true)]
    pub sasl_password: Option<Secret>,

    /// File holding the SASL password (a trailing newline is ignored), e.g. a
    /// mounted secret.
    #[arg(long, env = "KAFKA_SASL_PASSWORD_FILE", value_name = "PATH")]
    pub sasl_password_file: Option<PathBuf>,

    /// CA certificate(s) to verify the brokers with, PEM. Unset: the
    /// system's trust store.
    #[arg(long, env = "KAFKA_SSL_CA_LOCATION", value_name = "PATH")]
    pub ssl_ca_location: Option<PathBuf>,

    /// Client certificate, PEM, for brokers that ask for one (mutual TLS).
    #[arg(long, env = "KAFKA_SSL_CERTIFICATE_LOCATION", value_name = "PATH")]
    pub ssl_certificate_location: Option<PathBuf>,

    /// Private key of the client certificate, PEM.
    #[arg(long, env = "KAFKA_SSL_KEY_LOCATION", value_name = "PATH")]
    pub ssl_key_location: Option<PathBuf>,

    /// Password of the private key, when it is encrypted.
    #[arg(long, env = "KAFKA_SSL_KEY_PASSWORD", hide_env_values = true)]
    pub ssl_key_password: Option<Secret>,

    /// Compression of the records the service produces (events, dead
    /// letters, commands from `send` and the API).
    #[arg(long, env = "KAFKA_COMPRESSION_TYPE", value_enum, ignore_case = true)]
    pub compression_type: Option<Compression>,

    /// Any other librdkafka property, one `name=value` a line (`#` starts a
    /// comment). The variables above win over the file.
    #[arg(long, env = "KAFKA_PROPERTIES_FILE", value_name = "PATH")]
    pub properties_file: Option<PathBuf>,
}

impl KafkaConnection {
    pub fn write_env(&self, env: &mut Env) {
        env.set("KAFKA_BOOTSTRAP_SERVERS", &self.bootstrap_servers);
        env.set_choice("KAFKA_SECURITY_PROTOCOL", self.security_protocol.as_ref());
        env.set_choice("KAFKA_SASL_MECHANISM", self.sasl_mechanism.as_ref());
        env.set_some("KAFKA_SASL_USERNAME", self.sasl_username.as_ref());
        env.set_some(
            "KAFKA_SASL_PASSWORD",
            self.sasl_password.as_ref().map(Secret::expose),
        );
        env.set_path("KAFKA_SASL_PASSWORD_FILE", &self.sasl_password_file);
        env.set_path("KAFKA_SSL_CA_LOCATION", &self.ssl_ca_location);
        env.set_path(
            "KAFKA_SSL_CERTIFICATE_LOCATION",
            &self.ssl_certificate_location,
        );
        env.set_path("KAFKA_SSL_KEY_LOCATION", &self.ssl_key_location);
        env.set_some(
            "KAFKA_SSL_KEY_PASSWORD",
            self.ssl_key_password.as_ref().map(Secret::expose),
        );
        env.set_choice("KAFKA_COMPRESSION_TYPE", self.compression_type.as_ref());
        env.set_path("KAFKA_PROPERTIES_FILE", &self.properties_file);
    }

    /// Plaintext to `bootstrap_servers`, nothing else set.
    pub fn plaintext(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            security_protocol: None,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            sasl_password_file: None,
            ssl_ca_location: None,
            ssl_certificate_location: None,
            ssl_key_location: None,
            ssl_key_password: None,
            compression_type: None,
            properties_file: None,
        }
    }

    /// What a log line or an error may say about the connection: brokers,
    /// protocol, mechanism and user, never a secret.
    pub fn describe(&self) -> String {
        let protocol = self
            .security_protocol
            .map_or("PLAINTEXT", SecurityProtocol::as_str);
        let mut text = format!("{} over {protocol}", self.bootstrap_servers);
        if let Some(mechanism) = self.sasl_mechanism {
            text.push_str(&format!(" with SASL {}", mechanism.as_str()));
            if let Some(user) = &self.sasl_username {
                text.push_str(&format!(" as {user:?}"));
            }
        }
        text
    }

    /// The SASL password, given or read from its file.
    pub(crate) fn password(&self) -> Result<Option<Secret>, KafkaConfigError> {
        match (&self.sasl_password, &self.sasl_password_file) {
            (Some(_), Some(_)) => Err(KafkaConfigError::TwoPasswords),
            (Some(password), None) => Ok(Some(password.clone())),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|source| {
                    KafkaConfigError::Unreadable {
                        variable: "KAFKA_SASL_PASSWORD_FILE",
                        path: path.clone(),
                        source,
                    }
                })?;
                Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n']))))
            }
            (None, None) => Ok(None),
        }
    }
}

/// `name=value` lines; blank lines and `#` comments skipped.
pub(crate) fn read_properties(path: &Path) -> Result<Vec<(String, String)>, KafkaConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| KafkaConfigError::Unreadable {
        variable: "KAFKA_PROPERTIES_FILE",
        path: path.to_owned(),
        source,
    })?;
    let mut properties = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                properties.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            _ => {
                return Err(KafkaConfigError::BadLine {
                    path: path.to_owned(),
                    line: index + 1,
                });
            }
        }
    }
    Ok(properties)
}
