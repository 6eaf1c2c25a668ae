//! Planning one Deployment with the reconciler's own steps: dereference its Environment (from
//! the manifests, else the cluster), connect to the service's platform through
//! `controllers::connect`, read its recent deployments (the live one is shown), and run the
//! pure rollout plan on the cluster's status to see whether a release would start.

use k8s_openapi::jiff::Timestamp;

use super::report::{DeployAction, DeploymentPlan, LiveDeployment};
use crate::{
    api::{Deployment, Environment},
    controllers::{
        connect::{Connections, Credentials},
        deployment::{
            plan::{self, Input, Observed},
            platform_binding,
        },
        deps::{self, Dependencies},
    },
    providers::Pool,
};

/// How many recent deployments are read to find the live one.
const RECENT: usize = 20;

/// Plans `dep`; `live` is the cluster's copy (its status and generation).
pub async fn plan(
    dep: &Deployment,
    live: Option<&Deployment>,
    mut deps: Dependencies,
    pool: &Pool,
) -> Result<DeploymentPlan, crate::controllers::Error> {
    let spec = &dep.spec;
    let service = match (&spec.service.railway, &spec.service.vercel) {
        (Some(r), _) => format!("railway:{}", r.service_id),
        (None, Some(v)) => format!("vercel:{}", v.project),
        (None, None) => String::new(),
    };
    let mut out = DeploymentPlan {
        namespace: dep.metadata.namespace.clone().unwrap_or_default(),
        name: dep.metadata.name.clone().unwrap_or_default(),
        service,
        revision: plan::wanted(spec),
        ..DeploymentPlan::default()
    };
    let env = deps
        .object::<Environment>(&spec.environment_ref.name)
        .await?;
    let needed = env
        .as_ref()
        .map(|e| platform_binding(&e.spec.providers, spec))
        .unwrap_or_default();
    let credentials = Credentials::resolve(&needed, &mut deps).await?;
    let missing = deps.missing();
    if !missing.is_empty() {
        out.error = Some(deps::waiting_for(&missing));
        return Ok(out);
    }
    let connections = match Connections::new(pool, &needed, &credentials) {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(e.to_string());
            return Ok(out);
        }
    };
    let (deploys, service) = match connections.deploys(&spec.service) {
        Ok(found) => found,
        Err(message) => {
            out.error = Some(message);
            return Ok(out);
        }
    };
    match deploys.deployments(service, RECENT).await {
        Ok(recent) => {
            out.live = recent.into_iter().find(|d| d.live).map(|d| LiveDeployment {
                id: d.id,
                commit: d.commit,
            });
        }
        Err(e) => {
            out.error = Some(e.to_string());
            return Ok(out);
        }
    }
    let (action, message) = decide(dep, live);
    out.action = action;
    out.message = message;
    Ok(out)
}

/// What the rollout plan does with the declared spec, from the cluster's status: a spec that
/// differs from the cluster's is a new generation (which releases a hold).
fn decide(dep: &Deployment, live: Option<&Deployment>) -> (DeployAction, String) {
    let spec = &dep.spec;
    let want = plan::wanted(spec);
    if spec.suspend {
        return (
            DeployAction::Suspended,
            "spec.suspend is true: nothing is deployed".into(),
        );
    }
    let status = live.and_then(|l| l.status.clone()).unwrap_or_default();
    let cluster_generation = live.and_then(|l| l.metadata.generation).unwrap_or(0);
    let generation = match live {
        Some(l) if l.spec == *spec => cluster_generation,
        _ => cluster_generation + 1,
    };
    let next = plan::plan(Input {
        spec,
        generation,
        status: &status,
        observed: &Observed::default(),
        request: None,
        now: Timestamp::now(),
    });
    let recorded_new = match (&status.pending, &next.status.pending) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(before), Some(after)) => before.started_at != after.started_at,
    };
    if recorded_new {
        let from = status.current.as_ref().map_or_else(
            || "nothing released by berth yet".to_string(),
            |c| format!("berth's current release: {}", c.revision),
        );
        return (
            DeployAction::Deploy,
            format!("deploy revision {want} ({from})"),
        );
    }
    if let Some(p) = &status.pending {
        return (
            DeployAction::InFlight,
            format!(
                "revision {} is already being released ({:?}); no new deployment",
                p.revision,
                status.phase.unwrap_or_default()
            ),
        );
    }
    if next.status.held_generation == Some(generation) {
        return (
            DeployAction::Held,
            format!(
                "held: revision {} failed and was rolled back; it is not deployed again until the spec changes",
                next.status.held_revision.as_deref().unwrap_or(&want)
            ),
        );
    }
    (DeployAction::None, format!("revision {want} is live"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(commit: &str, status: Option<&str>) -> Deployment {
        let mut d: Deployment = crate::yaml::from_str(&format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Deployment\nmetadata: {{name: web, namespace: shop, generation: 3}}\nspec:\n  environmentRef: {{name: production}}\n  service: {{vercel: {{project: web}}}}\n  source: {{repo: acme/web, commit: {commit}}}\n"
        ))
        .unwrap();
        d.status = status.map(|s| crate::yaml::from_str(s).unwrap());
        d
    }

    const LIVE_C1: &str = "phase: Live\ncurrent: {revision: c1c1c1c1, deploymentId: dpl_1}\n";

    // Protects: a new commit over a live release is a deploy; the live commit is not.
    #[test]
    fn new_commit_deploys_and_live_one_does_not() {
        let cluster = deployment("c1c1c1c1", Some(LIVE_C1));
        let (action, message) = decide(&deployment("c2c2c2c2", None), Some(&cluster));
        assert_eq!(action, DeployAction::Deploy, "{message}");
        assert!(
            message.contains("c2c2c2c2") && message.contains("c1c1c1c1"),
            "{message}"
        );
        let (action, _) = decide(&deployment("c1c1c1c1", None), Some(&cluster));
        assert_eq!(action, DeployAction::None);
        let (action, _) = decide(&deployment("c1c1c1c1", None), None);
        assert_eq!(action, DeployAction::Deploy, "a new object releases");
    }

    // Protects: a held revision re-synced unchanged is not deployed; any spec change is.
    #[test]
    fn held_until_the_spec_changes() {
        let held = "phase: Held\ncurrent: {revision: c1c1c1c1}\nheldRevision: c2c2c2c2\nheldGeneration: 3\n";
        let cluster = deployment("c2c2c2c2", Some(held));
        let (action, message) = decide(&deployment("c2c2c2c2", None), Some(&cluster));
        assert_eq!(action, DeployAction::Held, "{message}");
        let (action, _) = decide(&deployment("c3c3c3c3", None), Some(&cluster));
        assert_eq!(action, DeployAction::Deploy);
    }

    // Protects: a release already in flight for the declared commit is not started twice.
    #[test]
    fn in_flight_is_not_redeployed() {
        let building = "phase: Building\npending: {revision: c2c2c2c2, deploymentId: dpl_2, startedAt: '2026-01-01T00:00:00Z'}\n";
        let cluster = deployment("c2c2c2c2", Some(building));
        let (action, message) = decide(&deployment("c2c2c2c2", None), Some(&cluster));
        assert_eq!(action, DeployAction::InFlight, "{message}");
    }
}
