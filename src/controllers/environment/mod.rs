//! Environment reconciler. Until the provider clients land, it checks every binding's
//! credentials and every variable source exist, then says honestly that it cannot sync.

mod desired;
mod sync_plan;

use std::sync::Arc;

use kube::runtime::Controller;

use super::{
    Context, Error, Outcome, Reconciler, SyncResult, Verdict,
    conditions::reasons,
    deps::{self, Dependencies},
};
use crate::api::{Environment, environment::EnvironmentSpec};

impl Reconciler for Environment {
    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        let missing = observe(&obj.spec, ctx.dependencies(obj.as_ref())).await?;
        Ok(Outcome::of(
            obj.status.clone().unwrap_or_default(),
            plan(&obj.spec, &missing),
        ))
    }
}

/// Observe (I/O): which referenced Secrets, ConfigMaps and keys are missing.
async fn observe(spec: &EnvironmentSpec, mut deps: Dependencies) -> Result<Vec<String>, Error> {
    for r in secret_refs(spec) {
        deps.secret_key(r).await?;
    }
    for v in &spec.variables {
        if let Some(cm) = v
            .value_from
            .as_ref()
            .and_then(|f| f.config_map_key_ref.as_ref())
        {
            deps.config_map_key(cm).await?;
        }
    }
    Ok(deps.missing())
}

fn secret_refs(spec: &EnvironmentSpec) -> impl Iterator<Item = &crate::api::common::SecretKeyRef> {
    let p = &spec.providers;
    let dns = p.dns.as_ref();
    p.railway
        .as_ref()
        .map(|r| &r.token_secret_ref)
        .into_iter()
        .chain(p.vercel.as_ref().map(|v| &v.token_secret_ref))
        .chain(p.supabase.as_ref().map(|s| &s.token_secret_ref))
        .chain(
            dns.and_then(|d| d.powerdns.as_ref())
                .map(|d| &d.api_key_secret_ref),
        )
        .chain(
            dns.and_then(|d| d.cloudflare.as_ref())
                .map(|d| &d.token_secret_ref),
        )
        .chain(
            spec.variables
                .iter()
                .filter_map(|v| v.value_from.as_ref()?.secret_key_ref.as_ref()),
        )
}

/// The providers an environment binds, by display name.
fn bound_providers(spec: &EnvironmentSpec) -> Vec<&'static str> {
    let p = &spec.providers;
    let dns = p.dns.as_ref();
    [
        (p.railway.is_some(), "Railway"),
        (p.vercel.is_some(), "Vercel"),
        (p.supabase.is_some(), "Supabase"),
        (dns.is_some_and(|d| d.powerdns.is_some()), "PowerDNS"),
        (dns.is_some_and(|d| d.cloudflare.is_some()), "Cloudflare"),
    ]
    .into_iter()
    .filter_map(|(bound, name)| bound.then_some(name))
    .collect()
}

/// Plan (pure): what the conditions say.
fn plan(spec: &EnvironmentSpec, missing: &[String]) -> (Verdict, SyncResult) {
    if !missing.is_empty() {
        return Verdict::blocked(deps::waiting_for(missing));
    }
    let providers = bound_providers(spec);
    if providers.is_empty() {
        return (
            Verdict::Ready {
                message: "no provider bindings: nothing to sync".into(),
            },
            SyncResult::Succeeded,
        );
    }
    Verdict::stalled(
        reasons::PROVIDER_NOT_CONNECTED,
        format!(
            "this berth build has no client for {} yet: credentials are present but unverified, and no variable was written",
            providers.join(", ")
        ),
    )
}

/// Dependency watches: Secrets and ConfigMaps the environment reads.
pub(super) fn wire(c: Controller<Environment>, ctx: &Context) -> Controller<Environment> {
    let c = deps::watch_refs(c, deps::secrets(ctx), |env: &Environment, name| {
        secret_refs(&env.spec).any(|r| r.name == name)
    });
    deps::watch_refs(c, deps::config_maps(ctx), |env: &Environment, name| {
        env.spec.variables.iter().any(|v| {
            v.value_from
                .as_ref()
                .and_then(|f| f.config_map_key_ref.as_ref())
                .is_some_and(|r| r.name == name)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> EnvironmentSpec {
        crate::yaml::from_str(yaml).unwrap()
    }

    // Protects: a missing Secret blocks (and names the Secret) instead of stalling: GitOps may apply it a moment later.
    #[test]
    fn missing_secret_blocks_and_is_named() {
        let s = spec("providers: {}\n");
        let (v, _) = plan(&s, &["Secret shop/railway-token".to_string()]);
        assert_eq!(
            v,
            Verdict::Blocked {
                message: "waiting for Secret shop/railway-token".into()
            }
        );
    }

    // Protects: bindings without a client are reported as not connected, never as Ready.
    #[test]
    fn bound_providers_without_client_stall_honestly() {
        let s = spec(
            "providers:\n  railway: {projectId: p, environmentId: e, tokenSecretRef: {name: t, key: token}}\n  dns: {zone: vocilia.com, powerdns: {url: 'http://pdns:8081', apiKeySecretRef: {name: k, key: key}}}\n",
        );
        let (v, sync) = plan(&s, &[]);
        let Verdict::Stalled { reason, message } = v else {
            panic!("expected Stalled, got {v:?}")
        };
        assert_eq!(reason, reasons::PROVIDER_NOT_CONNECTED);
        assert!(message.contains("Railway, PowerDNS"), "{message}");
        assert!(matches!(sync, SyncResult::NotAttempted { .. }));
    }

    // Protects: an environment with nothing bound has nothing to do and says Ready.
    #[test]
    fn nothing_bound_is_ready() {
        let (v, _) = plan(&spec("providers: {}\n"), &[]);
        assert!(matches!(v, Verdict::Ready { .. }));
    }
}
