//! Wiring: [`Application::build`] turns settings into a running service's
//! parts; `main` and the integration tests both go through it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;

use crate::config::ServeSettings;
use crate::consumers::OrderCommandConsumer;
use crate::db::Database;
use crate::housekeeping::Housekeeper;
use crate::http::{AppState, HttpServer};
use crate::kafka;
use crate::metrics::Metrics;
use crate::processor::CommandProcessor;
use crate::producers::{CommandPublisher, DeadLetterProducer, OutboxRelay};
use crate::shutdown::{Shutdown, ShutdownTrigger};

pub struct Application {
    consumer: OrderCommandConsumer,
    relay: OutboxRelay,
    housekeeper: Housekeeper,
    http: HttpServer,
    http_addr: SocketAddr,
}

impl Application {
    /// Migrates the database, creates missing topics (when configured),
    /// connects the consumer and producers, and binds the HTTP server.
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
        let metrics = Arc::new(Metrics::new());
        let relay_wakeup = Arc::new(Notify::new());
        let relay = OutboxRelay::new(&settings, db.clone(), relay_wakeup.clone(), metrics.clone())
            .context("creating the event producer")?;
        let dlq = DeadLetterProducer::new(&settings.kafka)
            .context("creating the dead-letter producer")?;
        let commands = CommandPublisher::new(
            &settings.kafka.bootstrap_servers,
            &settings.kafka.commands_topic,
        )
        .context("creating the command producer")?;
        let state = AppState::new(&settings, db.clone(), metrics.clone(), commands);
        let http = HttpServer::bind(settings.http_addr, state)
            .await
            .with_context(|| format!("listening on HTTP_ADDR {}", settings.http_addr))?;
        let http_addr = http.local_addr().context("reading the HTTP address")?;
        let housekeeper = Housekeeper::new(&settings, db.clone(), metrics.clone());
        let consumer = OrderCommandConsumer::new(
            &settings,
            CommandProcessor::new(db),
            dlq,
            relay_wakeup,
            metrics,
        )
        .context("creating the command consumer")?;
        Ok(Self {
            consumer,
            relay,
            housekeeper,
            http,
            http_addr,
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
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let (stop_relay, relay_shutdown) = ShutdownTrigger::new();
        let relay = tokio::spawn(self.relay.run(relay_shutdown));
        let housekeeper = tokio::spawn(self.housekeeper.run(shutdown.clone()));
        let http = tokio::spawn(self.http.run(shutdown.clone()));
        self.consumer.run(shutdown).await;
        stop_relay.fire();
        relay.await.context("outbox relay task")?;
        housekeeper.await.context("housekeeping task")?;
        http.await
            .context("http server task")?
            .context("http server")?;
        Ok(())
    }
}
