//! The apps server: answers for every "deployed" service, so a health check has something real
//! to call. The target is the `Host` header (a Vercel deployment URL, `<project>.vercel.app`, a
//! Vercel project domain, a Railway service/custom domain or static URL) or, when the client
//! cannot set `Host`, the first path segment: `GET /{host}/health`.
//!
//! A ready deployment answers any path with 200 and `{"status":"ok", …}`; a host whose
//! deployment is not ready answers 503; an unknown host 404. Faults (latency, error rate) on this
//! server make every app slow or failing on cue.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Request, State as AxState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    AppTarget, Snapshot, World, assemble,
    faults::{Dialect, Faults, RateInfo},
    railway, vercel,
};

#[derive(Clone)]
struct Apps {
    vercel: Arc<vercel::State>,
    railway: Arc<railway::State>,
}

impl Snapshot for Apps {
    fn snapshot(&self) -> Value {
        json!({"resolves": "Host header or first path segment; see the vercel and railway states for hostnames"})
    }
}

struct AppsDialect;

impl Dialect for AppsDialect {
    fn authorized(&self, _: &HeaderMap) -> bool {
        true
    }
    fn unauthorized(&self, _: &HeaderMap) -> Response {
        StatusCode::UNAUTHORIZED.into_response()
    }
    fn server_error(&self, status: StatusCode) -> Response {
        (
            status,
            Json(json!({"status": "error", "error": "injected failure"})),
        )
            .into_response()
    }
    fn rate_limited(&self, _: &RateInfo) -> Response {
        (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"status": "error", "error": "rate limited"})),
        )
            .into_response()
    }
    fn rate_headers(&self, _: &RateInfo, _: &mut HeaderMap) {}
}

pub(crate) fn router(
    vercel: Arc<vercel::State>,
    railway: Arc<railway::State>,
    faults: Arc<Faults>,
    world: &Arc<World>,
) -> Router {
    let apps = Apps { vercel, railway };
    let api = Router::new().fallback(serve).with_state(apps.clone());
    assemble(api, Arc::new(AppsDialect), faults, world, Arc::new(apps))
}

impl Apps {
    fn resolve(&self, host: &str) -> Option<(&'static str, AppTarget)> {
        let host = host.to_ascii_lowercase();
        self.vercel
            .app(&host)
            .map(|t| ("vercel", t))
            .or_else(|| self.railway.app(&host).map(|t| ("railway", t)))
    }
}

async fn serve(AxState(apps): AxState<Apps>, req: Request) -> Response {
    let header_host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h).to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    let (host, path, target) = match apps.resolve(&header_host) {
        Some(t) => (header_host, path, t),
        None => {
            let trimmed = path.trim_start_matches('/');
            let (first, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
            match apps.resolve(first) {
                Some(t) => (first.to_string(), format!("/{rest}"), t),
                None => {
                    return (
                        StatusCode::NOT_FOUND,
                        Json(json!({"status": "error", "error": "no app is deployed at this host", "host": header_host})),
                    )
                        .into_response();
                }
            }
        }
    };
    let (provider, target) = target;
    let body = json!({
        "status": if target.ready { "ok" } else { "unavailable" },
        "host": host,
        "path": path,
        "provider": provider,
        "deployment": target.deployment,
    });
    let status = if target.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
