//! Planning one Environment with the reconciler's own steps: resolve (Secrets and ConfigMaps
//! from the manifests, else the cluster), connect and verify through `controllers::connect`,
//! then per target list and run the pure `sync_plan` against what the last sync recorded in
//! the cluster's status. Only reads are made.

use std::collections::BTreeSet;

use super::report::{EnvironmentPlan, TargetChanges, VariableChange};
use crate::{
    api::{
        Environment,
        common::ManagementPolicy,
        environment::{DriftPolicy, EnvironmentStatus},
    },
    controllers::{
        connect::{Connections, Credentials},
        deps::{self, Dependencies},
        environment::{self, Failure, OWNER_MARKER, Target, desired},
    },
    providers::{
        Pool,
        variables::{DesiredVariable, RemoteVariable, VarTarget},
    },
};

/// Plans `env`; `live` is the cluster's copy (for the last sync's hashes and ownership).
pub async fn plan(
    env: &Environment,
    live: Option<&Environment>,
    mut deps: Dependencies,
    pool: &Pool,
) -> Result<EnvironmentPlan, crate::controllers::Error> {
    let mut out = EnvironmentPlan {
        namespace: env.metadata.namespace.clone().unwrap_or_default(),
        name: env.metadata.name.clone().unwrap_or_default(),
        ..EnvironmentPlan::default()
    };
    let spec = &env.spec;
    out.not_applied = if spec.suspend {
        Some("spec.suspend is true".into())
    } else if spec.management_policy == ManagementPolicy::Observe {
        Some("managementPolicy is Observe".into())
    } else {
        None
    };
    let credentials = Credentials::resolve(&spec.providers, &mut deps).await?;
    let values = environment::resolve_values(spec, &mut deps).await?;
    let missing = deps.missing();
    if !missing.is_empty() {
        out.error = Some(deps::waiting_for(&missing));
        return Ok(out);
    }
    let connections = match Connections::new(pool, &spec.providers, &credentials) {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(e.to_string());
            return Ok(out);
        }
    };
    if let Err(e) = connections.verify().await {
        out.error = Some(e.to_string());
        return Ok(out);
    }

    let status: EnvironmentStatus = live.and_then(|l| l.status.clone()).unwrap_or_default();
    let wanted = desired::by_target(spec, &values, OWNER_MARKER);
    let sensitive: BTreeSet<&str> = spec
        .variables
        .iter()
        .filter(|v| desired::is_sensitive(v))
        .map(|v| v.name.as_str())
        .collect();
    for target in environment::visited(&wanted, &status) {
        let want = wanted.get(&target).map_or(&[][..], Vec::as_slice);
        let label = target.label();
        let before = status.targets.iter().find(|t| t.target == label);
        match environment::observe_target(&connections, &target, want, before, spec.drift_policy)
            .await
        {
            Ok(observed) => out.targets.push(changes(
                &target,
                &observed.plan,
                &observed.remote,
                &sensitive,
                spec.drift_policy,
            )),
            Err(Failure::Spec(message)) => {
                out.error = Some(message);
                return Ok(out);
            }
            Err(Failure::Provider(e)) => {
                out.error = Some(format!("{label}: {e}"));
                return Ok(out);
            }
        }
    }
    Ok(out)
}

/// The plan of one target in names: a write of an entry the platform has is an update.
fn changes(
    target: &Target,
    plan: &crate::controllers::environment::sync_plan::TargetPlan,
    remote: &[RemoteVariable],
    sensitive: &BTreeSet<&str>,
    policy: DriftPolicy,
) -> TargetChanges {
    let change = |name: &str, targets: &[VarTarget]| VariableChange {
        name: name.to_string(),
        targets: targets
            .iter()
            .map(|t| format!("{t:?}").to_lowercase())
            .collect(),
        sensitive: sensitive.contains(name),
    };
    let exists = |d: &DesiredVariable| {
        remote
            .iter()
            .any(|r| r.name == d.name && r.targets == d.targets)
    };
    let (update, create): (Vec<&DesiredVariable>, Vec<&DesiredVariable>) =
        plan.upserts.iter().partition(|d| exists(d));
    TargetChanges {
        target: target.label(),
        create: create.iter().map(|d| change(&d.name, &d.targets)).collect(),
        update: update.iter().map(|d| change(&d.name, &d.targets)).collect(),
        delete: plan
            .deletes
            .iter()
            .map(|r| change(&r.name, &r.targets))
            .collect(),
        drifted: plan.drifted.clone(),
        drift_corrected: policy == DriftPolicy::Correct,
        unmanaged: plan.unmanaged.clone(),
    }
}
