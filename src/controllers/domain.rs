//! Domain reconciler. Until the DNS and platform clients land, it checks the hostname lies in
//! the Environment's zone and the target exists, then says honestly that it cannot write records.

use std::sync::Arc;

use kube::runtime::Controller;

use super::{Context, Error, Outcome, Reconciler, SyncResult, Verdict, conditions::reasons, deps};
use crate::api::{
    Deployment, Domain, Environment, domain::DomainSpec, environment::EnvironmentSpec,
};

impl Reconciler for Domain {
    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        let mut deps = ctx.dependencies(obj.as_ref());
        let env = deps
            .object::<Environment>(&obj.spec.environment_ref.name)
            .await?;
        if let Some(d) = &obj.spec.target.deployment_ref {
            deps.object::<Deployment>(&d.name).await?;
        }
        Ok(Outcome::of(
            obj.status.clone().unwrap_or_default(),
            plan(&obj.spec, env.as_ref().map(|e| &e.spec), &deps.missing()),
        ))
    }
}

/// Whether `host` is the zone apex or a name under it.
fn in_zone(host: &str, zone: &str) -> bool {
    host == zone
        || host
            .strip_suffix(zone)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Plan (pure).
fn plan(
    spec: &DomainSpec,
    env: Option<&EnvironmentSpec>,
    missing: &[String],
) -> (Verdict, SyncResult) {
    if !missing.is_empty() {
        return Verdict::blocked(deps::waiting_for(missing));
    }
    let Some(dns) = env.and_then(|e| e.providers.dns.as_ref()) else {
        return Verdict::blocked(format!(
            "waiting for Environment {} to bind spec.providers.dns",
            spec.environment_ref.name
        ));
    };
    if !in_zone(&spec.hostname, &dns.zone) {
        return Verdict::stalled(
            reasons::INVALID_SPEC,
            format!(
                "spec.hostname {} is outside zone {} of Environment {}",
                spec.hostname, dns.zone, spec.environment_ref.name
            ),
        );
    }
    let provider = if dns.powerdns.is_some() {
        "PowerDNS"
    } else {
        "Cloudflare"
    };
    Verdict::stalled(
        reasons::PROVIDER_NOT_CONNECTED,
        format!(
            "this berth build has no {provider} client yet: no record was written for {}",
            spec.hostname
        ),
    )
}

/// Dependency watches: the Environment and the target Deployment.
pub(super) fn wire(c: Controller<Domain>, ctx: &Context) -> Controller<Domain> {
    let c = deps::watch_refs(c, ctx.watch_api::<Environment>(), |d: &Domain, env| {
        d.spec.environment_ref.name == env
    });
    deps::watch_refs(c, ctx.watch_api::<Deployment>(), |d: &Domain, dep| {
        d.spec
            .target
            .deployment_ref
            .as_ref()
            .is_some_and(|r| r.name == dep)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: only the apex and names under it count as in the zone (no suffix look-alikes).
    #[test]
    fn zone_membership() {
        assert!(in_zone("vocilia.com", "vocilia.com"));
        assert!(in_zone("api.vocilia.com", "vocilia.com"));
        assert!(!in_zone("evilvocilia.com", "vocilia.com"));
        assert!(!in_zone("api.vocilia.co", "vocilia.com"));
    }

    // Protects: a hostname outside the zone is a permanent spec error naming the field.
    #[test]
    fn hostname_outside_zone_stalls() {
        let spec: DomainSpec = crate::yaml::from_str("hostname: api.other.com\nenvironmentRef: {name: production}\ntarget: {records: [{type: A, values: [192.0.2.1]}]}\n").unwrap();
        let env: EnvironmentSpec = crate::yaml::from_str("providers: {dns: {zone: vocilia.com, powerdns: {url: 'http://p', apiKeySecretRef: {name: k, key: k}}}}\n").unwrap();
        let (v, _) = plan(&spec, Some(&env), &[]);
        let Verdict::Stalled { reason, message } = v else {
            panic!("{v:?}")
        };
        assert_eq!(reason, reasons::INVALID_SPEC);
        assert!(message.starts_with("spec.hostname"), "{message}");
    }
}
