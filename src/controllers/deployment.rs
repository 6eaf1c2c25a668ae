//! Deployment reconciler. Until the hosting clients land, it resolves the Environment and its
//! binding for the service, then says honestly that it cannot deploy.

use std::sync::Arc;

use kube::runtime::Controller;

use super::{Context, Error, Outcome, Reconciler, SyncResult, Verdict, conditions::reasons, deps};
use crate::api::{
    Deployment, Environment, deployment::DeploymentSpec, environment::EnvironmentSpec,
};

impl Reconciler for Deployment {
    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        let mut deps = ctx.dependencies(obj.as_ref());
        let env = deps
            .object::<Environment>(&obj.spec.environment_ref.name)
            .await?;
        let mut status = obj.status.clone().unwrap_or_default();
        status.phase.get_or_insert_default();
        Ok(Outcome::of(
            status,
            plan(&obj.spec, env.as_ref().map(|e| &e.spec), &deps.missing()),
        ))
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

/// Plan (pure).
fn plan(
    spec: &DeploymentSpec,
    env: Option<&EnvironmentSpec>,
    missing: &[String],
) -> (Verdict, SyncResult) {
    let Some(env) = env.filter(|_| missing.is_empty()) else {
        return Verdict::blocked(deps::waiting_for(missing));
    };
    let bound = match platform(spec) {
        "Railway" => env.providers.railway.is_some(),
        _ => env.providers.vercel.is_some(),
    };
    if !bound {
        return Verdict::blocked(format!(
            "waiting for Environment {} to bind spec.providers.{} (spec.service needs it)",
            spec.environment_ref.name,
            platform(spec).to_lowercase()
        ));
    }
    Verdict::stalled(
        reasons::PROVIDER_NOT_CONNECTED,
        format!(
            "this berth build has no {} client yet: revision was not deployed",
            platform(spec)
        ),
    )
}

/// Dependency watches: the Environment.
pub(super) fn wire(c: Controller<Deployment>, ctx: &Context) -> Controller<Deployment> {
    deps::watch_refs(c, ctx.watch_api::<Environment>(), |d: &Deployment, env| {
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
        let (v, _) = plan(
            &deployment(VERCEL),
            None,
            &["Environment shop/production".into()],
        );
        assert_eq!(
            v,
            Verdict::Blocked {
                message: "waiting for Environment shop/production".into()
            }
        );
    }

    // Protects: the Environment must bind the service's platform; the message says which field.
    #[test]
    fn environment_without_the_platform_binding_blocks() {
        let (v, _) = plan(&deployment(VERCEL), Some(&env("providers: {}\n")), &[]);
        let Verdict::Blocked { message } = v else {
            panic!("{v:?}")
        };
        assert!(message.contains("spec.providers.vercel"), "{message}");
    }

    // Protects: with everything in place but no client, the Deployment is never claimed Ready.
    #[test]
    fn no_client_is_not_ready() {
        let e = env("providers: {vercel: {tokenSecretRef: {name: v, key: token}}}\n");
        let (v, _) = plan(&deployment(VERCEL), Some(&e), &[]);
        assert!(
            matches!(
                v,
                Verdict::Stalled {
                    reason: reasons::PROVIDER_NOT_CONNECTED,
                    ..
                }
            ),
            "{v:?}"
        );
    }
}
