//! `Housekeeper`: on a timer, measures the outbox backlog (rows and age of
//! the oldest unpublished one) into the metrics, makes the outbox's
//! partitions ahead of its ids and drops those published and older than
//! `RETENTION_SECS`, and purges the other expired rows (`processed_commands`,
//! idempotency keys, conflict answers, the outbox's default partition), a
//! small batch per statement so no purge holds locks or floods the WAL.
//! It also compares the command topic's partition count with the one
//! recorded in the database, and says loudly when the topic was grown.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::HousekeepingSettings;
use crate::db::models::outbox_partition::LongHolders;
use crate::db::models::{
    CommandIdConflict, CommandTopic, IdempotencyClaim, LeaseView, NewProcessedCommand,
    OutboxMessage, OutboxPartition, RelayLease,
};
use crate::db::{Database, DbError};
use crate::metrics::{Metrics, TableLabels};
use crate::shutdown::Shutdown;

/// The outbox rows waiting for the relay, and who publishes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    pub rows: i64,
    /// Age of the oldest row not yet in a committed Kafka transaction (as
    /// far as the saved watermark says); zero when there is none.
    pub oldest_age: Duration,
    /// The publisher lease: holder, generation, end.
    pub lease: LeaseView,
}

impl Backlog {
    /// Reads the backlog and the lease (also a check that the database
    /// answers).
    pub async fn measure(db: &Database) -> Result<Self, DbError> {
        let ((rows, oldest), lease) = db
            .run(|conn| Ok::<_, DbError>((OutboxMessage::backlog(conn)?, RelayLease::view(conn)?)))
            .await?;
        Ok(Self {
            rows,
            oldest_age: oldest
                .and_then(|at| (Utc::now() - at).to_std().ok())
                .unwrap_or_default(),
            lease,
        })
    }

    pub fn record(&self, metrics: &Metrics) {
        metrics.outbox_backlog.set(self.rows);
        metrics
            .outbox_oldest_age_seconds
            .set(self.oldest_age.as_secs_f64());
        metrics.relay.set_holder(self.lease.holder.as_deref());
    }
}

pub struct Housekeeper {
    db: Database,
    metrics: Arc<Metrics>,
    retention: Duration,
    interval: Duration,
    batch_size: i64,
    partition_ids: i64,
    /// Who held a lock on the outbox, and since when (across rounds).
    holders: Arc<std::sync::Mutex<LongHolders>>,
    commands_topic: String,
}

/// How many partitions' worth of ids are made ahead of the next id.
const PARTITIONS_AHEAD: i64 = 2;

/// How often a changed partition count is logged again while it lasts.
const PARTITION_CHANGE_LOG_EVERY: Duration = Duration::from_secs(600);

/// The partition count last logged as changed: now, recorded, when.
type SaidChanged = Option<(i64, i64, std::time::Instant)>;

