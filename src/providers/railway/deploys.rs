//! [`Deploys`] on Railway: `serviceInstanceDeployV2` starts a deployment of the service's
//! source (at a commit when given) and returns its id; `deployment`/`deployments` read them;
//! `deploymentRollback` redeploys an earlier successful deployment as a new one.

use serde_json::Value;

use super::{PROVIDER, RailwayClient, vars};
use crate::providers::{
    Error, Result,
    deploys::{DeployState, Deploys, ProviderDeployment, Revision},
    models::railway::{
        BuildLogsData, DeployV2Data, Deployment, DeploymentData, DeploymentListInput,
        DeploymentStatus, DeploymentsData, ServiceInstanceData,
    },
};

/// The deployment fields every read selects.
macro_rules! deployment_fields {
    () => {
        "id status createdAt statusUpdatedAt url staticUrl meta canRollback serviceId environmentId"
    };
}

const DEPLOY: &str = "mutation deploy($environmentId: String!, $serviceId: String!, $commitSha: String) { serviceInstanceDeployV2(environmentId: $environmentId, serviceId: $serviceId, commitSha: $commitSha) }";
const DEPLOYMENT: &str = concat!(
    "query deployment($id: String!) { deployment(id: $id) { ",
    deployment_fields!(),
    " } }"
);
const DEPLOYMENTS: &str = concat!(
    "query deployments($input: DeploymentListInput!, $first: Int) { deployments(input: $input, first: $first) { edges { node { ",
    deployment_fields!(),
    " } } } }"
);
const LATEST: &str = concat!(
    "query latest($environmentId: String!, $serviceId: String!) { serviceInstance(environmentId: $environmentId, serviceId: $serviceId) { id latestDeployment { ",
    deployment_fields!(),
    " } } }"
);
const ROLLBACK: &str = "mutation rollback($id: String!) { deploymentRollback(id: $id) }";
const BUILD_LOGS: &str = "query buildLogs($deploymentId: String!, $limit: Int) { buildLogs(deploymentId: $deploymentId, limit: $limit) { message severity timestamp } }";

/// How many build log lines to read for a failure message.
const LOG_LINES: i64 = 50;

impl RailwayClient {
    /// One deployment of `service` in this environment, as Railway reports it.
    async fn read_deployment(&self, service: &str, id: &str) -> Result<Deployment> {
        let operation = "read deployment";
        let data: DeploymentData = self
            .query(operation, DEPLOYMENT, vars([("id", id.into())]))
            .await?;
        let d = data.deployment;
        // An id of another service or environment is not this service's deployment.
        let foreign =
            |field: &Option<String>, ours: &str| field.as_deref().is_some_and(|f| f != ours);
        if foreign(&d.service_id, service) || foreign(&d.environment_id, &self.environment_id) {
            return Err(Error::NotFound {
                provider: PROVIDER,
                operation,
                message: format!(
                    "deployment {id} does not belong to service {service} in this environment"
                ),
            });
        }
        Ok(d)
    }

    /// The last error line of a failed build, in Railway's words; `None` when the logs say
    /// nothing useful or cannot be read (the failure itself is already known).
    async fn failure_line(&self, id: &str) -> Option<String> {
        let variables = vars([("deploymentId", id.into()), ("limit", LOG_LINES.into())]);
        let logs: BuildLogsData = match self.query("read build logs", BUILD_LOGS, variables).await {
            Ok(logs) => logs,
            Err(e) => {
                tracing::debug!(deployment = id, error = %e, "no build logs for a failed deployment");
                return None;
            }
        };
        let is_error = |severity: &Option<String>| {
            severity
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("error"))
        };
        logs.build_logs
            .iter()
            .rev()
            .find(|l| is_error(&l.severity))
            .or_else(|| logs.build_logs.last())
            .map(|l| l.message.trim().to_owned())
            .filter(|m| !m.is_empty())
    }
}

