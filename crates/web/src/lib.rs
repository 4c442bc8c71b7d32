//! The web adapter: a customer chat page and embeddable widget, a staff console, and the JSON
//! API under `/api/v1` both use (axum). Routing, tickets and permissions stay in the desk; this
//! crate turns HTTP into desk calls and desk results into JSON, and keeps the web's own state
//! (conversation tokens, staff sessions, rate limits).

pub mod auth;
pub mod config;
pub mod conversation;
mod customer;
pub mod error;
pub mod limits;
mod openapi;
mod pages;
mod staff;

use crate::auth::StaffAuth;
use crate::conversation::Conversations;
use crate::error::ApiError;
use crate::limits::RateLimits;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard_core::desk::Desk;

pub use config::WebConfig;

/// Everything the handlers share.
pub struct WebState {
    desk: Arc<Desk>,
    config: WebConfig,
    conversations: Conversations,
    auth: StaffAuth,
    limits: RateLimits,
    live: Arc<limits::LiveConnections>,
    /// Set when the server stops: live connections end so the shutdown can finish.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl WebState {
    /// The web adapter's state over a desk; `secret` signs conversation tokens (keep it across
    /// restarts so customers' conversations survive them).
    pub fn new(desk: Arc<Desk>, config: WebConfig, secret: [u8; 32]) -> Arc<Self> {
        Arc::new(WebState {
            conversations: Conversations::new(secret, config.limits.max_conversations),
            auth: StaffAuth::new(&config),
            live: Arc::new(limits::LiveConnections::new(
                config.limits.max_live_connections_per_client,
            )),
            limits: RateLimits::new(
                config.limits.requests_per_minute_per_client,
                config.limits.messages_per_minute_per_conversation,
            ),
            desk,
            config,
            stopping: tokio::sync::watch::Sender::new(false),
        })
    }

    /// The desk.
    pub fn desk(&self) -> &Arc<Desk> {
        &self.desk
    }

    /// The conversations in memory.
    pub fn conversations(&self) -> &Conversations {
        &self.conversations
    }
}

/// How many desk calls run at once: four per core, so calls waiting for the disk (a commit)
/// leave the cores to others. Without a bound, 200 customers asking at once were 200 threads
/// taking turns on two cores (routing is CPU work) and on the one database writer: some waited
/// half a second while others passed (BENCHMARKS.md, the web API under load).
static DESK_SLOTS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    tokio::sync::Semaphore::new(4 * cores)
});

/// Runs blocking desk work (file and database IO) off the async threads, at most
/// [`DESK_SLOTS`] at once, first come first served.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let _slot = DESK_SLOTS.acquire().await.map_err(|e| ApiError::internal(&e))?;
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(&e)))
}

/// The client's address: the peer, or the first `X-Forwarded-For` address behind a trusted
/// proxy.
fn client_address(state: &WebState, request: &Request) -> String {
    address_of(state, request.headers(), request.extensions())
}

/// The client's address from a request's headers and extensions (see [`client_address`]).
fn address_of(
    state: &WebState,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> String {
    if state.config.trust_forwarded_for {
        if let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        {
            return first.trim().to_string();
        }
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

async fn rate_limit(State(state): State<Arc<WebState>>, request: Request, next: Next) -> Response {
    if let Err(refused) = state.limits.client(&client_address(&state, &request)) {
        return refused.into_response();
    }
    next.run(request).await
}

/// The whole application: pages, API, health, with limits and security headers.
pub fn app(state: Arc<WebState>) -> axum::Router {
    let api = axum::Router::new()
        .route("/conversations", post(customer::start))
        .route("/conversations/{token}", get(customer::show))
        .route("/conversations/{token}/messages", post(customer::message))
        .route("/conversations/{token}/feedback", post(customer::feedback))
        .route("/conversations/{token}/handoff", post(customer::handoff))
        .route("/conversations/{token}/events", get(customer::events))
        .route(
            "/staff/session",
            get(staff::whoami).post(staff::sign_in).delete(staff::sign_out),
        )
        .route("/queues", get(staff::queues))
        .route("/tickets", get(staff::list))
        .route("/tickets/{id}", get(staff::show))
        .route("/tickets/{id}/claim", post(staff::claim))
        .route("/tickets/{id}/take-over", post(staff::take_over))
        .route("/tickets/{id}/reply", post(staff::reply))
        .route("/tickets/{id}/escalate", post(staff::escalate))
        .route("/tickets/{id}/resolve", post(staff::resolve))
        .route("/search", get(staff::search))
        .route("/sections/{*citation}", get(pages::section_json))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such API endpoint",
            )
        });
    let limited = axum::Router::new()
        .nest("/api/v1", api)
        .merge(pages::routes())
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            rate_limit,
        ))
        .layer(DefaultBodyLimit::max(state.config.limits.max_body_bytes));
    axum::Router::new()
        .route("/healthz", get(pages::healthz))
        .route("/readyz", get(pages::readyz))
        .merge(limited)
        .layer(axum::middleware::from_fn(pages::security_headers))
        .with_state(state)
}

/// Serves the application until `stop` completes; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<WebState>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_mins(1));
            loop {
                every.tick().await;
                state.limits.forget_idle();
            }
        })
    };
    let stopping = state.stopping.clone();
    let result = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        stop.await;
        stopping.send_replace(true);
    })
    .await;
    sweeper.abort();
    result
}
