//! Which berth objects exist, which still lack a status and which are not Ready: what
//! `berth up --check` and the scale benchmark wait on.

use kube::{Api, Client, ResourceExt, api::ListParams};

use crate::{
    api::{BackupPolicy, Certificate, Deployment, Domain, Environment},
    controllers::{Managed, conditions},
};

/// Every berth object in scope, and the ones without `status.observedGeneration` yet.
#[derive(Debug, Default)]
pub struct Census {
    /// Objects of all five kinds.
    pub total: usize,
    /// `Kind/name` of each object without a status.
    pub without_status: Vec<String>,
    /// `Kind/name: message` of each object whose `Ready` condition is not `True`.
    pub not_ready: Vec<String>,
}

/// Lists the five kinds in `namespace` (all namespaces when `None`).
pub async fn census(client: &Client, namespace: Option<&str>) -> Result<Census, kube::Error> {
    let mut out = Census::default();
    count::<Environment>(client, namespace, &mut out).await?;
    count::<Deployment>(client, namespace, &mut out).await?;
    count::<Domain>(client, namespace, &mut out).await?;
    count::<Certificate>(client, namespace, &mut out).await?;
    count::<BackupPolicy>(client, namespace, &mut out).await?;
    Ok(out)
}

async fn count<K: Managed>(
    client: &Client,
    namespace: Option<&str>,
    out: &mut Census,
) -> Result<(), kube::Error> {
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    for o in api.list(&ListParams::default()).await?.items {
        out.total += 1;
        let common = o.status().map(K::common);
        let name = format!("{}/{}", K::KIND, o.name_any());
        if common.and_then(|c| c.observed_generation).is_none() {
            out.without_status.push(name.clone());
        }
        let ready = common.and_then(|c| conditions::find(&c.conditions, conditions::types::READY));
        if ready.is_none_or(|c| c.status != "True") {
            let why = ready
                .map(|c| c.message.as_str())
                .unwrap_or("no Ready condition yet");
            out.not_ready.push(format!("{name}: {why}"));
        }
    }
    Ok(())
}
