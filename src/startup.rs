//! Wiring: [`Application::build`] turns settings into a running service's
//! parts; `main` and the integration tests both go through it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use crate::commands::CommandPublisher;
use crate::config::ServeSettings;
use crate::consumers::OrderCommandConsumer;
use crate::db::Database;
use crate::handover;
use crate::housekeeping::Housekeeper;
use crate::http::{self, HttpServer};
use crate::kafka;
use crate::metrics::Metrics;
use crate::processor::{CommandOutcomes, CommandProcessor, OffsetStore};
use crate::producers::{DeadLetterProducer, OutboxRelay};
use crate::reachability;
use crate::shutdown::{Shutdown, ShutdownTrigger};

/// How often waits for command outcomes look for commands that another
/// instance processed.
const OUTCOME_SWEEP: std::time::Duration = std::time::Duration::from_millis(250);

pub struct Application {
    consumer: OrderCommandConsumer,
    outcomes: CommandOutcomes,
    reads: Database,
    /// Stops what the HTTP side waits on once the service is told to stop.
    http_stop: ShutdownTrigger,
    relay: OutboxRelay,
    housekeeper: Housekeeper,
    http: HttpServer,
    http_addr: SocketAddr,
    /// Pinged to tell whether this instance reaches its database, on a
    /// connection of its own; `leave_after`: DB_UNREACHABLE_LEAVE_SECS.
    watch_db: Database,
    leave_after: Option<std::time::Duration>,
    metrics: Arc<Metrics>,
}

