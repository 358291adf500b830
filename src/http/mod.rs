//! The HTTP server on `HTTP_ADDR` (axum over hyper): health and readiness
//! probes, Prometheus metrics, the REST API (commands in, orders and
//! command outcomes out) and its OpenAPI document, generated from the
//! handlers and types below (utoipa).
//!
//! The command endpoints do not write the database: they validate, publish
//! the command to the command topic and answer `202 Accepted` — or, with
//! `Prefer: wait`, the command's outcome once the consumer processed it —
//! so an HTTP client gets exactly the guarantees of a Kafka producer
//! (ordering per order, at-most-once application by `command_id`).
//!
//! Every request passes [`observe`] (request id, span, access log,
//! metrics) and response compression; a request to `/orders` or
//! `/commands` then load shedding at `HTTP_CONCURRENCY_LIMIT` (503 +
//! Retry-After), the request timeout, the body limit and the bearer-token
//! check ([`auth`]). The probes, `/metrics` and `/openapi.json` are not
//! shed. The connection itself has a header-read timeout against slow
//! clients.

mod auth;
mod commands;
mod error;
mod health;
mod keys;
mod observe;
mod orders;
mod submit;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::OpenApi as _;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::commands::CommandPublisher;
use crate::config::{ApiTokens, HttpSettings, ReadinessSettings};
use crate::db::Database;
use crate::metrics::Metrics;
use crate::processor::CommandOutcomes;
use crate::shutdown::Shutdown;

pub use error::ApiError;
pub use observe::{REQUEST_ID, RequestId};
pub use submit::MAX_WAIT_SECS;

/// How long requests in flight may finish after shutdown fired.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct AppState {
    /// The read pool (DATABASE_READ_POOL_SIZE), apart from the consumer's.
    reads: Database,
    /// `/readyz`'s own connection: neither a flood of reads nor a flood of
    /// probes touches the other's (or the consumer's) connections.
    probes: Database,
    /// Requests that may wait (`Prefer: wait`) at once; past it, a command
    /// is answered 202 without waiting (RFC 7240 lets a server ignore a
    /// preference).
    waits: Arc<tokio::sync::Semaphore>,
    /// HTTP_REQUEST_TIMEOUT_MS: a wait ends in time for the answer.
    request_timeout: Duration,
    metrics: Arc<Metrics>,
    commands: CommandPublisher,
    outcomes: CommandOutcomes,
    tokens: Option<Arc<ApiTokens>>,
    /// Ends the waits of `Prefer: wait` when the service stops.
    shutdown: Shutdown,
    openapi: Bytes,
    max_outbox_age: Duration,
    max_outbox_backlog: i64,
}

/// What [`AppState`] is made of.
pub struct Parts {
    pub reads: Database,
    pub probes: Database,
    pub metrics: Arc<Metrics>,
    pub commands: CommandPublisher,
    pub outcomes: CommandOutcomes,
    pub tokens: Option<ApiTokens>,
    pub shutdown: Shutdown,
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "order-service",
        description = "Order commands in (published to Kafka and applied by the consumer group), \
                       orders and command outcomes out. With API_TOKENS set, /orders and /commands \
                       need a bearer token (read, or write for commands).",
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "commands", description = "Publish order commands; read their outcome"),
        (name = "orders", description = "Read orders"),
        (name = "operations", description = "Probes, metrics, this document"),
    )
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The routes and the document describing them, from the same handlers.
fn routes() -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let api = OpenApiRouter::<AppState>::new()
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::get_order));
    let mut api = commands::Register(api);
    crate::commands::visit(&mut api);
    let api = api.0.routes(routes!(commands::get_command));
    let open = OpenApiRouter::<AppState>::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(health::openapi));
    (api, open)
}

/// The OpenAPI document of this server, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (api, open) = routes();
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api)
        .merge(open)
        .split_for_parts()
        .1
}

/// The whole server: routes, token check, limits, observation.
pub fn router(http: &HttpSettings, readiness: &ReadinessSettings, parts: Parts) -> Router {
    let document = openapi();
    let openapi = Bytes::from(document.to_json().unwrap_or_else(|_| "{}".to_owned()));
    let state = AppState {
        reads: parts.reads,
        probes: parts.probes,
        waits: Arc::new(tokio::sync::Semaphore::new(
            (http.concurrency_limit as usize / 2).max(1),
        )),
        request_timeout: http.request_timeout(),
        metrics: parts.metrics.clone(),
        commands: parts.commands,
        outcomes: parts.outcomes,
        tokens: parts.tokens.map(Arc::new),
        shutdown: parts.shutdown,
        openapi,
        max_outbox_age: Duration::from_secs(readiness.ready_max_outbox_age_secs),
        max_outbox_backlog: readiness.ready_max_outbox_backlog,
    };
    let (api, open) = routes();
    let body_limit = usize::try_from(http.body_limit_bytes).unwrap_or(usize::MAX);
    // The API's limits: load shedding, the request timeout, the body limit.
    // Router::layer wraps each route (after routing); the concurrency limit
    // is shared by all of them. The probes and /metrics stay outside, so an
    // API flood cannot fail a liveness probe or hide the metrics.
    let limits = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(refused))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(
            http.concurrency_limit as usize,
        ))
        .timeout(http.request_timeout())
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(DefaultBodyLimit::max(body_limit));
    let api: Router<AppState> = api
        .split_for_parts()
        .0
        .route_layer(from_fn_with_state(state.clone(), auth::require_token))
        .layer(limits);
    // Around every route, the fallbacks too: observation (outermost, so it
    // sees the final status) and compression.
    let observed = ServiceBuilder::new()
        .layer(from_fn_with_state(parts.metrics, observe::observe))
        .layer(CompressionLayer::new());
    api.merge(open.split_for_parts().0)
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(observed)
        .with_state(state)
}

pub struct HttpServer {
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
}

impl HttpServer {
    pub async fn bind(settings: &HttpSettings, router: Router) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(settings.http_addr).await?,
            router,
            header_read_timeout: settings.header_read_timeout(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` fires, then lets the requests in flight
    /// finish (at most [`DRAIN`]).
    pub async fn run(self, mut shutdown: Shutdown) -> std::io::Result<()> {
        tracing::info!(addr = ?self.listener.local_addr().ok(), "http server started");
        let graceful = GracefulShutdown::new();
        let service = TowerToHyperService::new(self.router);
        loop {
            let (stream, _) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait, go on.
                        tracing::warn!(%error, "accepting a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = shutdown.recv() => break,
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(self.header_read_timeout)
                .serve_connection(TokioIo::new(stream), service.clone());
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "http connection ended");
                }
            });
        }
        drop(self.listener);
        if tokio::time::timeout(DRAIN, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("http requests still in flight after the drain time");
        }
        Ok(())
    }
}

/// A request shed at the concurrency limit, or past the request timeout:
/// 503 + Retry-After.
async fn refused(error: tower::BoxError) -> axum::response::Response {
    let message = if error.is::<tower::timeout::error::Elapsed>() {
        "the request took longer than HTTP_REQUEST_TIMEOUT_MS"
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        "the server is at HTTP_CONCURRENCY_LIMIT; retry shortly"
    } else {
        "the request could not be served"
    };
    ApiError::Unavailable(message.into()).into_response()
}
