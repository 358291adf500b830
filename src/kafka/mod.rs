//! Kafka client settings shared by the consumer and the producers, the
//! command record, and topic creation ([`topics`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::DefaultClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::error::KafkaResult;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaConfRes;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, ClientContext};

use crate::config::KafkaConfigError;
use crate::proto::{self, OrderCommand};

mod properties;
mod topics;

pub use properties::{
    client_config, group_consumer_config, progress_reader_config, relay_producer_config,
    reliable_producer_config,
};
pub use topics::{TopicSpec, ensure_relay_topic, ensure_topics, longest_retention};

/// How often the same client error is logged again while it persists.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Client errors (a broker refusing our credentials or certificate, all
/// brokers down) logged once per process when they start, then once a
/// minute while they last, not by every client on every reconnect attempt.
#[derive(Default)]
pub struct ErrorLog;

/// When each kind of client error was last logged, across all clients.
static LAST_LOGGED: Mutex<Option<HashMap<String, Instant>>> = Mutex::new(None);

impl ErrorLog {
    /// Whether `error` is due for a log line: first seen, or seen last more
    /// than a minute ago.
    pub fn due(&self, error: &KafkaError) -> bool {
        use RDKafkaErrorCode::*;
        let kind = match error.rdkafka_error_code() {
            // "All brokers down" only follows the failure that took them
            // down, which was logged.
            Some(AllBrokersDown) => return false,
            // One failure to connect, however librdkafka words it.
            Some(
                BrokerTransportFailure | SSL | Authentication | Resolve | SaslAuthenticationFailed,
            ) => "connection".to_owned(),
            Some(code) => format!("{code:?}"),
            None => error.to_string(),
        };
        let now = Instant::now();
        let mut guard = LAST_LOGGED.lock().unwrap_or_else(|e| e.into_inner());
        let last = guard.get_or_insert_with(HashMap::new);
        match last.get(&kind) {
            Some(at) if now.duration_since(*at) < ERROR_LOG_INTERVAL => false,
            _ => {
                last.insert(kind, now);
                true
            }
        }
    }

    /// Logs `error` if it is due; librdkafka's `reason` names the broker
    /// and, for SASL, the mechanism.
    pub fn log(&self, error: &KafkaError, reason: &str) {
        if self.due(error) {
            tracing::error!(%error, reason, "Kafka client error (logged again once a minute while it lasts)");
        } else {
            tracing::debug!(%error, reason, "Kafka client error");
        }
    }
}

impl ErrorLog {
    /// librdkafka's own log lines. Connection failures (`FAIL`) also come
    /// through the error callback, which logs them once; here they are
    /// debug, so a refused connection is not logged on every attempt.
    pub fn librdkafka_log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        if facility == "FAIL" {
            tracing::debug!(target: "librdkafka", "{facility} {message}");
        } else {
            DefaultClientContext.log(level, facility, message);
        }
    }
}

impl ClientContext for ErrorLog {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.librdkafka_log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.log(&error, reason);
    }
}

/// The producers of the service, with their errors logged by [`ErrorLog`].
pub type Producer = FutureProducer<ErrorLog>;

/// Creates a [`Producer`] from `config`.
pub fn create_producer(config: &ClientConfig) -> KafkaResult<Producer> {
    config.create_with_context(ErrorLog).map_err(redacted)
}

/// librdkafka's refusal of a property quotes the value (in the error and
/// in its description), and the value may be a secret from
/// `KAFKA_PROPERTIES_FILE`: the error passed on names the property only.
pub fn redacted(error: KafkaError) -> KafkaError {
    match error {
        KafkaError::ClientConfig(code, description, key, value) => {
            let description = if value.is_empty() {
                description
            } else {
                description.replace(&value, "(hidden)")
            };
            KafkaError::ClientConfig(code, description, key, "(value hidden)".into())
        }
        other => other,
    }
}

/// A configuration that cannot be assembled, as the error every Kafka
/// client constructor already returns. The message names the variable or
/// file, never a value.
fn config_error(error: KafkaConfigError) -> KafkaError {
    KafkaError::ClientConfig(
        RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
        error.to_string(),
        String::new(),
        String::new(),
    )
}

/// An `OrderCommand` record as the service expects it: protobuf bytes
/// (`payload`, the command encoded), key = order_id, `content-type` header.
pub fn command_record<'a>(
    topic: &'a str,
    command: &'a OrderCommand,
    payload: &'a [u8],
    traceparent: Option<&'a str>,
) -> FutureRecord<'a, str, [u8]> {
    let mut headers = OwnedHeaders::new().insert(Header {
        key: "content-type",
        value: Some(proto::CONTENT_TYPE_PROTOBUF),
    });
    if let Some(traceparent) = traceparent {
        headers = headers.insert(Header {
            key: crate::telemetry::TRACEPARENT,
            value: Some(traceparent),
        });
    }
    FutureRecord::to(topic)
        .key(command.order_id.as_str())
        .payload(payload)
        .headers(headers)
}

/// The headers of `message`, names decoded lossily. rdkafka's own header
/// iterator panics on a name that is not UTF-8, and any producer can send
/// one: every read of a consumed record's headers goes through here.
pub fn headers_of<'a>(
    message: &'a rdkafka::message::BorrowedMessage<'_>,
) -> Vec<(std::borrow::Cow<'a, str>, Option<&'a [u8]>)> {
    use rdkafka::bindings as rd;
    let ok = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
    let mut headers = Vec::new();
    let mut native: *mut rd::rd_kafka_headers_t = std::ptr::null_mut();
    // SAFETY: the message pointer is valid while `message` lives; the
    // headers it returns belong to the message.
    if unsafe { rd::rd_kafka_message_headers(message.ptr(), &mut native) } != ok || native.is_null()
    {
        return headers;
    }
    for index in 0.. {
        let mut name: *const std::ffi::c_char = std::ptr::null();
        let mut value: *const std::ffi::c_void = std::ptr::null();
        let mut size = 0_usize;
        // SAFETY: `native` is valid (above); the out-pointers are locals.
        let found =
            unsafe { rd::rd_kafka_header_get_all(native, index, &mut name, &mut value, &mut size) };
        if found != ok || name.is_null() {
            break;
        }
        // SAFETY: librdkafka keeps a NUL-terminated name and `size` bytes
        // of value for as long as the message lives.
        let name = unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy();
        let value = (!value.is_null())
            .then(|| unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) });
        headers.push((name, value));
    }
    headers
}

/// The member id the group coordinator gave `consumer` (empty before it
/// joined).
pub fn member_id<C: rdkafka::consumer::ConsumerContext>(
    consumer: &rdkafka::consumer::BaseConsumer<C>,
) -> String {
    use rdkafka::bindings;
    use rdkafka::consumer::Consumer as _;
    // SAFETY: the client pointer is valid while `consumer` lives;
    // rd_kafka_memberid returns a string librdkafka allocated (or null),
    // which is copied and then given back with rd_kafka_mem_free.
    unsafe {
        let client = consumer.client().native_ptr();
        let id = bindings::rd_kafka_memberid(client);
        if id.is_null() {
            return String::new();
        }
        let owned = std::ffi::CStr::from_ptr(id).to_string_lossy().into_owned();
        bindings::rd_kafka_mem_free(client, id.cast());
        owned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_property_never_shows_its_value() {
        let error = ClientConfig::new()
            .set("security.protocol", "hunter2-not-a-protocol")
            .create_with_context::<_, Producer>(ErrorLog)
            .map(drop)
            .map_err(redacted)
            .expect_err("librdkafka refuses the value");
        let text = error.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("security.protocol"), "{text}");
    }
}
