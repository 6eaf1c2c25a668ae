//! `GET /api/admin/monitoring/backups`: berth's backups and their verifications, and the
//! platform's own backups (Supabase) the reconciler last read, from the history database,
//! filtered and paginated together (newest first, keyset cursor); plus each policy's platform
//! summary (PITR window) from the controllers' cache. Never calls a provider.

use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use kube::ResourceExt as _;

use super::{AdminState, answers::Rights, auth::Access, encoding::Encoding, error::ApiError};
use crate::{
    api::backup_policy::PlatformBackupsSummary,
    backup::catalogue::{self, Catalogue, Cursor, Listed, Outcome},
    controllers::backup_policy::platform::PROVIDER as PLATFORM,
};

/// The `source` of berth's own backups.
const BERTH: &str = "berth";

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
    /// `berth` or `supabase`: only backups from there.
    pub source: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// One page.
#[derive(Debug, Serialize)]
pub struct BackupsPage {
    pub items: Vec<Listed>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
    /// The platform's summary (count, newest, PITR window) of each policy in scope that lists
    /// its platform's backups; the same on every page.
    pub platforms: Vec<PlatformEntry>,
}

/// One policy's platform summary, from its status.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformEntry {
    pub namespace: String,
    pub policy: String,
    #[serde(flatten)]
    pub summary: PlatformBackupsSummary,
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
    let shared = state.clone();
    state
        .answers
        .answer(
            "backups",
            question,
            Encoding::accepted(&headers),
            rights,
            move |_| async move {
                // Made with the page, so a shared answer serves both.
                let platforms = platforms(&shared, &filter);
                let page = Catalogue::new(store).list(&filter).await.map_err(|e| {
                    tracing::warn!(error = %e, "listing backups failed");
                    ApiError::Unavailable("the history database did not answer; try again".into())
                })?;
                Ok(BackupsPage {
                    items: page.items,
                    next: page.next.map(|c| c.token()),
                    platforms,
                })
            },
        )
        .await
}

/// The platform summaries of the cached policies the filter covers, by namespace and name.
fn platforms(state: &AdminState, q: &catalogue::Query) -> Vec<PlatformEntry> {
    if q.source.as_deref() == Some(BERTH) {
        return Vec::new();
    }
    let mut out: Vec<PlatformEntry> = state
        .caches
        .backup_policies
        .state()
        .iter()
        .filter_map(|p| {
            let namespace = p.namespace()?;
            let policy = p.name_any();
            let summary = p.status.as_ref()?.platform_backups.clone()?;
            let wanted = q.namespace.as_ref().is_none_or(|n| *n == namespace)
                && q.policy.as_ref().is_none_or(|n| *n == policy)
                && q.source.as_ref().is_none_or(|s| *s == summary.provider);
            wanted.then_some(PlatformEntry {
                namespace,
                policy,
                summary,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.namespace, &a.policy).cmp(&(&b.namespace, &b.policy)));
    out
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
    if let Some(source) = q
        .source
        .as_deref()
        .filter(|s| ![BERTH, PLATFORM].contains(s))
    {
        return Err(ApiError::BadRequest(format!(
            "source must be {BERTH} or {PLATFORM}, not {source:?}"
        )));
    }
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
        source: q.source,
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
                source: Some("rds".into()),
                ..BackupsQuery::default()
            })
            .contains("source")
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
