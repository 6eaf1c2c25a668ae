//! Deployment reconciler: releases the declared revision of a Railway service or a Vercel
//! project, verifies it with the health check, and rolls back a bad release.
//!
//! ```text
//! reconcile   dereference (I/O)  the Environment and its binding for the service
//!             connect (I/O)      a `Deploys` client for that binding
//!             rollout:
//!               observe (I/O)    the release in flight at the provider; one probe when due
//!               plan (pure)      plan::plan: next status, at most one provider write, verdict
//!               act (I/O)        deploy, or make the last good deployment live again
//!               record (I/O)     Events and history rows for what changed (best effort)
//! ```
//! A rollback asked for through the admin API arrives as the
//! [`ROLLBACK_REQUESTED_ANNOTATION`] and is acknowledged in `status.rollbackRequest`.

mod act;
mod observe;
pub mod plan;
pub mod probe;
mod record;
mod rollback;

use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::{ResourceExt, runtime::Controller};

use self::{
    act::Applied,
    plan::{Input, Plan},
    probe::Prober,
};
use super::{
    Context, Error, Outcome, Reconciler, SyncResult, Verdict,
    connect::{Connections, Credentials},
    deps,
};
use crate::{
    api::{
        Deployment, Environment,
        deployment::{
            DeploymentSpec, DeploymentStatus, ROLLBACK_REQUESTED_ANNOTATION, RollbackRequest,
        },
        environment::{EnvironmentSpec, Providers},
    },
    providers::deploys::Deploys,
};

impl Reconciler for Deployment {
    const SHOWS_OPEN_ALERTS: bool = true;

    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        // Dereference (I/O): the Environment, and the credential of the one binding the
        // service needs (a missing DNS key must not hold up a release).
        let mut deps = ctx.dependencies(obj.as_ref());
        let env = deps
            .object::<Environment>(&obj.spec.environment_ref.name)
            .await?;
        let needed = env
            .as_ref()
            .map(|e| platform_binding(&e.spec.providers, &obj.spec))
            .unwrap_or_default();
        let credentials = Credentials::resolve(&needed, &mut deps).await?;
        let mut status = obj.status.clone().unwrap_or_default();
        status.phase.get_or_insert_default();
        let env = env.map(|e| e.spec);
        if let Some(blocked) = preflight(&obj.spec, env.as_ref(), &deps.missing()) {
            return Ok(Outcome::of(status, blocked));
        }
        // Connect: the binding's client, over the process-wide HTTP layers.
        let connections = match Connections::new(&ctx.providers, &needed, &credentials) {
            Ok(c) => c,
            Err(e) => return Ok(Outcome::provider_failed(status, &e)),
        };
        let (deploys, service) = match connections.deploys(&obj.spec.service) {
            Ok(found) => found,
            Err(message) => return Ok(Outcome::of(status, Verdict::blocked(message))),
        };
        Ok(rollout(&ctx, &obj, deploys, service).await)
    }
}

/// Only the binding of the service's platform, so only its credential is read.
pub(crate) fn platform_binding(p: &Providers, spec: &DeploymentSpec) -> Providers {
    if spec.service.railway.is_some() {
        Providers {
            railway: p.railway.clone(),
            ..Providers::default()
        }
    } else {
        Providers {
            vercel: p.vercel.clone(),
            ..Providers::default()
        }
    }
}

/// The provider a deployment's service lives on.
fn platform(spec: &DeploymentSpec) -> &'static str {
    if spec.service.railway.is_some() {
        "Railway"
    } else {
        "Vercel"
    }
}

