//! `GET /api/admin/alerts` and `POST /api/admin/alerts/{id}/ack`: the alerts in the history
//! database, newest first, and their acknowledgement.
//!
//! RBAC follows the resource an alert is about: listing needs `list deployments.berth.dev` in
//! its namespace, acknowledging `patch deployments.berth.dev` there; alerts about provider
//! instances (no namespace) need the permission cluster-wide. Without `?namespace=` a caller
//! sees the namespaces they may list. Every acknowledgement is audited before it is made.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::Response,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    AdminState,
    answers::{Rights, Scope},
    auth::{Access, Caller},
    encoding::Encoding,
    error::ApiError,
};
use crate::{
    alerts::{
        Alert, AlertState,
        lifecycle::{self, Ack, Filter},
    },
    store::Store,
};

/// The audit log's action name.
const ACTION: &str = "alert.acknowledge";
/// Default and largest page sizes.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 500;

/// Query parameters of the listing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// `firing`, `acknowledged` or `resolved`.
    pub state: Option<String>,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertsPage {
    pub items: Vec<Alert>,
    pub next_cursor: Option<String>,
}

/// The optional body of an acknowledgement.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    /// Why, or what is being done; kept in the audit log.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The listing handler.
pub async fn list(
    State(state): State<AdminState>,
    headers: HeaderMap,
    query: Result<Query<AlertsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let caller = state.gate.authenticate(&headers).await?;
    let mut filter = filter(&q)?;
    let store = store(&state)?.clone();
    if let Some(ns) = &q.namespace {
        state.gate.require(&caller, &access("list", ns)).await?;
    }
    let rights = Rights {
        gate: state.gate.clone(),
        caller,
    };
    let question = format!("{q:?}");
    state
        .answers
        .answer(
            "alerts",
            question,
            Encoding::accepted(&headers),
            rights,
            move |scope| async move {
                filter.namespaces = Some(match q.namespace {
                    Some(ns) => vec![ns],
                    None => visible_namespaces(&scope, &store).await?,
                });
                let page = lifecycle::list(&store, &filter)
                    .await
                    .map_err(unavailable)?;
                Ok(AlertsPage {
                    items: page.items,
                    next_cursor: page.next.map(cursor),
                })
            },
        )
        .await
}

/// The acknowledgement handler.
pub async fn ack(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Alert>, ApiError> {
    let caller = state.gate.authenticate(&headers).await?;
    let id: i64 = id
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::BadRequest("id must be a positive integer alert id".into()))?;
    let body: AckBody = if body.iter().all(u8::is_ascii_whitespace) {
        AckBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!("body: expected {{\"comment\": string}}: {e}"))
        })?
    };
    let store = store(&state)?;
    let Some(alert) = lifecycle::get(store, id).await.map_err(unavailable)? else {
        return Err(ApiError::NotFound(format!("alert {id} not found")));
    };
    state
        .gate
        .require(&caller, &access("patch", &alert.namespace))
        .await?;
    let target = format!("alert/{id} {}", alert.resource());
    if alert.state == AlertState::Resolved.as_str() {
        let refusal = ApiError::Conflict(format!(
            "alert {id} is resolved; there is nothing to acknowledge"
        ));
        audit(store, &caller, &target, &body, "refused").await?;
        return Err(refusal);
    }
    // Audited before the change: an action that cannot be logged is not taken.
    audit(store, &caller, &target, &body, "acknowledged").await?;
    let outcome = lifecycle::acknowledge(store, id, &caller.user, Utc::now())
        .await
        .map_err(unavailable)?;
    // Whoever acknowledged reads it back at once, not after the answers expire.
    state.answers.clear();
    match outcome {
        Ack::Done(a) => Ok(Json(a)),
        Ack::Resolved(_) => Err(ApiError::Conflict(format!(
            "alert {id} resolved meanwhile; there is nothing to acknowledge"
        ))),
        Ack::NotFound => Err(ApiError::NotFound(format!("alert {id} not found"))),
    }
}

