//! The admin API under `/api/admin`: read models served from the controllers' caches and
//! the history store, and a few audited actions. Callers authenticate with a Kubernetes
//! bearer token and are authorised by the API server's RBAC (see [`auth`]); every answer,
//! error or not, is JSON (see [`error`]).

mod alerts;
pub mod answers;
mod audit;
pub mod auth;
mod backups;
mod deployments;
pub mod encoding;
pub mod error;
mod estate;
mod monitoring;
pub mod openapi;
mod reviews;
mod rollback;

use std::sync::Arc;

use axum::{
    Router,
    routing::{get, post},
};
use kube::Client;

use crate::{controllers::Caches, monitoring::rollup::Retention, store::Store};

/// What the admin handlers share. Every request clones it (axum's `State`), so it is one
/// `Arc`: cloning the parts (two kube clients, the caches, the pool) would cost a dozen
/// atomic increments on shared cache lines and an allocation per request.
#[derive(Clone)]
pub struct AdminState(Arc<Shared>);

/// The parts of [`AdminState`].
pub struct Shared {
    pub gate: auth::Gate,
    /// For the few actions, which write request annotations (never provider calls).
    pub client: Client,
    pub caches: Caches,
    /// The history store, when one is configured.
    pub store: Option<Store>,
    /// What the monitoring jobs keep: reports reaching past the kept minute rollups are
    /// answered over whole hours at that edge.
    pub retention: Retention,
    /// Answers shared for a second between callers with the same rights.
    pub answers: answers::Answers,
    /// The deployment status view, rebuilt when the caches change.
    pub estate: estate::EstateViews,
}

impl AdminState {
    #[must_use]
    pub fn new(client: Client, caches: Caches, store: Option<Store>, retention: Retention) -> Self {
        Self(Arc::new(Shared {
            gate: auth::Gate::new(client.clone()),
            client,
            caches,
            store,
            retention,
            answers: answers::Answers::default(),
            estate: estate::EstateViews::default(),
        }))
    }
}

impl std::ops::Deref for AdminState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The admin routes, to be nested under `/api/admin`.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/deployment/status", get(deployments::status))
        .route("/deployment/rollback", post(rollback::rollback))
        .route("/monitoring/backups", get(backups::list))
        .route("/monitoring/uptime", get(monitoring::uptime))
        .route("/monitoring/performance", get(monitoring::performance))
        .route("/alerts", get(alerts::list))
        .route("/alerts/{id}/ack", post(alerts::ack))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async {
            error::ApiError::NotFound("no such admin endpoint; see /api/admin/openapi.json".into())
        })
        .layer(axum::middleware::from_fn(reject_nul))
        .with_state(state)
}

/// Refuses a query holding a NUL character (`%00`) as a 400: no parameter can mean one, and
/// Postgres rejects it in text, which would otherwise surface as a 503 from the database.
async fn reject_nul(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let nul = request
        .uri()
        .query()
        .is_some_and(|q| percent_encoding::percent_decode_str(q).any(|b| b == 0));
    if nul {
        return error::ApiError::BadRequest("query parameters must not contain NUL (%00)".into())
            .into_response();
    }
    next.run(request).await
}