/// Observe → plan → act → record against `deploys`, for one reconcile.
pub async fn rollout(
    ctx: &Context,
    obj: &Deployment,
    deploys: &dyn Deploys,
    service: &str,
) -> Outcome<DeploymentStatus> {
    let now = Timestamp::now();
    let spec = &obj.spec;
    let before = obj.status.clone().unwrap_or_default();
    let generation = obj.metadata.generation.unwrap_or_default();
    let request = rollback_request(obj);
    let prober = Prober {
        via: ctx.health_check_via.clone(),
    };

    let observed = match observe::observe(deploys, service, spec, &before, &prober, now).await {
        Ok(o) => o,
        Err(e) => return Outcome::provider_failed(before, &e),
    };
    let Plan {
        status,
        action,
        verdict,
        requeue,
    } = plan::plan(Input {
        spec,
        generation,
        status: &before,
        observed: &observed,
        request: request.as_ref(),
        now,
    });
    let outcome = match action {
        None => Outcome {
            verdict,
            sync: SyncResult::Succeeded,
            status,
            requeue,
            conditions: Vec::new(),
        },
        Some(action) => match act::act(deploys, service, &action).await {
            Ok(Applied::Deployed(d)) => {
                let mut status = status;
                plan::deployed(&mut status, &d, now);
                Outcome {
                    verdict,
                    sync: SyncResult::Succeeded,
                    status,
                    requeue,
                    conditions: Vec::new(),
                }
            }
            Ok(Applied::Live) => {
                let mut status = status;
                let verdict = plan::rolled_back(&mut status, generation, now);
                Outcome {
                    verdict,
                    sync: SyncResult::Succeeded,
                    status,
                    requeue: None,
                    conditions: Vec::new(),
                }
            }
            // The plan's status is kept: it records the release or the rollback before the
            // call, so the next reconcile looks before it tries again.
            Err(e) => Outcome::provider_failed(status, &e),
        },
    };
    record::changes(
        ctx,
        obj,
        &platform(spec).to_lowercase(),
        &before,
        &outcome.status,
    )
    .await;
    outcome
}

/// The rollback asked for in the annotation, if it parses.
fn rollback_request(obj: &Deployment) -> Option<RollbackRequest> {
    let raw = obj.annotations().get(ROLLBACK_REQUESTED_ANNOTATION)?;
    match serde_json::from_str(raw) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(name = %obj.name_any(), error = %e, "ignoring a malformed {ROLLBACK_REQUESTED_ANNOTATION} annotation");
            None
        }
    }
}

/// Dereference (pure part): the Environment must exist and bind the service's platform.
fn preflight(
    spec: &DeploymentSpec,
    env: Option<&EnvironmentSpec>,
    missing: &[String],
) -> Option<(Verdict, SyncResult)> {
    let Some(env) = env.filter(|_| missing.is_empty()) else {
        return Some(Verdict::blocked(deps::waiting_for(missing)));
    };
    let bound = match platform(spec) {
        "Railway" => env.providers.railway.is_some(),
        _ => env.providers.vercel.is_some(),
    };
    (!bound).then(|| {
        Verdict::blocked(format!(
            "waiting for Environment {} to bind spec.providers.{} (spec.service needs it)",
            spec.environment_ref.name,
            platform(spec).to_lowercase()
        ))
    })
}

/// Dependency watches: the Environment's spec (its status is not read here; each sync of it
/// would re-queue every Deployment of the Environment).
pub(super) fn wire(c: Controller<Deployment>, ctx: &Context) -> Controller<Deployment> {
    deps::watch_spec_refs(c, ctx.watch_api::<Environment>(), |d: &Deployment, env| {
        d.spec.environment_ref.name == env
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(yaml: &str) -> DeploymentSpec {
        crate::yaml::from_str(yaml).unwrap()
    }
    fn env(yaml: &str) -> EnvironmentSpec {
        crate::yaml::from_str(yaml).unwrap()
    }
    const VERCEL: &str = "environmentRef: {name: production}\nservice: {vercel: {project: customer}}\nsource: {repo: vocilia/web, ref: main}\n";

    // Protects: a Deployment names the Environment it waits for.
    #[test]
    fn missing_environment_is_named() {
        let v = preflight(
            &deployment(VERCEL),
            None,
            &["Environment shop/production".into()],
        );
        assert_eq!(
            v.map(|(v, _)| v),
            Some(Verdict::Blocked {
                message: "waiting for Environment shop/production".into()
            })
        );
    }

    // Protects: the Environment must bind the service's platform; the message says which field.
    #[test]
    fn environment_without_the_platform_binding_blocks() {
        let v = preflight(&deployment(VERCEL), Some(&env("providers: {}\n")), &[]);
        let Some((Verdict::Blocked { message }, _)) = v else {
            panic!("{v:?}")
        };
        assert!(message.contains("spec.providers.vercel"), "{message}");
    }

    // Protects: with the binding in place nothing blocks the rollout.
    #[test]
    fn bound_environment_passes() {
        let e = env("providers: {vercel: {tokenSecretRef: {name: v, key: token}}}\n");
        assert_eq!(preflight(&deployment(VERCEL), Some(&e), &[]), None);
    }
}
