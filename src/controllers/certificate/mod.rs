//! Certificate reconciler: ACME certificates issued through DNS-01 in the environment's zone
//! and renewed before expiry, or platform certificates (Vercel, Railway) read and reported;
//! for both, a real TLS handshake with the live endpoint records what it serves.
//!
//! ```text
//! observe: Environment, Domain, Secrets ──► acme:     plan (pure) ──► order / resume / hold
//!          (missing → Blocked)                         └► Secret replaced by a whole new pair
//!                                         └► platform: the platform's word on its certificate
//!                                     ──► endpoint check (TLS handshake) ──► conditions
//! ```
//! Besides the runtime's four conditions it writes `Issuing` (an order in progress, or the
//! ACME problem of the last failure) and `ExpiringSoon` (expiry within the warning window).

mod acme;
mod issue;
mod plan;
mod platform;
mod secrets;
mod tls_check;
mod x509;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use kube::{
    ResourceExt,
    runtime::{Controller, events::EventType},
};

use super::{
    Context, Error, Outcome, Reconciler, SyncResult, Verdict,
    conditions::{Desired, reasons},
    connect::{Connections, Credentials},
    deps,
    runtime::publish,
};
use crate::api::{
    Certificate, Deployment, Domain, Environment,
    certificate::{CertificateStatus, ServedCertificate},
};

/// How long an endpoint check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// How soon an order in progress is looked at again.
const ORDER_POLL: Duration = Duration::from_secs(2);

impl Reconciler for Certificate {
    const ALERT_CONDITIONS: &'static [&'static str] = &[plan::types::EXPIRING_SOON];

    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        let now = Utc::now();
        let status = obj.status.clone().unwrap_or_default();

        // Observe (I/O): the Environment, the Domain (and its Deployment), the CA bundle and
        // the bound providers' credentials; missing ones block, all named at once.
        let mut deps = ctx.dependencies(obj.as_ref());
        let env = deps
            .object::<Environment>(&obj.spec.environment_ref.name)
            .await?;
        let domain = match &obj.spec.domain_ref {
            Some(d) => deps.object::<Domain>(&d.name).await?,
            None => None,
        };
        let deployment = match domain
            .as_ref()
            .filter(|_| obj.spec.issuer.platform.is_some())
            .and_then(|d| d.spec.target.deployment_ref.as_ref())
        {
            Some(r) => deps.object::<Deployment>(&r.name).await?,
            None => None,
        };
        let ca_bundle = match obj
            .spec
            .issuer
            .acme
            .as_ref()
            .and_then(|a| a.ca_bundle_secret_ref.as_ref())
        {
            Some(r) => deps.secret_key(r).await?,
            None => None,
        };
        let credentials = match &env {
            Some(e) => Credentials::resolve(&e.spec.providers, &mut deps).await?,
            None => Credentials::default(),
        };
        let missing = deps.missing();
        let Some(env) = env.filter(|_| missing.is_empty()) else {
            return Ok(Outcome::of(
                status,
                Verdict::blocked(deps::waiting_for(&missing)),
            ));
        };
        let connections = match Connections::new(&ctx.providers, &env.spec.providers, &credentials)
        {
            Ok(c) => c,
            Err(e) => return Ok(Outcome::provider_failed(status, &e)),
        };

        // Plan and act per issuer.
        let mut done = match (&obj.spec.issuer.acme, &obj.spec.issuer.platform) {
            (Some(acme), _) => {
                issue::Acme {
                    ctx: &ctx,
                    obj: &obj,
                    acme,
                    env: &env,
                    connections: &connections,
                    ca_bundle: ca_bundle.as_ref().map(|s| s.expose()),
                }
                .run(status, now)
                .await?
            }
            (None, Some(p)) => {
                platform::run(
                    &obj,
                    p.provider,
                    domain.as_ref(),
                    deployment.as_ref(),
                    &connections,
                    status,
                )
                .await
            }
            (None, None) => Done::stalled(
                status,
                reasons::INVALID_SPEC,
                "spec.issuer: set exactly one of acme or platform".into(),
            ),
        };

        // The endpoint check, unless an order is mid-flight (its result would be stale).
        if done.check_endpoint {
            endpoint_check(&obj, &mut done, now).await;
        }
        Ok(finish(&ctx, &obj, done, now).await)
    }

    async fn cleanup(obj: Arc<Self>, ctx: Arc<Context>) -> Result<(), Error> {
        if obj.spec.deletion_policy == crate::api::common::DeletionPolicy::Orphan
            || obj.spec.issuer.acme.is_none()
        {
            return Ok(());
        }
        let Some(name) = &obj.spec.secret_name else {
            return Ok(());
        };
        let secrets = secrets::Secrets::new(ctx.client.clone(), &obj);
        let deleted = secrets
            .delete_tls(name)
            .await
            .map_err(|source| Error::Read {
                what: format!("Secret {name} (delete)"),
                source,
            })?;
        tracing::info!(certificate = %obj.name_any(), secret = %name, deleted, "cleaned up");
        Ok(())
    }
}

/// What an issuer step concluded, before the endpoint check and the conditions.
pub(crate) struct Done {
    status: CertificateStatus,
    verdict: (Verdict, SyncResult),
    /// The kind's own conditions besides `ExpiringSoon`.
    conditions: Vec<Desired>,
    /// What berth expects the endpoint to serve (ACME: the Secret's certificate).
    expected: Option<x509::CertInfo>,
    /// Run the endpoint check this reconcile.
    check_endpoint: bool,
    requeue: Option<Duration>,
    /// Events to publish: (type, reason, note).
    events: Vec<(EventType, &'static str, String)>,
}

impl Done {
    fn new(status: CertificateStatus, verdict: (Verdict, SyncResult)) -> Self {
        Self {
            status,
            verdict,
            conditions: Vec::new(),
            expected: None,
            check_endpoint: false,
            requeue: None,
            events: Vec::new(),
        }
    }