#[async_trait::async_trait]
impl Deploys for RailwayClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn deploy(&self, service: &str, revision: &Revision) -> Result<ProviderDeployment> {
        // Railway builds the repository and branch configured on the service; `repo` and
        // `git_ref` only describe it. Without a commit it deploys the branch's latest.
        let variables = vars([
            ("environmentId", self.environment_id.as_str().into()),
            ("serviceId", service.into()),
            ("commitSha", revision.commit.as_deref().into()),
        ]);
        let data: DeployV2Data = self.mutate("deploy", DEPLOY, variables, false).await?;
        let id = data.service_instance_deploy_v2;
        tracing::info!(service, deployment = %id, commit = ?revision.commit, "started a Railway deployment");
        // No read-back: the id must reach the caller even if a follow-up read would fail.
        Ok(ProviderDeployment {
            id,
            state: DeployState::Queued,
            url: None,
            commit: revision.commit.clone(),
            created_at: None,
            live: false,
            message: None,
        })
    }

    async fn deployment(&self, service: &str, id: &str) -> Result<ProviderDeployment> {
        let d = self.read_deployment(service, id).await?;
        let mut out = provider_deployment(d);
        if out.state == DeployState::Failed
            && let Some(line) = self.failure_line(&out.id).await
        {
            out.message = Some(format!("build failed: {line}"));
        }
        Ok(out)
    }

    async fn deployments(&self, service: &str, limit: usize) -> Result<Vec<ProviderDeployment>> {
        let operation = "list deployments";
        let filter = DeploymentListInput {
            project_id: Some(self.project_id.clone()),
            environment_id: Some(self.environment_id.clone()),
            service_id: Some(service.to_owned()),
            ..DeploymentListInput::default()
        };
        let variables = vars([
            ("input", super::input(operation, &filter)?),
            ("first", i64::try_from(limit).unwrap_or(i64::MAX).into()),
        ]);
        let data: DeploymentsData = self.query(operation, DEPLOYMENTS, variables).await?;
        let mut list: Vec<ProviderDeployment> = data
            .deployments
            .edges
            .into_iter()
            .map(|e| e.node)
            .map(provider_deployment)
            .collect();
        // Railway lists newest first in practice, but does not promise it.
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        list.truncate(limit);
        Ok(list)
    }

    async fn rollback(&self, service: &str, id: &str) -> Result<ProviderDeployment> {
        let target = self.read_deployment(service, id).await?;
        if is_live(&target.status) {
            tracing::debug!(service, deployment = id, "rollback target is already live");
            return Ok(provider_deployment(target));
        }
        // Not retried: every accepted rollback starts one more deployment.
        self.mutate_ok("roll back", ROLLBACK, vars([("id", id.into())]), false)
            .await?;
        tracing::info!(service, deployment = id, "rolled back on Railway");
        let variables = vars([
            ("environmentId", self.environment_id.as_str().into()),
            ("serviceId", service.into()),
        ]);
        let data: ServiceInstanceData = self
            .query("read latest deployment", LATEST, variables)
            .await?;
        let latest = data
            .service_instance
            .latest_deployment
            .ok_or(Error::NotFound {
                provider: PROVIDER,
                operation: "read latest deployment",
                message: format!("service {service} has no deployment after the rollback"),
            })?;
        Ok(provider_deployment(latest))
    }
}

/// Serving traffic: `SUCCESS`, or `SLEEPING` (idle under app sleeping; it wakes on the next
/// request, so it is still the live deployment).
fn is_live(status: &DeploymentStatus) -> bool {
    matches!(
        status,
        DeploymentStatus::Success | DeploymentStatus::Sleeping
    )
}