impl Application {
    /// Migrates the database, creates missing topics (when configured),
    /// connects the consumer and producers, and binds the HTTP server.
    pub async fn build(settings: ServeSettings) -> anyhow::Result<Self> {
        settings.validate()?;
        let metrics = Arc::new(Metrics::new());
        let db = Database::new(&settings.database, metrics.pool_usage("main"));
        let applied = db.migrate().await.context("migrating the database")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied database migrations");
        }
        let kafka = &settings.kafka;
        tracing::info!(kafka = %kafka.connection.describe(), "connecting to Kafka");
        if settings.topics.create_topics {
            let spec = kafka::TopicSpec {
                partitions: settings.topics.topic_partitions,
                replication_factor: settings.topics.topic_replication_factor,
                configs: &settings.topics.topic_config,
            };
            // Not fatal: a broker that refuses us now (credentials, TLS) is
            // retried by every client, and /readyz says why meanwhile.
            if let Err(error) = kafka::ensure_topics(
                &kafka.connection,
                &[&kafka.commands_topic, &kafka.events_topic, &kafka.dlq_topic],
                &spec,
            )
            .await
            {
                tracing::error!(%error, "cannot create the topics");
            }
            if let Err(error) = kafka::ensure_relay_topic(
                &kafka.connection,
                &kafka.relay_topic(),
                settings.topics.topic_replication_factor,
            )
            .await
            {
                tracing::error!(%error, "cannot create the relay's progress topic");
            }
        }
        // In the background: a broker that does not answer must not hold
        // up the start.
        tokio::spawn({
            let settings = settings.clone();
            async move { warn_if_dedup_outlived(&settings).await }
        });
        let (handover, committed) = handover::channel();
        let relay = OutboxRelay::new(
            &settings.kafka,
            &settings.relay,
            db.clone(),
            committed,
            metrics.clone(),
        )
        .context("creating the event producer")?;
        let dlq = DeadLetterProducer::new(&settings.kafka)
            .context("creating the dead-letter producer")?;
        let commands =
            CommandPublisher::new(&settings.kafka.connection, &settings.kafka.commands_topic)
                .context("creating the command producer")?;
        let tokens = settings.http.tokens()?;
        if tokens.is_none() {
            tracing::warn!(
                "API_TOKENS is not set: anyone who reaches HTTP_ADDR may read orders and send commands"
            );
        }
        let reads = Database::for_reads(
            &settings.database,
            settings.http.read_pool_size,
            metrics.pool_usage("reads"),
        );
        let outcomes = CommandOutcomes::default();
        let (http_stop, http_shutdown) = ShutdownTrigger::new();
        let router = http::router(
            &settings.http,
            &settings.readiness,
            http::Parts {
                reads: reads.clone(),
                // One checked connection of their own: a flood of
                // probes can neither take the consumer's connections nor
                // the reads'.
                probes: Database::for_reads(&settings.database, 1, metrics.pool_usage("probes")),
                metrics: metrics.clone(),
                commands,
                outcomes: outcomes.clone(),
                tokens,
                shutdown: http_shutdown,
            },
        );
        let http = HttpServer::bind(&settings.http, router)
            .await
            .with_context(|| format!("listening on HTTP_ADDR {}", settings.http.http_addr))?;
        let http_addr = http.local_addr().context("reading the HTTP address")?;
        let housekeeper = Housekeeper::new(
            &settings.housekeeping,
            &settings.kafka.commands_topic,
            db.clone(),
            metrics.clone(),
        );
        let watch_db = Database::for_reads(&settings.database, 1, metrics.pool_usage("watch"));
        let offsets = OffsetStore::new(db.clone(), settings.group.group_id.clone());
        let processor = CommandProcessor::new(db, offsets.clone(), outcomes.clone(), handover);
        processor
            .cache()
            .keep_commands_at_most(settings.housekeeping.retention());
        let consumer = OrderCommandConsumer::new(
            &settings.kafka,
            &settings.group,
            &settings.intake,
            processor,
            offsets,
            dlq,
            metrics.clone(),
        )
        .context("creating the command consumer")?;
        Ok(Self {
            consumer,
            outcomes,
            reads,
            http_stop,
            relay,
            housekeeper,
            http,
            http_addr,
            watch_db,
            leave_after: settings.intake.db_unreachable_leave(),
            metrics,
        })
    }

    /// Where the HTTP server listens (the port is chosen when HTTP_ADDR
    /// asks for port 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Runs until `shutdown` fires. The consumer finishes its batch and
    /// commits its offsets first; then the relay publishes what that batch
    /// wrote and stops. The HTTP server finishes its requests in flight.
    /// A consumer that hit a fatal error (its group fenced it) stops the
    /// whole service the same way, and the error is returned: a process
    /// that is alive but consumes nothing would never be restarted.
    pub async fn run_until_stopped(self, outside: Shutdown) -> anyhow::Result<()> {
        let (stop_all, shutdown) = ShutdownTrigger::new();
        let stop_all = std::sync::Arc::new(stop_all);
        tokio::spawn({
            let (mut outside, stop_all) = (outside, stop_all.clone());
            async move {
                outside.recv().await;
                stop_all.fire();
            }
        });
        let (stop_relay, relay_shutdown) = ShutdownTrigger::new();
        let relay = tokio::spawn(self.relay.run(relay_shutdown));
        let housekeeper = tokio::spawn(self.housekeeper.run(shutdown.clone()));
        let http = tokio::spawn(self.http.run(shutdown.clone()));
        let sweep = tokio::spawn(
            self.outcomes
                .sweep(self.reads, OUTCOME_SWEEP, shutdown.clone()),
        );
        let http_stop = self.http_stop;
        let mut stopping = shutdown.clone();
        tokio::spawn(async move {
            stopping.recv().await;
            http_stop.fire();
        });
        let reachable = self.leave_after.map(|leave_after| {
            reachability::watch_database(self.watch_db, leave_after, self.metrics, shutdown.clone())
        });
        let consumed = self.consumer.run(shutdown, reachable).await;
        stop_all.fire();
        stop_relay.fire();
        relay.await.context("outbox relay task")?;
        housekeeper.await.context("housekeeping task")?;
        sweep.await.context("outcome sweep task")?;
        http.await
            .context("http server task")?
            .context("http server")?;
        consumed.context("the command consumer stopped")
    }
}

/// A command redelivered after its `processed_commands` row was purged is
/// applied again: warn when the command topic can keep a record longer
/// than `RETENTION_SECS` keeps its row.
async fn warn_if_dedup_outlived(settings: &ServeSettings) {
    let topic = &settings.kafka.commands_topic;
    match kafka::longest_retention(&settings.kafka.connection, topic).await {
        Ok(Some(kept)) if kept < settings.housekeeping.retention() => {}
        Ok(kept) => tracing::warn!(
            topic,
            topic_keeps_records_secs = kept.map(|k| k.as_secs()),
            retention_secs = settings.housekeeping.retention_secs,
            "RETENTION_SECS does not exceed the command topic's retention.ms + segment.ms \
             (or retention is unlimited): a command redelivered after its dedup row is \
             purged would be applied again"
        ),
        Err(error) => {
            tracing::warn!(topic, %error, "cannot read the command topic's retention")
        }
    }
}