    fn stalled(status: CertificateStatus, reason: &'static str, message: String) -> Self {
        Self::new(status, Verdict::stalled(reason, message))
    }
}

/// Handshakes with the endpoint and records what it served, whether it is what berth
/// expects, and the expiry warning.
async fn endpoint_check(obj: &Certificate, done: &mut Done, now: DateTime<Utc>) {
    let Some(check) = &obj.spec.endpoint_check else {
        return;
    };
    let sni = sni_name(&obj.spec.dns_names);
    let host = check.host.clone().unwrap_or_else(|| sni.clone());
    let port = u16::try_from(check.port).unwrap_or(443);
    let mut served = ServedCertificate {
        check_time: Some(now.to_rfc3339()),
        ..ServedCertificate::default()
    };
    match tls_check::served(&host, port, &sni, CHECK_TIMEOUT).await {
        Ok(cert) => {
            let matches = match &done.expected {
                Some(expected) => expected.serial == cert.serial,
                None => plan::covers(&cert, &obj.spec.dns_names, now),
            };
            served.issuer = Some(cert.issuer.clone());
            served.serial_number = Some(cert.serial.clone());
            served.not_after = Some(cert.not_after.to_rfc3339());
            served.matches = Some(matches);
            let was = done.status.served.as_ref().and_then(|s| s.matches);
            if !matches && was != Some(false) {
                done.events.push((
                    EventType::Warning,
                    "ServedCertificateMismatch",
                    format!(
                        "{host}:{port} serves certificate {} from {} (valid until {}), not the expected one",
                        cert.serial,
                        cert.issuer,
                        cert.not_after.to_rfc3339()
                    ),
                ));
            }
            if obj.spec.issuer.platform.is_some() {
                // The platform's certificate is known only by what the endpoint serves.
                done.status.not_before = Some(cert.not_before.to_rfc3339());
                done.status.not_after = Some(cert.not_after.to_rfc3339());
                done.status.serial_number = Some(cert.serial.clone());
                done.status.issuer = Some(cert.issuer.clone());
            }
        }
        Err(e) => {
            tracing::info!(certificate = %obj.name_any(), error = %super::runtime::error_chain(&e), "endpoint check failed");
            served.message = Some(super::runtime::error_chain(&e));
        }
    }
    done.status.served = Some(served);
}

/// The name to ask for in the handshake: the first name that is not a wildcard, or a label
/// under the first wildcard.
fn sni_name(names: &[String]) -> String {
    names
        .iter()
        .find(|n| !n.starts_with("*."))
        .cloned()
        .or_else(|| {
            names
                .first()
                .map(|n| format!("berth-check.{}", n.trim_start_matches("*.")))
        })
        .unwrap_or_default()
}

/// Adds the expiry condition, publishes Events, and builds the outcome.
async fn finish(
    ctx: &Context,
    obj: &Certificate,
    done: Done,
    now: DateTime<Utc>,
) -> Outcome<CertificateStatus> {
    let Done {
        status,
        verdict,
        mut conditions,
        expected: _,
        check_endpoint: _,
        requeue,
        events,
    } = done;
    let window = obj
        .spec
        .endpoint_check
        .as_ref()
        .and_then(|c| crate::api::common::parse_duration(&c.warning_window))
        .unwrap_or(plan::DEFAULT_WARNING);
    let served_expiry = status
        .served
        .as_ref()
        .and_then(|s| s.not_after.as_deref())
        .and_then(parse_time)
        .map(|t| (t, "the served certificate"));
    let stored_expiry = status
        .not_after
        .as_deref()
        .and_then(parse_time)
        .map(|t| (t, "the certificate"));
    if let Some((expiry, what)) = served_expiry.or(stored_expiry) {
        conditions.push(plan::expiry_condition(expiry, what, window, now));
    }
    for (type_, reason, note) in events {
        publish(ctx, obj, type_, reason, &note).await;
    }
    Outcome {
        requeue,
        conditions,
        ..Outcome::of(status, verdict)
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Dependency watches: the Environment, the Domain, the CA bundle Secret and the TLS Secret.
pub(super) fn wire(c: Controller<Certificate>, ctx: &Context) -> Controller<Certificate> {
    let c = deps::watch_refs(c, ctx.watch_api::<Environment>(), |x: &Certificate, env| {
        x.spec.environment_ref.name == env
    });
    let c = deps::watch_refs(c, ctx.watch_api::<Domain>(), |x: &Certificate, d| {
        x.spec.domain_ref.as_ref().is_some_and(|r| r.name == d)
    });
    deps::watch_refs(c, deps::secrets(ctx), |x: &Certificate, name| {
        x.spec.secret_name.as_deref() == Some(name)
            || x.spec
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

    // Protects: the handshake asks for a concrete name even when every name is a wildcard.
    #[test]
    fn sni_prefers_a_concrete_name() {
        assert_eq!(
            sni_name(&["*.example.test".into(), "api.example.test".into()]),
            "api.example.test"
        );
        assert_eq!(
            sni_name(&["*.example.test".into()]),
            "berth-check.example.test"
        );
    }
}
