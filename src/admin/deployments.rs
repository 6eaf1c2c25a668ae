//! `GET /api/admin/deployment/status`: every environment with its deployments, domains and
//! certificates, read from the controllers' caches (no provider or API-server read on the
//! request path beyond the cached permission reviews).

use std::collections::BTreeMap;

use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use serde::{Deserialize, Serialize};

use super::{AdminState, auth::Access, encoding::Encoding, error::ApiError, estate::PageKey};
use crate::{
    api::{
        CommonStatus,
        deployment::{DeploymentPhase, Release, RollbackRecord},
    },
    controllers::{Caches, conditions::find},
};

/// Query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// About how many objects a page holds (1–1000, default 100): whole environments are
    /// added until the page has at least this many deployments, domains and certificates
    /// (an empty environment counts as one).
    pub limit: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Default and largest page sizes, in objects.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// The answer's shape; pages are assembled from prebuilt fragments (see
/// [`super::estate`]), and a test holds them to this.
#[cfg(test)]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EstateStatus {
    pub environments: Vec<EnvironmentView>,
    /// Namespaces left out because the caller may not list deployments there.
    pub hidden_namespaces: usize,
    pub next_cursor: Option<String>,
}

/// One Environment and what refers to it.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentView {
    pub namespace: String,
    pub name: String,
    /// `None` when no Environment of that name exists (a reference to a missing one).
    pub health: Option<Health>,
    pub deployments: Vec<DeploymentView>,
    pub domains: Vec<DomainView>,
    pub certificates: Vec<CertificateView>,
}

/// The Ready condition in short.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub ready: bool,
    pub reason: Option<String>,
    pub message: Option<String>,
    /// Whether status describes the current spec.
    pub up_to_date: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentView {
    pub name: String,
    pub provider: &'static str,
    pub phase: Option<DeploymentPhase>,
    pub health: Health,
    pub live: Option<Release>,
    pub previous: Option<Release>,
    pub pending: Option<Release>,
    pub held_revision: Option<String>,
    pub last_rollback: Option<RollbackRecord>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainView {
    pub name: String,
    pub hostname: String,
    pub health: Health,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    pub name: String,
    pub dns_names: Vec<String>,
    pub health: Health,
    pub not_after: Option<String>,
    pub renewal_time: Option<String>,
}

/// The handler: one page of the view prebuilt from the caches (see [`super::estate`]),
/// limited to the namespaces where the caller may list deployments.
pub async fn status(
    State(state): State<AdminState>,
    headers: HeaderMap,
    query: Result<Query<StatusQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (limit, after) = page_parameters(&query)?;
    let caller = state.gate.authenticate(&headers).await?;
    if let Some(ns) = &query.namespace {
        let access = Access::resource("list", "deployments", ns);
        state.gate.require(&caller, &access).await?;
    }
    let view = state.estate.current(&state.caches).await;
    let mut visible = Vec::new();
    let mut hidden = 0;
    for ns in view.namespaces() {
        if query.namespace.as_deref().is_some_and(|want| want != ns) {
            continue;
        }
        let access = Access::resource("list", "deployments", ns);
        if state.gate.allowed(&caller, &access).await? {
            visible.push(ns.to_owned());
        } else {
            hidden += 1;
        }
    }
    // Sorted, as `namespaces()` is: the page looks namespaces up by binary search.
    Ok(view.response(
        PageKey {
            visible,
            hidden,
            after,
            limit,
        },
        Encoding::accepted(&headers),
    ))
}

/// `limit` and `cursor`, checked; a bad one is a 400 naming it.
fn page_parameters(q: &StatusQuery) -> Result<(usize, Option<(String, String)>), ApiError> {
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit must be between 1 and {MAX_LIMIT}, not {l:?}"
                ))
            })?,
    };
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(super::estate::parse_cursor(c).ok_or_else(|| {
            ApiError::BadRequest("cursor is not a nextCursor from a previous page".into())
        })?),
    };
    Ok((limit, after))
}

/// Every environment with what refers to it, sorted by namespace and name (pure).
pub fn build(caches: &Caches) -> Vec<EnvironmentView> {
    let mut estate: BTreeMap<(String, String), EnvironmentView> = BTreeMap::new();
    for e in caches.environments.state() {
        let view = slot(
            &mut estate,
            e.namespace().unwrap_or_default(),
            &e.name_any(),
        );
        view.health = Some(health(
            e.status.as_ref().map(|s| &s.common),
            e.metadata.generation,
        ));
    }
    for d in caches.deployments.state() {
        let s = d.status.clone().unwrap_or_default();
        slot(
            &mut estate,
            d.namespace().unwrap_or_default(),
            &d.spec.environment_ref.name,
        )
        .deployments
        .push(DeploymentView {
            name: d.name_any(),
            provider: if d.spec.service.railway.is_some() {
                "railway"
            } else {
                "vercel"
            },
            phase: s.phase,
            health: health(Some(&s.common), d.metadata.generation),
            live: s.current,
            previous: s.previous,
            pending: s.pending,
            held_revision: s.held_revision,
            last_rollback: s.last_rollback,
        });
    }
    for d in caches.domains.state() {
        slot(
            &mut estate,
            d.namespace().unwrap_or_default(),
            &d.spec.environment_ref.name,
        )
        .domains
        .push(DomainView {
            name: d.name_any(),
            hostname: d.spec.hostname.clone(),
            health: health(d.status.as_ref().map(|s| &s.common), d.metadata.generation),
        });
    }
    for c in caches.certificates.state() {
        let s = c.status.clone().unwrap_or_default();
        slot(
            &mut estate,
            c.namespace().unwrap_or_default(),
            &c.spec.environment_ref.name,
        )
        .certificates
        .push(CertificateView {
            name: c.name_any(),
            dns_names: c.spec.dns_names.clone(),
            health: health(Some(&s.common), c.metadata.generation),
            not_after: s.not_after,
            renewal_time: s.renewal_time,
        });
    }
    estate
        .into_values()
        .map(|mut view| {
            view.deployments.sort_by(|a, b| a.name.cmp(&b.name));
            view.domains.sort_by(|a, b| a.name.cmp(&b.name));
            view.certificates.sort_by(|a, b| a.name.cmp(&b.name));
            view
        })
        .collect()
}

fn slot<'a>(
    estate: &'a mut BTreeMap<(String, String), EnvironmentView>,
    namespace: String,
    environment: &str,
) -> &'a mut EnvironmentView {
    estate
        .entry((namespace.clone(), environment.to_owned()))
        .or_insert_with(|| EnvironmentView {
            namespace,
            name: environment.to_owned(),
            ..EnvironmentView::default()
        })
}

fn health(status: Option<&CommonStatus>, generation: Option<i64>) -> Health {
    let ready: Option<&Condition> = status.and_then(|s| find(&s.conditions, "Ready"));
    Health {
        ready: ready.is_some_and(|c| c.status == "True"),
        reason: ready.map(|c| c.reason.clone()),
        message: ready.map(|c| c.message.clone()).filter(|m| !m.is_empty()),
        up_to_date: status.and_then(|s| s.observed_generation) == generation,
    }
}
