//! The HTTP face of the process: health (`/health*`, `/livez`, `/readyz`), `/metrics`, and the
//! admin API (`/api/admin`, see [`crate::admin`]). Health handlers read in-memory state
//! (controller caches, the last background probe); none calls the Kubernetes API, the
//! database or a provider on the request path.

pub mod health;
pub mod probes;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::{Router, routing::get};
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::{
    controllers::{Caches, Metrics},
    jobs,
};

/// State shared by the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The controllers' caches.
    pub caches: Caches,
    /// Reconcile metrics.
    pub metrics: Arc<Metrics>,
    /// Everything `/metrics` exports.
    pub registry: Arc<Registry>,
    /// The latest background probe of the Kubernetes API and the database.
    pub probes: probes::Shared,
    /// Whether this replica leads.
    pub leader: watch::Receiver<bool>,
    /// This replica's identity.
    pub identity: String,
    /// Set once every cache has synced; cleared when shutdown starts.
    pub ready: Arc<AtomicBool>,
    /// Periodic jobs.
    pub jobs: Arc<jobs::Registry>,
    /// The controllers' provider clients, for their circuit states.
    pub providers: crate::providers::Pool,
}

impl AppState {
    /// Whether `/readyz` should say yes.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// All routes: health and metrics, and the admin API under `/api/admin`.
pub fn router(state: AppState, admin: crate::admin::AdminState) -> Router {
    Router::new()
        .route("/health", get(health::liveness))
        .route("/livez", get(health::liveness))
        .route("/readyz", get(health::readiness))
        .route("/health/detailed", get(health::detailed))
        .route("/health/database", get(health::database))
        .route("/health/jobs", get(health::jobs))
        .route("/metrics", get(metrics))
        .with_state(state)
        .nest("/api/admin", crate::admin::router(admin))
}

async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> impl axum::response::IntoResponse {
    let mut body = String::new();
    let status = match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => axum::http::StatusCode::OK,
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
    };
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}
