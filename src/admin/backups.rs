//! `GET /api/admin/monitoring/backups`: berth's backups and their verifications from the
//! history database, filtered and paginated (newest first, keyset cursor).

use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AdminState, answers::Rights, auth::Access, error::ApiError};
use crate::backup::catalogue::{self, BackupRow, Catalogue, Cursor, Outcome};

/// Query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupsQuery {
    /// Only this namespace (without it the caller needs cluster-wide access).
    pub namespace: Option<String>,
    /// Only this BackupPolicy (needs `namespace`).
    pub policy: Option<String>,
    /// Started at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Started before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// `running`, `complete`, `failed` or `pruned`.
    pub outcome: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// One page.
#[derive(Debug, Serialize)]
pub struct BackupsPage {
    pub items: Vec<BackupRow>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// The handler.
pub async fn list(
    State(state): State<AdminState>,
    headers: HeaderMap,
    query: Result<Query<BackupsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let caller = state.gate.authenticate(&headers).await?;
    let access = match &q.namespace {
        Some(ns) => Access::resource("list", "backuppolicies", ns),
        None => Access::Resource {
            verb: "list",
            resource: "backuppolicies",
            subresource: None,
            namespace: None,
            name: None,
        },
    };
    state.gate.require(&caller, &access).await?;
    let question = format!("{q:?}");
    let filter = filter(q)?;
    let store = state.store.clone().ok_or_else(|| {
        ApiError::Unavailable("berth runs without a history database (--database-url)".into())
    })?;
    let rights = Rights {
        gate: state.gate.clone(),
        caller,
    };
    // The permission above covers every row; the answer depends on nothing else.
    state
        .answers
        .answer("backups", question, rights, move |_| async move {
            let page = Catalogue::new(store).list(&filter).await.map_err(|e| {
                tracing::warn!(error = %e, "listing backups failed");
                ApiError::Unavailable("the history database did not answer; try again".into())
            })?;
            Ok(BackupsPage {
                items: page.items,
                next: page.next.map(|c| c.token()),
            })
        })
        .await
}

/// The catalogue query the parameters ask for; a bad value is a 400 naming it.
fn filter(q: BackupsQuery) -> Result<catalogue::Query, ApiError> {
    if q.policy.is_some() && q.namespace.is_none() {
        return Err(ApiError::BadRequest("policy needs namespace".into()));
    }
    if let Some(limit) = q.limit.filter(|l| !(1..=500).contains(l)) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and 500, not {limit}"
        )));
    }
    let outcome = match q.outcome.as_deref() {
        None => None,
        Some("running") => Some(Outcome::Running),
        Some("complete") => Some(Outcome::Complete),
        Some("failed") => Some(Outcome::Failed),
        Some("pruned") => Some(Outcome::Pruned),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "outcome must be running, complete, failed or pruned, not {other:?}"
            )));
        }
    };
    let after = match q.after.as_deref() {
        None => None,
        Some(token) => Some(Cursor::parse(token).ok_or_else(|| {
            ApiError::BadRequest("after is not a cursor from a previous page".into())
        })?),
    };
    Ok(catalogue::Query {
        namespace: q.namespace,
        policy: q.policy,
        from: q.from,
        to: q.to,
        outcome,
        limit: q.limit,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: malformed filters are refused with the parameter named, never passed on.
    #[test]
    fn bad_filters_name_the_parameter() {
        let bad = |q: BackupsQuery| match filter(q) {
            Err(ApiError::BadRequest(m)) => m,
            other => panic!("expected 400, got {other:?}"),
        };
        assert!(
            bad(BackupsQuery {
                outcome: Some("ok".into()),
                ..BackupsQuery::default()
            })
            .contains("outcome")
        );
        assert!(
            bad(BackupsQuery {
                limit: Some(0),
                ..BackupsQuery::default()
            })
            .contains("limit")
        );
        assert!(
            bad(BackupsQuery {
                after: Some("x".into()),
                ..BackupsQuery::default()
            })
            .contains("after")
        );
        assert!(
            bad(BackupsQuery {
                policy: Some("p".into()),
                ..BackupsQuery::default()
            })
            .contains("namespace")
        );
        let ok = filter(BackupsQuery {
            namespace: Some("ns".into()),
            outcome: Some("failed".into()),
            ..BackupsQuery::default()
        })
        .unwrap();
        assert_eq!(ok.outcome, Some(Outcome::Failed));
    }
}
