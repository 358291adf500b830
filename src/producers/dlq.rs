//! Dead-letter producer: a command record that cannot be decoded is copied to
//! `order-commands-dlq` with its original key, bytes and headers, plus
//! `error`, `original_topic`, `original_partition` and `original_offset`, so
//! it can be inspected and replayed once the cause is fixed.

use std::time::Duration;

use futures_util::future::join_all;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

use crate::config::KafkaSettings;
use crate::kafka;

/// Headers this producer adds to every dead-letter record.
pub mod headers {
    pub const ERROR: &str = "error";
    pub const ORIGINAL_TOPIC: &str = "original_topic";
    pub const ORIGINAL_PARTITION: &str = "original_partition";
    pub const ORIGINAL_OFFSET: &str = "original_offset";
    /// All of them: what a replay takes off again.
    pub const ADDED: [&str; 4] = [ERROR, ORIGINAL_TOPIC, ORIGINAL_PARTITION, ORIGINAL_OFFSET];
}

/// An owned copy of a record that could not be decoded, and why.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub error: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl DeadLetter {
    pub fn from_message(message: &BorrowedMessage<'_>, error: String) -> Self {
        let headers = message
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
            error,
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        }
    }
}

#[derive(Clone)]
pub struct DeadLetterProducer {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetterProducer {
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: kafka::reliable_producer_config(&settings.bootstrap_servers).create()?,
            topic: settings.dlq_topic.clone(),
        })
    }

    /// Publishes all and waits for every acknowledgement; `Err` if any failed
    /// (the caller retries all: a duplicate dead letter is harmless).
    ///
    /// A dead letter too large for the topic (the original record was near
    /// the size limit, and the added headers pushed it over) would fail the
    /// same way forever and hold its partition: it is sent once more without
    /// its payload, the error saying so.
    pub async fn send_all(&self, letters: &[DeadLetter]) -> Result<(), KafkaError> {
        let sends = letters.iter().map(|letter| async move {
            match self.send(letter).await {
                Err(KafkaError::MessageProduction(code)) if is_too_large(code) => {
                    let size = letter.payload.as_ref().map_or(0, Vec::len);
                    tracing::warn!(size, "dead letter too large for its topic, dropping its payload");
                    let trimmed = DeadLetter {
                        payload: None,
                        error: format!(
                            "{} (payload of {size} bytes dropped: too large for the dead-letter topic)",
                            letter.error
                        ),
                        ..letter.clone()
                    };
                    self.send(&trimmed).await
                }
                other => other,
            }
        });
        for result in join_all(sends).await {
            result?;
        }
        Ok(())
    }

    async fn send(&self, letter: &DeadLetter) -> Result<(), KafkaError> {
        let partition = letter.partition.to_string();
        let offset = letter.offset.to_string();
        let mut headers = OwnedHeaders::new_with_capacity(letter.headers.len() + 4);
        for (key, value) in &letter.headers {
            headers = headers.insert(Header {
                key,
                value: value.as_deref(),
            });
        }
        let headers = headers
            .insert(Header {
                key: headers::ERROR,
                value: Some(&letter.error),
            })
            .insert(Header {
                key: headers::ORIGINAL_TOPIC,
                value: Some(&letter.topic),
            })
            .insert(Header {
                key: headers::ORIGINAL_PARTITION,
                value: Some(&partition),
            })
            .insert(Header {
                key: headers::ORIGINAL_OFFSET,
                value: Some(&offset),
            });
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.topic).headers(headers);
        if let Some(key) = &letter.key {
            record = record.key(key);
        }
        if let Some(payload) = &letter.payload {
            record = record.payload(payload);
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(drop)
            .map_err(|(e, _)| e)
    }
}

/// The producer's or the broker's answer to a record over its size limit.
fn is_too_large(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::MessageBatchTooLarge
    )
}
