//! Wiring: [`Application::build`] turns settings into a running service's
//! parts; `main` and the integration tests both go through it.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;

use crate::config::ServeSettings;
use crate::consumers::OrderCommandConsumer;
use crate::db::Database;
use crate::kafka;
use crate::processor::CommandProcessor;
use crate::producers::{DeadLetterProducer, OutboxRelay};
use crate::shutdown::{Shutdown, ShutdownTrigger};

pub struct Application {
    consumer: OrderCommandConsumer,
    relay: OutboxRelay,
}

impl Application {
    /// Migrates the database, creates missing topics (when configured), and
    /// connects the consumer and producers.
    pub async fn build(settings: ServeSettings) -> anyhow::Result<Self> {
        let db = Database::new(&settings.database);
        let applied = db.migrate().await.context("migrating the database")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied database migrations");
        }
        if settings.create_topics {
            let kafka = &settings.kafka;
            kafka::ensure_topics(
                &kafka.bootstrap_servers,
                &[&kafka.commands_topic, &kafka.events_topic, &kafka.dlq_topic],
                settings.topic_partitions,
            )
            .await
            .context("creating the topics")?;
        }
        let relay_wakeup = Arc::new(Notify::new());
        let relay = OutboxRelay::new(&settings, db.clone(), relay_wakeup.clone())
            .context("creating the event producer")?;
        let dlq = DeadLetterProducer::new(&settings.kafka)
            .context("creating the dead-letter producer")?;
        let consumer =
            OrderCommandConsumer::new(&settings, CommandProcessor::new(db), dlq, relay_wakeup)
                .context("creating the command consumer")?;
        Ok(Self { consumer, relay })
    }

    /// Runs until `shutdown` fires. The consumer finishes its batch and
    /// commits its offsets first; then the relay publishes what that batch
    /// wrote and stops.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let (stop_relay, relay_shutdown) = ShutdownTrigger::new();
        let relay = tokio::spawn(self.relay.run(relay_shutdown));
        self.consumer.run(shutdown).await;
        stop_relay.fire();
        relay.await.context("outbox relay task")?;
        Ok(())
    }
}
