//! How the Vercel simulator says no: the `{"error": {...}}` shape, the token check and the
//! team scope, injected faults and 429s in Vercel's words, and the `X-RateLimit-*` headers.

use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Query, Request},
    http::{HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use super::TEAM_SLUG;
use crate::sandbox::faults::{Dialect, RateInfo, bearer, x_ratelimit};

pub(super) fn err(status: StatusCode, code: &str, message: &str) -> Response {
    err_with(status, code, message, Map::new())
}

pub(super) fn err_with(
    status: StatusCode,
    code: &str,
    message: &str,
    extra: Map<String, Value>,
) -> Response {
    let mut e = Map::new();
    e.insert("code".into(), code.into());
    e.insert("message".into(), message.into());
    e.extend(extra);
    (status, Json(json!({"error": e}))).into_response()
}

pub(super) struct VercelDialect {
    pub(super) token: String,
}

impl Dialect for VercelDialect {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        bearer(headers) == Some(self.token.as_str())
    }
    fn unauthorized(&self, headers: &HeaderMap) -> Response {
        let mut extra = Map::new();
        if bearer(headers).is_none() {
            extra.insert("missingToken".into(), true.into());
            err_with(
                StatusCode::FORBIDDEN,
                "forbidden",
                "The request is missing an authentication token",
                extra,
            )
        } else {
            extra.insert("invalidToken".into(), true.into());
            err_with(StatusCode::FORBIDDEN, "forbidden", "Not authorized", extra)
        }
    }
    fn server_error(&self, status: StatusCode) -> Response {
        err(
            status,
            "internal_server_error",
            "An unexpected internal error occurred",
        )
    }
    fn rate_limited(&self, info: &RateInfo) -> Response {
        let mut extra = Map::new();
        extra.insert("name".into(), "api-sandbox".into());
        extra.insert(
            "limit".into(),
            json!({
                "total": info.limit,
                "remaining": 0,
                "reset": info.reset_at,
                "resetMs": info.reset_at * 1000,
            }),
        );
        err_with(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &format!(
                "Too many requests - try again in {} seconds (more than {}, code: \"api-sandbox\").",
                info.retry_after, info.limit
            ),
            extra,
        )
    }
    fn rate_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        x_ratelimit(headers, info, info.reset_at);
    }
}

pub(super) fn body_json(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| {
        err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("Invalid JSON: {e}"),
        )
    })
}

/// Refuses a `teamId` or `slug` naming a scope the token has no access to, as Vercel does
/// (403 `forbidden`, "Not authorized: Trying to access resource under scope …"). Without
/// either the request is in the token's own scope.
pub(super) async fn team_scope(
    axum::extract::State(state): axum::extract::State<super::Shared>,
    req: Request,
    next: Next,
) -> Response {
    let query: Option<Query<HashMap<String, String>>> = Query::try_from_uri(req.uri()).ok();
    let scope = query.and_then(|Query(q)| {
        q.into_iter().find_map(|(k, v)| match k.as_str() {
            "teamId" if v != state.team => Some(v),
            "slug" if v != TEAM_SLUG => Some(v),
            _ => None,
        })
    });
    let Some(scope) = scope else {
        return next.run(req).await;
    };
    let mut extra = Map::new();
    extra.insert("saml".into(), false.into());
    extra.insert("teamId".into(), Value::Null);
    extra.insert("scope".into(), scope.clone().into());
    extra.insert("enforced".into(), false.into());
    err_with(
        StatusCode::FORBIDDEN,
        "forbidden",
        &format!(
            "Not authorized: Trying to access resource under scope \"{scope}\". You must re-authenticate to this scope or use a token with access to this scope."
        ),
        extra,
    )
}
