//! Act (I/O): the one provider write a plan asks for, made idempotent where the provider's
//! call is not: a rollback first checks whether its target already serves.

use super::plan::Action;
use crate::providers::{
    Result,
    deploys::{Deploys, ProviderDeployment},
};

/// What a successful action did.
#[derive(Debug)]
pub enum Applied {
    /// A deployment was created; its id goes to status at once.
    Deployed(ProviderDeployment),
    /// The rollback target serves (again, or still: a failed build never took traffic).
    Live,
}

/// Performs `action` on `service`.
pub async fn act(deploys: &dyn Deploys, service: &str, action: &Action) -> Result<Applied> {
    match action {
        Action::Deploy(revision) => deploys
            .deploy(service, revision)
            .await
            .map(Applied::Deployed),
        Action::EnsureLive { deployment_id } => ensure_live(deploys, service, deployment_id).await,
    }
}

/// Makes `id` the serving deployment. Reads first: a failed build never took traffic, and
/// on Railway every rollback call creates a deployment, so only call when it is not live.
async fn ensure_live(deploys: &dyn Deploys, service: &str, id: &str) -> Result<Applied> {
    let current = deploys.deployment(service, id).await?;
    if current.live {
        tracing::info!(service, deployment = id, "rollback target already serves");
        return Ok(Applied::Live);
    }
    deploys.rollback(service, id).await?;
    tracing::info!(service, deployment = id, "rolled back");
    Ok(Applied::Live)
}