impl Housekeeper {
    /// `commands_topic`: whose partition count to watch.
    pub fn new(
        settings: &HousekeepingSettings,
        commands_topic: &str,
        db: Database,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            db,
            metrics,
            retention: settings.retention(),
            interval: settings.interval(),
            batch_size: i64::from(settings.purge_batch_size),
            partition_ids: settings.outbox_partition_ids,
            holders: Arc::default(),
            commands_topic: commands_topic.to_owned(),
        }
    }

    pub async fn run(self, mut shutdown: Shutdown) {
        let mut said = None;
        loop {
            match Backlog::measure(&self.db).await {
                Ok(backlog) => backlog.record(&self.metrics),
                Err(e) => tracing::warn!(error = %e, "cannot measure the outbox backlog"),
            }
            self.check_partition_count(&mut said).await;
            self.keep_partitions().await;
            if let Err(e) = self.purge(&mut shutdown).await {
                tracing::warn!(error = %e, "retention purge failed, will retry");
            }
            tokio::select! {
                _ = shutdown.recv() => return,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// Compares the command topic's partition count, as the consumer's
    /// metadata has it, with the count recorded in the database (recorded
    /// first when there is none); a difference is logged as an error, again
    /// every 10 minutes while it lasts, and shown in the metrics and
    /// `/readyz` until an operator accepts it.
    async fn check_partition_count(&self, said: &mut SaidChanged) {
        let now = self.metrics.topic.partitions.get();
        let Ok(seen) = i32::try_from(now) else {
            return;
        };
        if seen <= 0 {
            return;
        }
        let topic = self.commands_topic.clone();
        let recorded = match self
            .db
            .run(move |conn| CommandTopic::record_first(conn, &topic, seen).map_err(DbError::from))
            .await
        {
            Ok(recorded) => i64::from(recorded),
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the recorded partition count");
                return;
            }
        };
        self.metrics.topic.partitions_recorded.set(recorded);
        if recorded == now {
            *said = None;
            return;
        }
        let due = said.is_none_or(|(n, r, at)| {
            (n, r) != (now, recorded) || at.elapsed() >= PARTITION_CHANGE_LOG_EVERY
        });
        if due {
            tracing::error!(
                topic = self.commands_topic,
                partitions = now,
                recorded,
                "the command topic's partition count changed: keys now map to other \
                 partitions, and an order's commands written before and after the change \
                 may be applied out of order unless the topic was drained first; once \
                 checked, accept the count with `order-service positions accept-partitions` \
                 (README: Growing the command topic)"
            );
            *said = Some((now, recorded, std::time::Instant::now()));
        }
    }

    /// Makes the outbox's partitions ahead of its ids, then drops, lowest
    /// first, those published and expired. A partition that cannot be made
    /// or dropped now (its lock is busy) is tried again next round: rows
    /// that find no partition go to the default one meanwhile.
    async fn keep_partitions(&self) {
        let Ok(retention) = chrono::Duration::from_std(self.retention) else {
            return;
        };
        let before = Utc::now() - retention;
        let ids = self.partition_ids;
        let holders = self.holders.clone();
        let kept = self
            .db
            .run(move |conn| {
                let mut holders = holders.lock().unwrap_or_else(|e| e.into_inner());
                OutboxPartition::maintain(conn, ids, PARTITIONS_AHEAD, before, &mut holders)
                    .map_err(DbError::from)
            })
            .await;
        let kept = match kept {
            Ok(kept) => kept,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox's partitions");
                return;
            }
        };
        self.metrics.outbox_partitions.set(kept.partitions as i64);
        if kept.held_up {
            tracing::warn!(
                "a transaction of another role, or a long one, holds a lock on the outbox: \
                 its partitions are neither made nor dropped while it does (rows past them \
                 go to outbox_part_default)"
            );
        }
        if let Some(e) = kept.failed {
            tracing::warn!(error = %e, "cannot make or drop an outbox partition now, will retry");
        }
        let purged = self.metrics.purged.get_or_create(&TableLabels {
            table: "outbox".to_owned(),
        });
        for (name, rows) in kept.dropped {
            tracing::info!(
                partition = name,
                rows,
                "dropped an expired outbox partition"
            );
            purged.inc_by(rows.max(0) as u64);
        }
    }

    /// Deletes expired rows batch by batch until none is left (or shutdown).
    async fn purge(&self, shutdown: &mut Shutdown) -> Result<(), DbError> {
        let Ok(retention) = chrono::Duration::from_std(self.retention) else {
            return Ok(());
        };
        let before = Utc::now() - retention;
        self.purge_table("outbox", before, shutdown, OutboxMessage::purge_published)
            .await?;
        self.purge_table(
            "processed_commands",
            before,
            shutdown,
            NewProcessedCommand::purge,
        )
        .await?;
        self.purge_table(
            "idempotency_keys",
            before,
            shutdown,
            IdempotencyClaim::purge,
        )
        .await?;
        self.purge_table(
            "command_id_conflicts",
            before,
            shutdown,
            CommandIdConflict::purge,
        )
        .await
    }

    async fn purge_table(
        &self,
        table: &'static str,
        before: DateTime<Utc>,
        shutdown: &mut Shutdown,
        delete: fn(&mut diesel::PgConnection, DateTime<Utc>, i64) -> diesel::QueryResult<usize>,
    ) -> Result<(), DbError> {
        let limit = self.batch_size;
        let counter = self
            .metrics
            .purged
            .get_or_create(&TableLabels {
                table: table.to_owned(),
            })
            .clone();
        loop {
            let deleted = self
                .db
                .run(move |conn| delete(conn, before, limit).map_err(DbError::from))
                .await?;
            counter.inc_by(deleted as u64);
            if deleted > 0 {
                tracing::debug!(table, deleted, "purged expired rows");
            }
            if (deleted as i64) < limit || shutdown.is_shutdown() {
                return Ok(());
            }
            // Let the service's own transactions through between batches.
            tokio::task::yield_now().await;
        }
    }
}
