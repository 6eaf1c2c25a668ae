//! Health handlers. `/health` and `/livez` only say the process serves; `/readyz` says the
//! caches are synced; `/health/detailed` adds the Kubernetes API, the database, each
//! controller, the jobs and each provider instance's circuit, with an overall `ok` /
//! `degraded` / `down`.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use kube::runtime::reflector::Store;
use serde::Serialize;
use serde_json::json;

use super::{AppState, probes};
use crate::{
    controllers::{Managed, Metrics},
    providers::http::CircuitState,
};

/// Liveness: no external calls, ever.
pub async fn liveness() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Readiness: every controller cache has synced and shutdown has not begun.
pub async fn readiness(State(state): State<AppState>) -> impl IntoResponse {
    if state.is_ready() {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready"})),
        )
    }
}

/// One controller's health.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerHealth {
    /// Kind.
    pub kind: &'static str,
    /// Objects in the cache.
    pub objects: usize,
    /// Objects whose status does not reflect their current generation yet: the work queue.
    pub backlog: usize,
    /// Reconciles running now.
    pub in_flight: i64,
    /// Unix time of the last successful reconcile.
    pub last_success: Option<i64>,
    /// Successful reconciles.
    pub reconciles: u64,
    /// Failed reconciles.
    pub errors: u64,
}

fn controller<K: Managed>(store: &Store<K>, metrics: &Metrics) -> ControllerHealth {
    ControllerHealth {
        kind: K::KIND,
        objects: store.state().len(),
        backlog: crate::controllers::runtime::backlog(store),
        in_flight: metrics.in_flight(K::KIND),
        last_success: metrics.last_success(K::KIND),
        reconciles: metrics.reconciles(K::KIND, "ok"),
        errors: metrics.reconciles(K::KIND, "error"),
    }
}

/// Every controller's health.
#[must_use]
pub fn controllers(state: &AppState) -> Vec<ControllerHealth> {
    let c = &state.caches;
    let m = &state.metrics;
    vec![
        controller(&c.environments, m),
        controller(&c.deployments, m),
        controller(&c.domains, m),
        controller(&c.certificates, m),
        controller(&c.backup_policies, m),
    ]
}

/// Overall verdict: `down` without the Kubernetes API (nothing can be reconciled), `degraded`
/// when the database (history) or a job is unhealthy, caches are not synced or a provider's
/// circuit is not closed (its objects wait, the others proceed), else `ok`.
#[must_use]
pub fn overall(
    probes: &probes::Probes,
    ready: bool,
    failing_jobs: &[String],
    circuit_open: bool,
) -> &'static str {
    let db_ok = probes
        .database
        .as_ref()
        .is_some_and(|d| d.reachable && d.migration_version.is_some());
    if !probes.kubernetes.reachable {
        "down"
    } else if !db_ok || !ready || !failing_jobs.is_empty() || circuit_open {
        "degraded"
    } else {
        "ok"
    }
}

/// Everything, with 200 for ok/degraded and 503 for down.
pub async fn detailed(State(state): State<AppState>) -> impl IntoResponse {
    let probes = probes::read(&state.probes);
    let failing = state.jobs.failing();
    let providers = state.providers.circuits();
    let circuit_open = providers
        .iter()
        .any(|p| p.circuit.state != CircuitState::Closed);
    let status = overall(&probes, state.is_ready(), &failing, circuit_open);
    let code = if status == "down" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({
        "status": status,
        "checkedAt": probes.checked_at,
        "kubernetes": probes.kubernetes,
        "database": probes.database.as_ref().map_or_else(|| json!({"reachable": false, "error": "no database configured (--database-url)"}), |d| json!(d)),
        "leader": {"isLeader": *state.leader.borrow(), "identity": state.identity},
        "ready": state.is_ready(),
        "controllers": controllers(&state),
        "jobs": {"registered": state.jobs.snapshot().len(), "failing": failing},
        "providers": providers,
    });
    (code, Json(body))
}

/// Database: ping latency, migration version, pool use; 503 when unreachable.
pub async fn database(State(state): State<AppState>) -> impl IntoResponse {
    match probes::read(&state.probes).database {
        Some(d) => {
            let code = if d.reachable {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (code, Json(json!(d)))
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"reachable": false, "error": "no database configured (--database-url)"})),
        ),
    }
}

/// Jobs: schedule, last run, outcome, next run.
pub async fn jobs(State(state): State<AppState>) -> impl IntoResponse {
    Json(json!({"jobs": state.jobs.snapshot()}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DatabaseHealth;

    fn db(reachable: bool) -> DatabaseHealth {
        DatabaseHealth {
            reachable,
            latency_ms: Some(1.0),
            migration_version: reachable.then_some(6),
            pool_size: 1,
            pool_idle: 1,
            pool_max: 4,
            error: None,
        }
    }

    // Protects: the overall verdict: no API is down, no database or an open circuit is
    // degraded, else ok.
    #[test]
    fn overall_status_follows_dependencies() {
        let mut p = probes::Probes::default();
        p.kubernetes.reachable = true;
        p.database = Some(db(true));
        assert_eq!(overall(&p, true, &[], false), "ok");
        p.database = Some(db(false));
        assert_eq!(overall(&p, true, &[], false), "degraded");
        p.database = Some(db(true));
        assert_eq!(overall(&p, true, &["backup".into()], false), "degraded");
        assert_eq!(overall(&p, false, &[], false), "degraded");
        assert_eq!(
            overall(&p, true, &[], true),
            "degraded",
            "a circuit is open"
        );
        p.kubernetes.reachable = false;
        assert_eq!(overall(&p, true, &[], false), "down");
    }
}
