//! Which objects are probed, from the controllers' caches (pure): every Ready Deployment at
//! its live URL with its `healthCheck`, and every Domain with `spec.endpoint` over HTTPS. URLs
//! are formed by the Deployment reconciler's own [`Prober::target`], so `--health-check-via`
//! sends monitoring where it sends release checks.

use std::time::Duration;

use kube::ResourceExt;

use super::{Expect, Target, target_name};
use crate::{
    api::{Deployment, Domain, common::parse_duration, deployment::HealthCheck},
    controllers::{Caches, conditions::find, deployment::probe::Prober},
};

/// Probe interval, time-out and budget when a spec's duration does not parse (the CRD's
/// defaults; admission validates them, so this is only a fallback).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

/// Every target in the caches, sorted by name.
#[must_use]
pub fn from_caches(caches: &Caches, via: Option<&str>) -> Vec<Target> {
    let deployments = caches.deployments.state();
    let domains = caches.domains.state();
    collect(
        deployments.iter().map(AsRef::as_ref),
        domains.iter().map(AsRef::as_ref),
        via,
    )
}

/// The targets of these objects, sorted by name.
pub fn collect<'a>(
    deployments: impl IntoIterator<Item = &'a Deployment>,
    domains: impl IntoIterator<Item = &'a Domain>,
    via: Option<&str>,
) -> Vec<Target> {
    let prober = Prober {
        via: via.map(str::to_owned),
    };
    let mut out: Vec<Target> = deployments
        .into_iter()
        .filter_map(|d| deployment(d, &prober))
        .chain(domains.into_iter().filter_map(|d| domain(d, &prober)))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A Ready Deployment with a live URL.
fn deployment(d: &Deployment, prober: &Prober) -> Option<Target> {
    let status = d.status.as_ref()?;
    let ready = find(&status.common.conditions, "Ready").is_some_and(|c| c.status == "True");
    let url = status.current.as_ref()?.url.as_deref()?;
    if !ready {
        return None;
    }
    Some(health_check(
        target_name(&d.namespace()?, "Deployment", &d.name_any()),
        prober.target(url, &d.spec.health_check.path),
        &d.spec.health_check,
    ))
}

/// The target `name` requesting `url` as `healthCheck` says: the release checks of the
/// Deployment reconciler and monitoring judge an answer the same way.
#[must_use]
pub fn health_check(name: String, url: String, hc: &HealthCheck) -> Target {
    let expect = u16::try_from(hc.expected_status).map_or(Expect::Status(200), Expect::Status);
    Target {
        name,
        url,
        expect,
        timeout: parse_duration(&hc.timeout).unwrap_or(DEFAULT_TIMEOUT),
        latency_budget: parse_duration(&hc.latency_budget).unwrap_or(DEFAULT_BUDGET),
        interval: parse_duration(&hc.interval)
            .filter(|i| !i.is_zero())
            .unwrap_or(DEFAULT_INTERVAL),
    }
}

/// A Domain with an endpoint to check.
fn domain(d: &Domain, prober: &Prober) -> Option<Target> {
    let endpoint = d.spec.endpoint.as_ref()?;
    let base = if endpoint.port == 443 {
        format!("https://{}", d.spec.hostname)
    } else {
        format!("https://{}:{}", d.spec.hostname, endpoint.port)
    };
    Some(Target {
        name: target_name(&d.namespace()?, "Domain", &d.name_any()),
        url: prober.target(&base, &endpoint.path),
        expect: Expect::BelowFourHundred,
        timeout: DEFAULT_TIMEOUT,
        latency_budget: DEFAULT_BUDGET,
        interval: DEFAULT_INTERVAL,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(yaml: &str) -> Deployment {
        crate::yaml::from_str(yaml).unwrap()
    }

    const READY_API: &str = "
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata: {name: api, namespace: vocilia}
spec:
  environmentRef: {name: production}
  service: {railway: {serviceId: svc-1}}
  source: {repo: vocilia/api, ref: main}
  healthCheck: {path: /healthz, expectedStatus: 204, interval: 10s, timeout: 1s, latencyBudget: 300ms}
status:
  conditions: [{type: Ready, status: 'True', reason: Live, message: '', lastTransitionTime: '2026-01-01T00:00:00Z'}]
  current: {revision: main, url: api-prod.up.railway.app}
";

    // Protects: a Ready Deployment is probed at its live URL with its own health check; one
    // that is not Ready, or has no URL yet, is not probed.
    #[test]
    fn ready_deployments_are_probed_with_their_health_check() {
        let ready = deployment(READY_API);
        let targets = collect([&ready], [], None);
        assert_eq!(
            targets,
            vec![Target {
                name: "vocilia/Deployment/api".into(),
                url: "https://api-prod.up.railway.app/healthz".into(),
                expect: Expect::Status(204),
                timeout: Duration::from_secs(1),
                latency_budget: Duration::from_millis(300),
                interval: Duration::from_secs(10),
            }]
        );
        let not_ready = deployment(&READY_API.replace("status: 'True'", "status: 'False'"));
        assert!(collect([&not_ready], [], None).is_empty());
        let no_url = deployment(&READY_API.replace(", url: api-prod.up.railway.app", ""));
        assert!(collect([&no_url], [], None).is_empty());
    }

    // Protects: `--health-check-via` reaches monitoring too, in the reconciler's own form.
    #[test]
    fn via_routes_probes_like_release_checks() {
        let ready = deployment(READY_API);
        let t = collect([&ready], [], Some("http://127.0.0.1:4005"));
        assert_eq!(
            t[0].url,
            "http://127.0.0.1:4005/api-prod.up.railway.app/healthz"
        );
    }

    // Protects: only Domains with an endpoint are probed, over HTTPS at its port and path,
    // accepting any non-error status.
    #[test]
    fn domains_with_an_endpoint_are_probed_over_https() {
        let with: Domain = crate::yaml::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Domain\nmetadata: {name: app, namespace: vocilia}\nspec:\n  hostname: app.vocilia.com\n  environmentRef: {name: production}\n  target: {records: [{type: A, values: [192.0.2.1]}]}\n  endpoint: {path: /status, port: 8443}\n",
        )
        .unwrap();
        let mut without = with.clone();
        without.spec.endpoint = None;
        without.metadata.name = Some("plain".into());
        let t = collect([], [&with, &without], None);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].name, "vocilia/Domain/app");
        assert_eq!(t[0].url, "https://app.vocilia.com:8443/status");
        assert_eq!(t[0].expect, Expect::BelowFourHundred);
    }
}
