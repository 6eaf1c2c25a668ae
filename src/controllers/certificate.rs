//! Certificate reconciler. Until the ACME and platform clients land, it resolves the
//! Environment, the Domain and the CA bundle, then says honestly that it cannot issue.

use std::sync::Arc;

use kube::runtime::Controller;

use super::{Context, Error, Outcome, Reconciler, SyncResult, Verdict, conditions::reasons, deps};
use crate::api::{Certificate, Domain, Environment, certificate::CertificateSpec};

impl Reconciler for Certificate {
    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        let mut deps = ctx.dependencies(obj.as_ref());
        deps.object::<Environment>(&obj.spec.environment_ref.name)
            .await?;
        if let Some(d) = &obj.spec.domain_ref {
            deps.object::<Domain>(&d.name).await?;
        }
        if let Some(ca) = obj
            .spec
            .issuer
            .acme
            .as_ref()
            .and_then(|a| a.ca_bundle_secret_ref.as_ref())
        {
            deps.secret_key(ca).await?;
        }
        Ok(Outcome::of(
            obj.status.clone().unwrap_or_default(),
            plan(&obj.spec, &deps.missing()),
        ))
    }
}

/// Plan (pure).
fn plan(spec: &CertificateSpec, missing: &[String]) -> (Verdict, SyncResult) {
    if !missing.is_empty() {
        return Verdict::blocked(deps::waiting_for(missing));
    }
    let message = match (&spec.issuer.acme, &spec.issuer.platform) {
        (Some(acme), _) => format!(
            "this berth build has no ACME client yet: nothing was ordered from {}",
            acme.server
        ),
        (None, Some(p)) => format!(
            "this berth build has no {:?} client yet: the platform certificate was not read",
            p.provider
        ),
        (None, None) => {
            return Verdict::stalled(
                reasons::INVALID_SPEC,
                "spec.issuer: set exactly one of acme or platform".into(),
            );
        }
    };
    Verdict::stalled(reasons::PROVIDER_NOT_CONNECTED, message)
}

/// Dependency watches: the Environment, the Domain, and the CA bundle Secret.
pub(super) fn wire(c: Controller<Certificate>, ctx: &Context) -> Controller<Certificate> {
    let c = deps::watch_refs(c, ctx.watch_api::<Environment>(), |x: &Certificate, env| {
        x.spec.environment_ref.name == env
    });
    let c = deps::watch_refs(c, ctx.watch_api::<Domain>(), |x: &Certificate, d| {
        x.spec.domain_ref.as_ref().is_some_and(|r| r.name == d)
    });
    deps::watch_refs(c, deps::secrets(ctx), |x: &Certificate, name| {
        x.spec
            .issuer
            .acme
            .as_ref()
            .and_then(|a| a.ca_bundle_secret_ref.as_ref())
            .is_some_and(|r| r.name == name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: an ACME certificate with everything in place still says it was not issued.
    #[test]
    fn acme_without_client_is_not_ready() {
        let spec: CertificateSpec = crate::yaml::from_str(
            "environmentRef: {name: production}\ndnsNames: [api.vocilia.com]\nsecretName: api-tls\nissuer: {acme: {server: 'https://acme.test/dir', email: ops@vocilia.com}}\n",
        )
        .unwrap();
        let (v, _) = plan(&spec, &[]);
        let Verdict::Stalled { reason, message } = v else {
            panic!("{v:?}")
        };
        assert_eq!(reason, reasons::PROVIDER_NOT_CONNECTED);
        assert!(message.contains("https://acme.test/dir"), "{message}");
    }
}