/// Railway's status in the platform-neutral words of [`DeployState`].
#[must_use]
pub fn deploy_state(status: &DeploymentStatus) -> DeployState {
    match status {
        DeploymentStatus::Queued
        | DeploymentStatus::Waiting
        | DeploymentStatus::Initializing
        | DeploymentStatus::NeedsApproval => DeployState::Queued,
        DeploymentStatus::Building => DeployState::Building,
        DeploymentStatus::Deploying => DeployState::Deploying,
        DeploymentStatus::Success | DeploymentStatus::Sleeping => DeployState::Ready,
        // A crash is a bad release as much as a failed build: rollback policy must see it.
        DeploymentStatus::Failed | DeploymentStatus::Crashed => DeployState::Failed,
        // Skipped: superseded by a newer deployment before it started.
        DeploymentStatus::Skipped => DeployState::Canceled,
        DeploymentStatus::Removed | DeploymentStatus::Removing => DeployState::Stopped,
        DeploymentStatus::Unknown(other) => DeployState::Unknown(other.clone()),
    }
}

fn provider_deployment(d: Deployment) -> ProviderDeployment {
    let state = deploy_state(&d.status);
    let message = match d.status {
        DeploymentStatus::Failed => Some("Railway reports the deployment FAILED".to_owned()),
        DeploymentStatus::Crashed => Some("Railway reports the deployment CRASHED".to_owned()),
        _ => None,
    };
    let url = d
        .static_url
        .as_deref()
        .or(d.url.as_deref())
        .filter(|u| !u.is_empty())
        .map(|u| {
            if u.contains("://") {
                u.to_owned()
            } else {
                format!("https://{u}")
            }
        });
    ProviderDeployment {
        live: is_live(&d.status),
        commit: d
            .meta
            .as_ref()
            .and_then(|m| m.get("commitHash"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        created_at: d.created_at.map(|t| t.to_rfc3339()),
        id: d.id,
        state,
        url,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::models::railway::decode;

    // The Deployment status a reconciler sees for every Railway status.
    #[test]
    fn railway_statuses_map_to_deploy_states() {
        use DeploymentStatus as S;
        let cases = [
            (S::Queued, DeployState::Queued),
            (S::Waiting, DeployState::Queued),
            (S::Initializing, DeployState::Queued),
            (S::NeedsApproval, DeployState::Queued),
            (S::Building, DeployState::Building),
            (S::Deploying, DeployState::Deploying),
            (S::Success, DeployState::Ready),
            (S::Sleeping, DeployState::Ready),
            (S::Failed, DeployState::Failed),
            (S::Crashed, DeployState::Failed),
            (S::Skipped, DeployState::Canceled),
            (S::Removed, DeployState::Stopped),
            (S::Removing, DeployState::Stopped),
        ];
        assert_eq!(cases.len(), S::KNOWN.len(), "every known status is mapped");
        for (status, state) in cases {
            assert_eq!(deploy_state(&status), state, "{status}");
        }
        assert_eq!(
            deploy_state(&S::Unknown("PAUSED".into())),
            DeployState::Unknown("PAUSED".into())
        );
    }

    // A recorded answer: the live deployment carries its commit and an https URL; the
    // failed one a message.
    #[test]
    fn recorded_deployments_become_provider_deployments() {
        let body = include_bytes!("../../../tests/fixtures/providers/railway/deployments.json");
        let data: DeploymentsData = decode(200, body).unwrap();
        let list: Vec<_> = data
            .deployments
            .edges
            .into_iter()
            .map(|e| provider_deployment(e.node))
            .collect();
        assert_eq!(list[0].state, DeployState::Ready);
        assert!(list[0].live);
        assert_eq!(
            list[0].commit.as_deref(),
            Some("3f9a1c2b7d8e4f5a6b7c8d9e0f1a2b3c4d5e6f7a")
        );
        assert_eq!(
            list[0].url.as_deref(),
            Some("https://vocilia-api-production-8d4c.up.railway.app")
        );
        assert_eq!(list[1].state, DeployState::Failed);
        assert!(!list[1].live);
        assert!(list[1].message.as_deref().unwrap().contains("FAILED"));
    }
}
