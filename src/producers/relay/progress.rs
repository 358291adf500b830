//! The relay's position on the progress topic (`KAFKA_RELAY_TOPIC`,
//! compacted, one partition): a record keyed by the transactional id,
//! written in the same Kafka transaction as the events it accounts for, so
//! what Kafka committed says exactly which outbox rows are published.
//!
//! The value is JSON: `{"next": N, "gaps": [[first, last], ...],
//! "generation": G, "holder": "..."}`: every outbox id below `next` is
//! published except the runs in `gaps` (ids not visible yet, or rows held
//! back).

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::config::KafkaConnection;
use crate::kafka;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Position {
    pub(super) next: i64,
    pub(super) gaps: Vec<(i64, i64)>,
    pub(super) generation: i64,
    pub(super) holder: String,
}

/// Records read back per step when looking for the last position: the
/// last record is normally the holder's (one per round, plus the
/// transaction markers).
const STEP: i64 = 256;

/// Reads the last committed position of `key` (read_committed), or `None`
/// when there is none (a new topic, a first start, an upgrade). Blocking;
/// gives up after `timeout`.
pub(super) fn read_last(
    connection: &KafkaConnection,
    topic: &str,
    key: &str,
    timeout: Duration,
) -> KafkaResult<Option<Position>> {
    let deadline = Instant::now() + timeout;
    let consumer: BaseConsumer = kafka::progress_reader_config(connection, key)?
        .create()
        .map_err(kafka::redacted)?;
    let (low, high) = match consumer.fetch_watermarks(topic, 0, timeout) {
        Ok(marks) => marks,
        Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownTopicOrPartition) => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let mut from = high;
    let mut step = STEP;
    while from > low {
        from = (from - step).max(low);
        step = step.saturating_mul(16);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Offset(from))?;
        consumer.assign(&tpl)?;
        let mut last = None;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::OperationTimedOut,
                ));
            }
            match consumer.poll(remaining.min(Duration::from_millis(500))) {
                None => continue,
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    // The end a read_committed reader reaches is the last
                    // stable offset: short of the high watermark, a
                    // transaction of another deployment sharing the topic
                    // is open, and a later position of ours may be behind
                    // it. Try again later rather than resume from an
                    // older one.
                    let position = consumer.position()?;
                    let at = position
                        .find_partition(topic, 0)
                        .map(|p| p.offset())
                        .and_then(|o| o.to_raw());
                    if at.is_some_and(|at| at < high) {
                        return Err(KafkaError::MessageConsumption(
                            RDKafkaErrorCode::ConcurrentTransactions,
                        ));
                    }
                    break;
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(message)) => {
                    if message.key() == Some(key.as_bytes())
                        && let Some(position) = message
                            .payload()
                            .and_then(|p| serde_json::from_slice(p).ok())
                    {
                        last = Some(position);
                    }
                }
            }
        }
        if last.is_some() {
            return Ok(last);
        }
    }
    Ok(None)
}

impl Position {
    pub(super) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a position serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_reads_back_as_written() {
        let position = Position {
            next: 42,
            gaps: vec![(3, 3), (7, 9)],
            generation: 5,
            holder: "host:1".into(),
        };
        let json = position.to_json();
        assert_eq!(
            String::from_utf8_lossy(&json),
            r#"{"next":42,"gaps":[[3,3],[7,9]],"generation":5,"holder":"host:1"}"#
        );
        assert_eq!(serde_json::from_slice::<Position>(&json).unwrap(), position);
    }
}
