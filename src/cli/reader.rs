//! `TopicReader`: reads every partition of one topic from a chosen start,
//! without joining a consumer group. It can stop at the end the topic had
//! when the reader was opened (`tail`, `dlq list`, `dlq replay`: records
//! written meanwhile, such as a replay's own dead letters, do not keep it
//! going) or go on (`tail --follow`, `send --wait`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, bail};
use rdkafka::ClientContext;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::KafkaConnection;
use crate::kafka;

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// Where reading starts on each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start<'a> {
    Beginning,
    /// The end as of opening: only records written afterwards.
    End,
    /// The offsets `group` committed (the beginning where it has none).
    Committed(&'a str),
}

/// End-of-partition is how the reader knows it is done, not an error:
/// librdkafka reports it through the error callback too, which would log it.
struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
        ) {
            tracing::warn!(%error, reason, "kafka client error");
        }
    }
}

impl ConsumerContext for ReaderContext {}

fn reader_consumer(
    connection: &KafkaConnection,
    group: &str,
) -> anyhow::Result<StreamConsumer<ReaderContext>> {
    kafka::client_config(connection)?
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        // A committed position that retention has removed: start at the
        // oldest record left rather than skip to the newest.
        .set("auto.offset.reset", "earliest")
        .create_with_context(ReaderContext)
        .map_err(kafka::redacted)
        .context("creating the consumer")
}

/// The partitions of `topic`. A topic created a moment ago may not show
/// its partitions yet: that is waited out, up to 10 s.
async fn partitions(
    consumer: &StreamConsumer<ReaderContext>,
    topic: &str,
) -> anyhow::Result<Vec<i32>> {
    let deadline = tokio::time::Instant::now() + METADATA_TIMEOUT;
    loop {
        let metadata = consumer
            .fetch_metadata(Some(topic), METADATA_TIMEOUT)
            .with_context(|| format!("reading the metadata of topic {topic}"))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if !partitions.is_empty() {
            return Ok(partitions);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("topic {topic} does not exist (or has no partitions)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first and next offset of `partition` (ListOffsets). A topic created
/// a moment ago may have no leader yet: that is waited out, up to 10 s.
async fn watermarks(
    consumer: &StreamConsumer<ReaderContext>,
    topic: &str,
    partition: i32,
) -> KafkaResult<(i64, i64)> {
    let deadline = tokio::time::Instant::now() + METADATA_TIMEOUT;
    loop {
        match consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT) {
            Err(e) if is_leader_election(&e) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

fn is_leader_election(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::UnknownTopicOrPartition
        )
    )
}

pub struct TopicReader {
    consumer: StreamConsumer<ReaderContext>,
    topic: String,
    partitions: Vec<i32>,
    /// Per partition: the next offset to read.
    positions: HashMap<i32, i64>,
    /// Per partition: the end (high watermark) when the reader was opened.
    ends: HashMap<i32, i64>,
    /// Partitions that reported end-of-partition since their last record.
    at_end: HashSet<i32>,
}

impl TopicReader {
    pub async fn open(
        connection: &KafkaConnection,
        topic: &str,
        start: Start<'_>,
    ) -> anyhow::Result<Self> {
        let group = match start {
            Start::Committed(group) => group.to_owned(),
            _ => format!("order-service-cli-{}", uuid::Uuid::new_v4()),
        };
        let consumer = reader_consumer(connection, &group)?;
        let partitions = partitions(&consumer, topic).await?;
        let mut committed = HashMap::new();
        if let Start::Committed(_) = start {
            let mut wanted = TopicPartitionList::new();
            for &partition in &partitions {
                wanted.add_partition(topic, partition);
            }
            let offsets = consumer
                .committed_offsets(wanted, METADATA_TIMEOUT)
                .context("reading committed offsets")?;
            for element in offsets.elements() {
                if let Offset::Offset(offset) = element.offset() {
                    committed.insert(element.partition(), offset);
                }
            }
        }
        let mut positions = HashMap::new();
        let mut ends = HashMap::new();
        let mut assignment = TopicPartitionList::new();
        for &partition in &partitions {
            let (low, high) = watermarks(&consumer, topic, partition)
                .await
                .with_context(|| format!("reading the end of {topic}/{partition}"))?;
            let position = match (start, committed.get(&partition)) {
                (Start::End, _) => high,
                (_, Some(&offset)) => offset.clamp(low, high),
                _ => low,
            };
            assignment.add_partition_offset(topic, partition, Offset::Offset(position))?;
            positions.insert(partition, position);
            ends.insert(partition, high);
        }
        // Assigned once: librdkafka can trip over an assignment replaced
        // while its partitions are still starting.
        consumer
            .assign(&assignment)
            .context("assigning partitions")?;
        Ok(Self {
            consumer,
            topic: topic.to_owned(),
            partitions,
            positions,
            ends,
            at_end: HashSet::new(),
        })
    }

    /// The next record; `None` when `until_end` and every partition has
    /// been read to where it ended when the reader was opened.
    pub async fn next(&mut self, until_end: bool) -> anyhow::Result<Option<BorrowedMessage<'_>>> {
        loop {
            if until_end && self.partitions.iter().all(|p| self.done(*p)) {
                return Ok(None);
            }
            match self.consumer.recv().await {
                Ok(message) => {
                    self.at_end.remove(&message.partition());
                    self.positions
                        .insert(message.partition(), message.offset() + 1);
                    return Ok(Some(message));
                }
                Err(KafkaError::PartitionEOF(partition)) => {
                    self.at_end.insert(partition);
                }
                Err(e) => return Err(e).with_context(|| format!("reading {}", self.topic)),
            }
        }
    }

    fn done(&self, partition: i32) -> bool {
        self.at_end.contains(&partition)
            || self.positions.get(&partition) >= self.ends.get(&partition)
    }

    /// Commits the positions read so far for the reader's group (a reader
    /// opened with [`Start::Committed`]).
    pub fn commit(&self) -> anyhow::Result<()> {
        if self.positions.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (&partition, &offset) in &self.positions {
            tpl.add_partition_offset(&self.topic, partition, Offset::Offset(offset))?;
        }
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .context("committing offsets")
    }
}
