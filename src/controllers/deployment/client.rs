//! Connect (I/O): the `Deploys` client for a Deployment's service, from its Environment's
//! binding and the token in the binding's Secret.
//!
//! A stopgap until the shared connection factory (`controllers::connect`, with one HTTP
//! layer per account for every reconcile) lands: this builds the client for one reconcile,
//! so budgets and circuits are per reconcile, not per account.

use std::sync::{Arc, OnceLock};

use super::platform;
use crate::{
    api::{deployment::DeploymentSpec, environment::EnvironmentSpec},
    controllers::{Error, deps::Dependencies},
    providers::{
        self,
        deploys::Deploys,
        http::{HttpMetrics, Secret},
        railway::{self, RailwayClient},
        vercel::VercelClient,
    },
};

/// The binding's token, read from its Secret (noted in `deps` when missing); `None` too when
/// the Environment does not bind the service's platform.
pub async fn token(
    env: &EnvironmentSpec,
    spec: &DeploymentSpec,
    deps: &mut Dependencies,
) -> Result<Option<Secret>, Error> {
    let p = &env.providers;
    let secret = match platform(spec) {
        "Railway" => p.railway.as_ref().map(|b| &b.token_secret_ref),
        _ => p.vercel.as_ref().map(|b| &b.token_secret_ref),
    };
    match secret {
        Some(r) => deps.secret_key(r).await,
        None => Ok(None),
    }
}

/// The client for the service's platform; `None` when the Environment does not bind it.
pub fn connect(
    env: &EnvironmentSpec,
    spec: &DeploymentSpec,
    token: Secret,
) -> providers::Result<Option<Box<dyn Deploys>>> {
    let p = &env.providers;
    if spec.service.railway.is_some() {
        let Some(b) = &p.railway else {
            return Ok(None);
        };
        let endpoint = b.endpoint.as_deref().unwrap_or(railway::DEFAULT_ENDPOINT);
        let client = RailwayClient::connect(
            endpoint,
            token,
            format!("project {}", b.project_id),
            metrics(),
            &b.project_id,
            &b.environment_id,
        )?;
        return Ok(Some(Box::new(client)));
    }
    let Some(b) = &p.vercel else {
        return Ok(None);
    };
    let client = VercelClient::connect(b.endpoint.as_deref(), token, b.team_id.clone(), metrics())?;
    Ok(Some(Box::new(client)))
}

/// Metrics for the stopgap clients (not exported until the shared factory registers them).
fn metrics() -> Arc<HttpMetrics> {
    static METRICS: OnceLock<Arc<HttpMetrics>> = OnceLock::new();
    METRICS.get_or_init(Arc::default).clone()
}
