//! `order-service positions show | reset | accept-partitions`: the consumer
//! group's positions on the command topic, as the database holds them
//! (where the service resumes) beside Kafka's committed offsets and the
//! log's bounds; a reset of both while the group is empty — for a position
//! that fell below the log's start after a long outage, or a replay an
//! operator decided on; and the topic's partition count accepted after it
//! was grown.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use diesel::{Connection, PgConnection};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;

use crate::config::{DatabaseSettings, GroupSettings, KafkaSettings};
use crate::db::models::{CommandTopic, ConsumerOffset};
use crate::kafka;

#[derive(Debug, Clone, Args)]
pub struct PositionsArgs {
    #[command(flatten)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    pub kafka: KafkaSettings,

    #[command(flatten)]
    pub group: GroupSettings,

    #[command(subcommand)]
    pub command: PositionsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum PositionsCommand {
    /// One JSON line per partition: the position in the database (where
    /// the service resumes), Kafka's committed offset, the log's start and
    /// end, the lag, and whether the position fell below the log's start.
    Show,
    /// Sets the positions of the chosen partitions, in Kafka and then in
    /// the database, to one target. Refused unless the group is empty:
    /// stop every instance first.
    Reset(ResetArgs),
    /// Records the command topic's partition count as it is now, after it
    /// was grown drained (README: Growing the command topic): the service
    /// stops reporting the change.
    AcceptPartitions,
}

#[derive(Debug, Clone, Args)]
#[group(skip)]
#[command(group(
    clap::ArgGroup::new("target")
        .required(true)
        .args(["to_earliest", "to_offset", "to_time"])
))]
pub struct ResetArgs {
    /// The log's start: everything the topic still holds is read again
    /// (harmless: processed commands change nothing).
    #[arg(long)]
    pub to_earliest: bool,
    /// This offset (between the log's start and end).
    #[arg(long, value_name = "OFFSET")]
    pub to_offset: Option<i64>,
    /// The first record written at or after this time (RFC 3339, e.g.
    /// 2026-12-06T10:00:00Z); the log's end when there is none.
    #[arg(long, value_name = "TIME")]
    pub to_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Only this partition (repeatable); every partition when absent.
    #[arg(long = "partition", value_name = "PARTITION")]
    pub partitions: Vec<i32>,
    /// Print what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// How long one broker request may take.
const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn positions(args: PositionsArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || run(&args)).await?
}

/// One partition's positions.
struct Partition {
    id: i32,
    database: Option<i64>,
    kafka: Option<i64>,
    log_start: i64,
    log_end: i64,
}

impl Partition {
    /// Where the service resumes: the database's position, else Kafka's.
    fn resumes_at(&self) -> Option<i64> {
        self.database.or(self.kafka)
    }

    fn show(&self) -> serde_json::Value {
        let resumes = self.resumes_at();
        json!({
            "partition": self.id,
            "database": self.database,
            "kafka": self.kafka,
            "log_start": self.log_start,
            "log_end": self.log_end,
            "lag": resumes.map(|at| (self.log_end - at.max(self.log_start)).max(0)),
            "below_log_start": resumes.is_some_and(|at| at < self.log_start),
            "beyond_log_end": resumes.is_some_and(|at| at > self.log_end),
        })
    }
}

fn run(args: &PositionsArgs) -> anyhow::Result<()> {
    let group = &args.group.group_id;
    let topic = &args.kafka.commands_topic;
    let consumer: BaseConsumer = kafka::client_config(&args.kafka.connection)?
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .map_err(kafka::redacted)?;
    let mut conn = PgConnection::establish(&args.database.database_url)
        .context("connecting to the database")?;
    let partitions = read(&consumer, &mut conn, group, topic)?;
    match &args.command {
        PositionsCommand::Show => {
            for partition in &partitions {
                println!("{}", partition.show());
            }
            Ok(())
        }
        PositionsCommand::AcceptPartitions => {
            let count = i32::try_from(partitions.len())?;
            let before =
                CommandTopic::recorded(&mut conn, topic).context("reading command_topics")?;
            CommandTopic::accept(&mut conn, topic, count).context("writing command_topics")?;
            println!(
                "{}",
                json!({ "topic": topic, "recorded_before": before, "recorded": count })
            );
            Ok(())
        }
        PositionsCommand::Reset(reset) => {
            if !reset.dry_run {
                ensure_group_is_empty(&consumer, group)?;
            }
            let targets = targets(&consumer, topic, &partitions, reset)?;
            for (partition, to) in &targets {
                let from = partitions.iter().find(|p| p.id == *partition);
                println!(
                    "{}",
                    json!({
                        "partition": partition,
                        "from_database": from.and_then(|p| p.database),
                        "from_kafka": from.and_then(|p| p.kafka),
                        "to": to,
                        "dry_run": reset.dry_run,
                    })
                );
            }
            if reset.dry_run {
                return Ok(());
            }
            // Kafka first: the broker takes a commit from outside the group
            // only while the group is empty, so a member that joined since
            // the check stops the reset before the database changes.
            let mut tpl = TopicPartitionList::new();
            for (partition, to) in &targets {
                tpl.add_partition_offset(topic, *partition, Offset::Offset(*to))?;
            }
            consumer
                .commit(&tpl, CommitMode::Sync)
                .context("committing the positions to Kafka (has an instance joined the group?)")?;
            let rows: Vec<ConsumerOffset> = targets
                .iter()
                .map(|(partition, to)| ConsumerOffset {
                    group_id: group.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                    next_offset: *to,
                    updated_at: Utc::now(),
                })
                .collect();
            ConsumerOffset::overwrite_all(&mut conn, &rows).context(
                "writing the positions to consumer_offsets (Kafka has them: run the reset again)",
            )?;
            Ok(())
        }
    }
}