/// The listing's filter from the parameters; a bad value is a 400 naming it.
fn filter(q: &AlertsQuery) -> Result<Filter, ApiError> {
    let state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(AlertState::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "state must be firing, acknowledged or resolved, not {s:?}"
            ))
        })?),
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}, not {limit}"
        )));
    }
    if q.namespace.as_deref() == Some("") {
        return Err(ApiError::BadRequest("namespace must not be empty".into()));
    }
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(parse_cursor(c).ok_or_else(|| {
            ApiError::BadRequest("cursor is not a nextCursor from a previous page".into())
        })?),
    };
    Ok(Filter {
        state,
        namespaces: None,
        limit,
        before,
    })
}

/// Cursors are opaque to clients: `a` and the last id of the page.
fn cursor(id: i64) -> String {
    format!("a{id}")
}

fn parse_cursor(text: &str) -> Option<i64> {
    text.strip_prefix('a')?.parse().ok().filter(|id| *id > 0)
}

/// The namespaces with alerts that the caller may list (cluster-wide access sees them all,
/// including the provider alerts').
async fn visible_namespaces(scope: &Scope<Rights>, store: &Store) -> Result<Vec<String>, ApiError> {
    let mut visible = Vec::new();
    for ns in lifecycle::namespaces(store).await.map_err(unavailable)? {
        if scope.allowed(&access("list", &ns)).await? {
            visible.push(ns);
        }
    }
    Ok(visible)
}

/// `verb deployments.berth.dev` in `namespace`, or cluster-wide for `""`.
fn access(verb: &'static str, namespace: &str) -> Access {
    if namespace.is_empty() {
        Access::Resource {
            verb,
            resource: "deployments",
            subresource: None,
            namespace: None,
            name: None,
        }
    } else {
        Access::resource(verb, "deployments", namespace)
    }
}

fn store(state: &AdminState) -> Result<&Store, ApiError> {
    state.store.as_ref().ok_or_else(|| {
        ApiError::Unavailable("berth runs without a history database (--database-url)".into())
    })
}

fn unavailable(e: crate::alerts::Error) -> ApiError {
    tracing::warn!(error = %crate::controllers::runtime::error_chain(&e), "alerts query failed");
    ApiError::Unavailable("the history database did not answer; try again".into())
}

async fn audit(
    store: &Store,
    caller: &Caller,
    target: &str,
    body: &AckBody,
    outcome: &str,
) -> Result<(), ApiError> {
    super::audit::record(
        store,
        caller,
        (ACTION, target),
        json!({"comment": body.comment}),
        outcome,
        "the alert was not acknowledged",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: malformed filters are refused with the parameter named.
    #[test]
    fn bad_parameters_name_themselves() {
        let bad = |q: AlertsQuery| match filter(&q) {
            Err(ApiError::BadRequest(m)) => m,
            other => panic!("expected 400, got {other:?}"),
        };
        assert!(
            bad(AlertsQuery {
                state: Some("open".into()),
                ..AlertsQuery::default()
            })
            .contains("state")
        );
        assert!(
            bad(AlertsQuery {
                limit: Some(0),
                ..AlertsQuery::default()
            })
            .contains("limit")
        );
        assert!(
            bad(AlertsQuery {
                limit: Some(501),
                ..AlertsQuery::default()
            })
            .contains("limit")
        );
        assert!(
            bad(AlertsQuery {
                cursor: Some("12".into()),
                ..AlertsQuery::default()
            })
            .contains("cursor")
        );
        assert!(
            bad(AlertsQuery {
                namespace: Some(String::new()),
                ..AlertsQuery::default()
            })
            .contains("namespace")
        );
        let ok = filter(&AlertsQuery {
            state: Some("firing".into()),
            cursor: Some(cursor(42)),
            ..AlertsQuery::default()
        })
        .unwrap();
        assert_eq!(
            (ok.state, ok.before, ok.limit),
            (Some(AlertState::Firing), Some(42), 100)
        );
    }
}
