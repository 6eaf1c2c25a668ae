//! Deployments: the `DeploymentStatus` state machine (`QUEUED → BUILDING → DEPLOYING →
//! SUCCESS | FAILED`, driven by the shared pipeline and the build faults; a new `SUCCESS`
//! turns the previous one `REMOVED`), the `Deployment` view and the deployment queries.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    GqlResult, State,
    auth::need,
    schema::{GqlDateTime, QueryDeploymentsConnection, dt},
    state::Inner,
};
use crate::sandbox::{Phase, faults::lock};

/// `DeploymentMeta`: opaque JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeploymentMeta(pub(super) Value);
async_graphql::scalar!(DeploymentMeta, "DeploymentMeta");

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum DeploymentStatus {
    Building,
    Crashed,
    Deploying,
    Failed,
    Initializing,
    NeedsApproval,
    Queued,
    Removed,
    Removing,
    Skipped,
    Sleeping,
    Success,
    Waiting,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Deployment {
    pub(super) id: String,
    pub(super) status: DeploymentStatus,
    pub(super) created_at: GqlDateTime,
    pub(super) status_updated_at: Option<GqlDateTime>,
    pub(super) url: Option<String>,
    pub(super) static_url: Option<String>,
    pub(super) meta: Option<DeploymentMeta>,
    pub(super) can_rollback: bool,
    pub(super) can_redeploy: bool,
    pub(super) service_id: Option<String>,
    pub(super) environment_id: String,
    pub(super) project_id: String,
}

#[derive(InputObject, Default)]
pub struct DeploymentStatusInput {
    #[graphql(name = "in")]
    pub(super) in_: Option<Vec<DeploymentStatus>>,
    pub(super) not_in: Option<Vec<DeploymentStatus>>,
}

#[derive(InputObject, Default)]
pub struct DeploymentListInput {
    pub(super) project_id: Option<String>,
    pub(super) environment_id: Option<String>,
    pub(super) service_id: Option<String>,
    pub(super) include_deleted: Option<bool>,
    pub(super) status: Option<DeploymentStatusInput>,
}

#[derive(Clone, Debug, Serialize)]
pub(super) struct DepRow {
    pub(super) id: String,
    pub(super) project_id: String,
    pub(super) env_id: String,
    pub(super) service_id: String,
    pub(super) status: DeploymentStatus,
    pub(super) succeeded: bool,
    /// Removed with `deploymentRemove`: listed only with `includeDeleted: true`.
    pub(super) deleted: bool,
    pub(super) created_at: DateTime<Utc>,
    pub(super) status_updated_at: DateTime<Utc>,
    pub(super) static_url: String,
    pub(super) meta: Value,
}

impl State {
    fn advance(&self, id: &str, phase: Phase) -> bool {
        let mut inner = lock(&self.inner);
        let Some(i) = inner.deployments.iter().position(|d| d.id == id) else {
            return false;
        };
        if matches!(
            inner.deployments[i].status,
            DeploymentStatus::Removed | DeploymentStatus::Removing
        ) {
            return false;
        }
        let now = Utc::now();
        let status = match phase {
            Phase::Building => DeploymentStatus::Building,
            Phase::Deploying => DeploymentStatus::Deploying,
            Phase::Failed => DeploymentStatus::Failed,
            Phase::Ready => DeploymentStatus::Success,
        };
        if status == DeploymentStatus::Success {
            let (env, svc) = (
                inner.deployments[i].env_id.clone(),
                inner.deployments[i].service_id.clone(),
            );
            for d in inner.deployments.iter_mut() {
                if d.env_id == env
                    && d.service_id == svc
                    && d.id != id
                    && matches!(
                        d.status,
                        DeploymentStatus::Success | DeploymentStatus::Sleeping
                    )
                {
                    d.status = DeploymentStatus::Removed;
                    d.status_updated_at = now;
                }
            }
            inner.deployments[i].succeeded = true;
        }
        inner.deployments[i].status = status;
        inner.deployments[i].status_updated_at = now;
        true
    }

    /// Start a deployment of a service instance; returns its id.
    pub(super) fn deploy(
        self: &Arc<Self>,
        env_id: &str,
        service_id: &str,
        meta: Value,
    ) -> GqlResult<String> {
        let fate = self.common.faults.build_fate();
        let id = self.common.uuid();
        let hex = self.common.hex(6);
        let mut inner = lock(&self.inner);
        let env = inner
            .environments
            .iter()
            .find(|e| e.id == env_id)
            .cloned()
            .ok_or("Environment not found")?;
        let svc = inner
            .services
            .iter()
            .find(|s| s.id == service_id && s.project_id == env.project_id)
            .cloned()
            .ok_or("Service not found")?;
        let now = Utc::now();
        inner.deployments.push(DepRow {
            id: id.clone(),
            project_id: env.project_id.clone(),
            env_id: env.id.clone(),
            service_id: svc.id.clone(),
            status: DeploymentStatus::Queued,
            succeeded: false,
            deleted: false,
            created_at: now,
            status_updated_at: now,
            static_url: format!("{}-{}-{hex}.up.railway.app", svc.name, env.name),
            meta,
        });
        drop(inner);
        let state = self.clone();
        let dep = id.clone();
        self.common
            .pipeline(fate, move |phase| state.advance(&dep, phase));
        Ok(id)
    }

    /// Redeploy every service of `env_id` (or one service) that has been deployed before.
    pub(super) fn redeploy_after_variables(self: &Arc<Self>, env_id: &str, service: Option<&str>) {
        let targets: Vec<(String, Value)> = {
            let inner = lock(&self.inner);
            let mut seen: Vec<String> = Vec::new();
            let mut out = Vec::new();
            for d in inner.deployments.iter().rev() {
                if d.env_id == env_id
                    && service.is_none_or(|s| s == d.service_id)
                    && !seen.contains(&d.service_id)
                {
                    seen.push(d.service_id.clone());
                    out.push((d.service_id.clone(), d.meta.clone()));
                }
            }
            out
        };
        for (svc, meta) in targets {
            let _ = self.deploy(env_id, &svc, meta);
        }
    }
}

pub(super) fn deployment(inner: &Inner, d: &DepRow) -> Deployment {
    let latest_success = inner
        .deployments
        .iter()
        .rev()
        .find(|x| {
            x.env_id == d.env_id
                && x.service_id == d.service_id
                && x.status == DeploymentStatus::Success
        })
        .map(|x| x.id.as_str());
    let url = inner
        .service_domains
        .iter()
        .find(|s| s.env_id == d.env_id && s.service_id == d.service_id)
        .map(|s| s.domain.clone());
    Deployment {
        id: d.id.clone(),
        status: d.status,
        created_at: dt(d.created_at),
        status_updated_at: Some(dt(d.status_updated_at)),
        url,
        static_url: Some(d.static_url.clone()),
        meta: Some(DeploymentMeta(d.meta.clone())),
        can_rollback: d.succeeded && latest_success != Some(d.id.as_str()),
        can_redeploy: !matches!(
            d.status,
            DeploymentStatus::Queued
                | DeploymentStatus::Building
                | DeploymentStatus::Deploying
                | DeploymentStatus::Initializing
        ),
        service_id: Some(d.service_id.clone()),
        environment_id: d.env_id.clone(),
        project_id: d.project_id.clone(),
    }
}

/// `deployments` and `deployment`.
#[derive(Default)]
pub struct DeploymentQueries;

#[Object]
impl DeploymentQueries {
    async fn deployments(
        &self,
        ctx: &Context<'_>,
        input: DeploymentListInput,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<QueryDeploymentsConnection> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let status = input.status.unwrap_or_default();
        let nodes = inner
            .deployments
            .iter()
            .rev()
            .filter(|d| input.project_id.as_ref().is_none_or(|p| &d.project_id == p))
            .filter(|d| input.environment_id.as_ref().is_none_or(|e| &d.env_id == e))
            .filter(|d| input.service_id.as_ref().is_none_or(|x| &d.service_id == x))
            .filter(|d| input.include_deleted == Some(true) || !d.deleted)
            .filter(|d| status.in_.as_ref().is_none_or(|i| i.contains(&d.status)))
            .filter(|d| {
                status
                    .not_in
                    .as_ref()
                    .is_none_or(|i| !i.contains(&d.status))
            })
            .map(|d| deployment(&inner, d))
            .collect();
        Ok(QueryDeploymentsConnection::page(nodes, first, after))
    }

    async fn deployment(&self, ctx: &Context<'_>, id: String) -> GqlResult<Deployment> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let d = inner
            .deployments
            .iter()
            .find(|d| d.id == id)
            .ok_or("Deployment not found")?;
        Ok(deployment(&inner, d))
    }

    /// The build log, as far as the simulated build got; a failed build ends in an `error`
    /// line saying why.
    async fn build_logs(
        &self,
        ctx: &Context<'_>,
        deployment_id: String,
        limit: Option<i32>,
        filter: Option<String>,
    ) -> GqlResult<Vec<Log>> {
        let s = need(ctx)?;
        let _ = filter;
        let inner = lock(&s.inner);
        let d = inner
            .deployments
            .iter()
            .find(|d| d.id == deployment_id)
            .ok_or("Deployment not found")?;
        let lines = build_log(d);
        let keep = limit.map_or(lines.len(), |l| usize::try_from(l).unwrap_or(0));
        Ok(lines[lines.len().saturating_sub(keep)..].to_vec())
    }
}

/// A log line (`Log`).
#[derive(SimpleObject, Clone, Debug)]
pub struct Log {
    pub(super) message: String,
    pub(super) severity: String,
    pub(super) timestamp: GqlDateTime,
}

fn build_log(d: &DepRow) -> Vec<Log> {
    let line = |severity: &str, message: String| Log {
        message,
        severity: severity.into(),
        timestamp: dt(d.status_updated_at),
    };
    let commit = d
        .meta
        .get("commitHash")
        .and_then(Value::as_str)
        .unwrap_or("the latest commit");
    let mut lines = Vec::new();
    if d.status == DeploymentStatus::Queued {
        return lines;
    }
    lines.push(line("info", format!("building {commit}")));
    match d.status {
        DeploymentStatus::Failed => lines.push(line(
            "error",
            "Build failed: the sandbox's build fault made this build fail".into(),
        )),
        DeploymentStatus::Deploying => lines.push(line("info", "build complete".into())),
        _ if d.succeeded => lines.push(line("info", "build complete".into())),
        _ => {}
    }
    lines
}
