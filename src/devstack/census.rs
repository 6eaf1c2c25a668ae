//! Which berth objects exist and which still lack a status: what `berth up --check` and the
//! scale benchmark wait on.

use kube::{Api, Client, ResourceExt, api::ListParams};

use crate::{
    api::{BackupPolicy, Certificate, Deployment, Domain, Environment},
    controllers::Managed,
};

/// Every berth object in scope, and the ones without `status.observedGeneration` yet.
#[derive(Debug, Default)]
pub struct Census {
    /// Objects of all five kinds.
    pub total: usize,
    /// `Kind/name` of each object without a status.
    pub without_status: Vec<String>,
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
        if o.status()
            .and_then(|s| K::common(s).observed_generation)
            .is_none()
        {
            out.without_status
                .push(format!("{}/{}", K::KIND, o.name_any()));
        }
    }
    Ok(())
}
