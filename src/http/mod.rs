//! The HTTP server on `HTTP_ADDR` (axum): health and readiness probes,
//! Prometheus metrics, the REST API (commands in, orders out) and its
//! OpenAPI document.
//!
//! The REST command endpoints do not touch the database: they validate,
//! publish the command to the command topic and answer `202 Accepted`, so
//! an HTTP client gets exactly the guarantees of a Kafka producer (ordering
//! per order, at-most-once application by `command_id`).

mod error;
mod health;
mod orders;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, patch, post};
use tokio::net::TcpListener;

use crate::config::ServeSettings;
use crate::db::Database;
use crate::metrics::Metrics;
use crate::producers::CommandPublisher;
use crate::shutdown::Shutdown;

pub use error::ApiError;

/// The OpenAPI 3.1 document of this server, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

#[derive(Clone)]
pub struct AppState {
    db: Database,
    metrics: Arc<Metrics>,
    commands: CommandPublisher,
    max_outbox_age: Duration,
    max_outbox_backlog: i64,
}

impl AppState {
    pub fn new(
        settings: &ServeSettings,
        db: Database,
        metrics: Arc<Metrics>,
        commands: CommandPublisher,
    ) -> Self {
        Self {
            db,
            metrics,
            commands,
            max_outbox_age: Duration::from_secs(settings.ready_max_outbox_age_secs),
            max_outbox_backlog: settings.ready_max_outbox_backlog,
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(health::openapi))
        .route("/orders", get(orders::list))
        .route("/orders/create", post(orders::create))
        .route("/orders/{id}", get(orders::get))
        .route("/orders/{id}/items/add", post(orders::add_item))
        .route(
            "/orders/{id}/payment",
            post(orders::process_payment).patch(orders::update_payment_status),
        )
        .route("/orders/{id}/status", patch(orders::update_status))
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
}

pub struct HttpServer {
    listener: TcpListener,
    router: Router,
}

impl HttpServer {
    pub async fn bind(addr: SocketAddr, state: AppState) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            router: router(state),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` fires, then finishes the requests in flight.
    pub async fn run(self, mut shutdown: Shutdown) -> std::io::Result<()> {
        tracing::info!(addr = ?self.listener.local_addr().ok(), "http server started");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { shutdown.recv().await })
            .await
    }
}
