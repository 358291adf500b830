//! Dead-letter producer: a command record that cannot be decoded, or whose
//! command keeps failing when applied (quarantined), is copied to
//! `order-commands-dlq` with its original key, bytes and headers, plus
//! `error`, `original_topic`, `original_partition` and `original_offset`, so
//! it can be inspected and replayed once the cause is fixed.

use std::time::Duration;

use futures_util::future::join_all;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

use crate::config::KafkaSettings;
use crate::{excerpt, kafka};

/// Headers this producer adds to every dead-letter record.
pub mod headers {
    pub const ERROR: &str = "error";
    pub const ORIGINAL_TOPIC: &str = "original_topic";
    pub const ORIGINAL_PARTITION: &str = "original_partition";
    pub const ORIGINAL_OFFSET: &str = "original_offset";
    /// What was cut to make the dead letter fit its topic (payload, key,
    /// headers, with their sizes); absent when nothing was.
    pub const DROPPED: &str = "dlq_dropped";
    /// All of them: what a replay takes off again.
    pub const ADDED: [&str; 5] = [
        ERROR,
        ORIGINAL_TOPIC,
        ORIGINAL_PARTITION,
        ORIGINAL_OFFSET,
        DROPPED,
    ];
}

/// An owned copy of a record and why it is dead-lettered: it could not be
/// decoded, or its command kept failing (quarantined). A decoded command's
/// record is kept as this while its batch is applied, its error empty.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Why, at most [`excerpt::ERROR_BYTES`] long.
    pub error: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// What was cut to make it fit (see [`headers::DROPPED`]).
    pub dropped: Vec<String>,
    /// Its payload is a command that decoded (a quarantined one): too
    /// large for its topic, it loses its large key and headers before its
    /// payload, which a replay needs.
    pub keep_payload: bool,
}

impl DeadLetter {
    pub fn from_message(message: &BorrowedMessage<'_>, error: &str) -> Self {
        let headers = kafka::headers_of(message)
            .into_iter()
            .map(|(name, value)| (name.into_owned(), value.map(<[u8]>::to_vec)))
            .collect();
        Self {
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
            error: excerpt::bounded(error, excerpt::ERROR_BYTES),
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            dropped: Vec::new(),
            keep_payload: false,
        }
    }

    /// The same record, dead-lettered because of `error` (a command that
    /// was decoded but kept failing when applied: it leaves as it came).
    pub fn because(mut self, error: &str) -> Self {
        self.error = excerpt::bounded(error, excerpt::ERROR_BYTES);
        self.keep_payload = true;
        self
    }

    /// The same without its payload.
    fn without_payload(&self) -> Self {
        let mut letter = self.clone();
        if let Some(payload) = letter.payload.take() {
            letter
                .dropped
                .push(format!("payload ({} bytes)", payload.len()));
        }
        letter
    }

    /// The same without its payload and without any key or original
    /// header over [`LARGE`] bytes: what is left always fits.
    fn without_large_parts(&self) -> Self {
        self.without_payload().without_large_headers()
    }

    /// The same without any key or original header over [`LARGE`] bytes
    /// (and without all of them if they still pass [`ALL_HEADERS`]).
    fn without_large_headers(&self) -> Self {
        let mut letter = self.clone();
        if letter.key.as_ref().is_some_and(|k| k.len() > LARGE) {
            let key = letter.key.take().unwrap_or_default();
            letter.dropped.push(format!("key ({} bytes)", key.len()));
        }
        let mut kept = Vec::new();
        for (name, value) in std::mem::take(&mut letter.headers) {
            let size = name.len() + value.as_ref().map_or(0, Vec::len);
            if size > LARGE {
                letter
                    .dropped
                    .push(format!("header {} ({size} bytes)", excerpt::quote(&name)));
            } else {
                kept.push((name, value));
            }
        }
        letter.headers = kept;
        let total: usize = letter
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.as_ref().map_or(0, Vec::len))
            .sum();
        if total > ALL_HEADERS {
            // Many small headers can fill the record as well as one big one.
            letter.dropped.push(format!(
                "all {} remaining original headers ({total} bytes)",
                letter.headers.len()
            ));
            letter.headers.clear();
        }
        letter
    }
}

/// Keys and headers larger than this are dropped from a dead letter that
/// does not fit its topic even without its payload.
const LARGE: usize = 1024;
/// Original headers beyond this many bytes in all are dropped together.
const ALL_HEADERS: usize = 64 * 1024;

#[derive(Clone)]
pub struct DeadLetterProducer {
    producer: kafka::Producer,
    topic: String,
}

impl DeadLetterProducer {
    pub fn new(settings: &KafkaSettings) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: kafka::create_producer(&kafka::reliable_producer_config(
                &settings.connection,
            )?)?,
            topic: settings.dlq_topic.clone(),
        })
    }

    /// Publishes all and waits for every acknowledgement; `Err` if any failed
    /// (the caller retries all: a duplicate dead letter is harmless).
    ///
    /// A dead letter too large for its topic would fail the same way
    /// forever and hold its partition: it is sent again without its
    /// payload, and if that is still too large, also without any key or
    /// header over 1 KB (and without the other original headers when they
    /// still add up to over 64 KB); the `dlq_dropped` header says what was
    /// cut. The `error` and `original_*` headers are always kept.
    pub async fn send_all(&self, letters: &[DeadLetter]) -> Result<(), KafkaError> {
        let sends = letters.iter().map(|letter| async move {
            let mut attempt = self.send(letter).await;
            if is_too_large(&attempt) && letter.keep_payload {
                let trimmed = letter.without_large_headers();
                tracing::warn!(dropped = ?trimmed.dropped, "quarantined command too large for the dead-letter topic, dropping its large key and headers");
                attempt = self.send(&trimmed).await;
            }
            if is_too_large(&attempt) {
                tracing::warn!(
                    size = letter.payload.as_ref().map_or(0, Vec::len),
                    "dead letter too large for its topic, dropping its payload"
                );
                let trimmed = letter.without_payload();
                attempt = self.send(&trimmed).await;
                if is_too_large(&attempt) {
                    let trimmed = letter.without_large_parts();
                    tracing::warn!(dropped = ?trimmed.dropped, "dead letter still too large, dropping its large key and headers");
                    attempt = self.send(&trimmed).await;
                }
            }
            attempt
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
        let dropped = letter.dropped.join("; ");
        let headers = if dropped.is_empty() {
            headers
        } else {
            headers.insert(Header {
                key: headers::DROPPED,
                value: Some(&dropped),
            })
        };
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
fn is_too_large(result: &Result<(), KafkaError>) -> bool {
    let Err(KafkaError::MessageProduction(code)) = result else {
        return false;
    };
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessageSize
            | RDKafkaErrorCode::MessageBatchTooLarge
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarantined_letter_gives_up_its_large_headers_before_its_payload() {
        let letter = DeadLetter {
            key: Some(b"order".to_vec()),
            payload: Some(vec![7; 10]),
            headers: vec![
                ("big".into(), Some(vec![0; 2048])),
                ("small".into(), Some(b"v".to_vec())),
            ],
            error: String::new(),
            topic: "order-commands".into(),
            partition: 0,
            offset: 1,
            dropped: Vec::new(),
            keep_payload: false,
        }
        .because("quarantined: failed 4 times");
        assert!(letter.keep_payload);
        let trimmed = letter.without_large_headers();
        assert_eq!(trimmed.payload, letter.payload);
        assert_eq!(trimmed.headers.len(), 1);
        assert_eq!(trimmed.dropped, ["header \"big\" (2051 bytes)"]);
    }
}
