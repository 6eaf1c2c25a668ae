//! Observe (I/O): what the plan needs from the provider and the release's URL: the release
//! in flight (by its recorded id — or the deployment that replaced it with the same revision —
//! or found by commit when it was recorded without one), one health probe when the release is up
//! and its next probe is due, and whether the provider replaced the live deployment.

use k8s_openapi::jiff::Timestamp;

use super::{
    plan::{self, Look, Observed, Seen},
    probe::Prober,
};
use crate::{
    api::deployment::{DeploymentSpec, DeploymentStatus},
    providers::{
        Error, Result,
        deploys::{DeployState, Deploys, ProviderDeployment},
    },
};

/// How many recent deployments are searched for one created by an unseen create.
const RECENT: usize = 20;

/// Reads the release in flight and probes it when due.
pub async fn observe(
    deploys: &dyn Deploys,
    service: &str,
    spec: &DeploymentSpec,
    status: &DeploymentStatus,
    prober: &Prober,
    now: Timestamp,
) -> Result<Observed> {
    let pending = match plan::look(status) {
        Look::Nothing => None,
        Look::ById(id) => match deploys.deployment(service, &id).await {
            Ok(d) if d.state == DeployState::Stopped => {
                let recent = deploys.deployments(service, RECENT).await?;
                let next = plan::successor(&d, &recent).cloned();
                Some(Seen::Found(next.unwrap_or(d)))
            }
            Ok(d) => Some(Seen::Found(d)),
            Err(Error::NotFound { .. }) => Some(Seen::Absent),
            Err(e) => return Err(e),
        },
        Look::Created => {
            let recent = deploys.deployments(service, RECENT).await?;
            let release = status.pending.clone().unwrap_or_default();
            Some(
                plan::find_created(&release, spec, &recent)
                    .cloned()
                    .map_or(Seen::Absent, Seen::Found),
            )
        }
    };
    let probe = match plan::probe_due(spec, status, pending.as_ref(), now) {
        Some(url) => Some(prober.probe(&url, &spec.health_check).await),
        None => None,
    };
    let (live_replaced_by, live_redeploying) = match plan::live_to_check(status) {
        Some(id) => live_check(deploys, service, id).await?,
        None => (None, false),
    };
    Ok(Observed {
        pending,
        probe,
        live_replaced_by,
        live_redeploying,
    })
}

/// Whether the provider replaced the live deployment `id` with a redeploy of its revision
/// (the new one, once it serves), or is redeploying it now. One listing of recent deployments.
async fn live_check(
    deploys: &dyn Deploys,
    service: &str,
    id: &str,
) -> Result<(Option<ProviderDeployment>, bool)> {
    let recent = deploys.deployments(service, RECENT).await?;
    let Some(ours) = recent.iter().find(|d| d.id == id) else {
        return Ok((None, false));
    };
    Ok(match plan::successor(ours, &recent) {
        Some(next) if ours.state == DeployState::Stopped && next.state == DeployState::Ready => {
            (Some(next.clone()), false)
        }
        Some(next) => (None, !next.state.is_terminal()),
        None => (None, false),
    })
}