/// Every partition of `topic`, with its positions.
fn read(
    consumer: &BaseConsumer,
    conn: &mut PgConnection,
    group: &str,
    topic: &str,
) -> anyhow::Result<Vec<Partition>> {
    let metadata = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .context("reading the topic's metadata")?;
    let Some(described) = metadata.topics().iter().find(|t| t.name() == topic) else {
        bail!("topic {topic} not found");
    };
    if let Some(error) = described.error() {
        bail!(
            "topic {topic}: {}",
            rdkafka::error::RDKafkaErrorCode::from(error)
        );
    }
    let ids: Vec<i32> = described.partitions().iter().map(|p| p.id()).collect();
    let stored: HashMap<i32, i64> = ConsumerOffset::for_topic(conn, group, topic)
        .context("reading consumer_offsets")?
        .into_iter()
        .map(|row| (row.partition, row.next_offset))
        .collect();
    let mut tpl = TopicPartitionList::new();
    for id in &ids {
        tpl.add_partition(topic, *id);
    }
    let committed: HashMap<i32, i64> = consumer
        .committed_offsets(tpl, TIMEOUT)
        .context("reading Kafka's committed offsets")?
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(offset) => Some((e.partition(), offset)),
            _ => None,
        })
        .collect();
    let mut partitions = Vec::new();
    for id in ids {
        let (log_start, log_end) = consumer
            .fetch_watermarks(topic, id, TIMEOUT)
            .with_context(|| format!("reading partition {id}'s bounds"))?;
        partitions.push(Partition {
            id,
            database: stored.get(&id).copied(),
            kafka: committed.get(&id).copied(),
            log_start,
            log_end,
        });
    }
    partitions.sort_by_key(|p| p.id);
    Ok(partitions)
}

/// A reset while an instance reads would be undone by its next commit.
/// Fails closed: a group the broker does not describe as `Empty` (or
/// `Dead`: it never had members) is taken for one in use.
fn ensure_group_is_empty(consumer: &BaseConsumer, group: &str) -> anyhow::Result<()> {
    let groups = consumer
        .fetch_group_list(Some(group), TIMEOUT)
        .context("describing the consumer group")?;
    let Some(found) = groups.groups().iter().find(|g| g.name() == group) else {
        bail!("the broker did not describe the group {group} (a Describe ACL?): not resetting");
    };
    if !found.members().is_empty() || !matches!(found.state(), "Empty" | "Dead") {
        bail!(
            "the group {group} has {} member(s) (state {}): stop every instance, then reset",
            found.members().len(),
            found.state()
        );
    }
    Ok(())
}

/// The chosen partitions and where each goes.
fn targets(
    consumer: &BaseConsumer,
    topic: &str,
    partitions: &[Partition],
    reset: &ResetArgs,
) -> anyhow::Result<Vec<(i32, i64)>> {
    for wanted in &reset.partitions {
        if !partitions.iter().any(|p| p.id == *wanted) {
            bail!("topic {topic} has no partition {wanted}");
        }
    }
    let chosen: Vec<&Partition> = partitions
        .iter()
        .filter(|p| reset.partitions.is_empty() || reset.partitions.contains(&p.id))
        .collect();
    let mut targets = Vec::new();
    for partition in chosen {
        let to = if reset.to_earliest {
            partition.log_start
        } else if let Some(offset) = reset.to_offset {
            if offset < partition.log_start || offset > partition.log_end {
                bail!(
                    "offset {offset} is outside partition {}'s log ({}..={})",
                    partition.id,
                    partition.log_start,
                    partition.log_end
                );
            }
            offset
        } else if let Some(time) = reset.to_time {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, partition.id, Offset::Offset(time.timestamp_millis()))?;
            let found = consumer
                .offsets_for_times(tpl, TIMEOUT)
                .context("finding the offsets of that time")?;
            let Some(element) = found.find_partition(topic, partition.id) else {
                bail!("no offset for that time on partition {}", partition.id);
            };
            element.error().with_context(|| {
                format!("the offset of that time on partition {}", partition.id)
            })?;
            match element.offset() {
                Offset::Offset(offset) => offset,
                // No record written at or after that time.
                Offset::End => partition.log_end,
                other => bail!(
                    "partition {}: no offset for that time ({other:?})",
                    partition.id
                ),
            }
        } else {
            bail!("say where to: --to-earliest, --to-offset or --to-time");
        };
        targets.push((partition.id, to));
    }
    Ok(targets)
}
