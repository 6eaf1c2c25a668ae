//! Platform certificates: Vercel or Railway issues the certificate for an attached domain;
//! berth only asks the platform how it stands (`CustomDomains::domain(..).certificate`) and
//! reports it. The service is the Domain's target, or its Deployment's service.

use super::{Done, plan::reasons as cert_reasons};
use crate::{
    api::{
        Certificate, Deployment, Domain,
        certificate::{CertificateStatus, Platform},
    },
    controllers::{Outcome, SyncResult, Verdict, conditions::reasons, connect::Connections},
    providers::custom_domains::PlatformCertificate,
};

/// Reads the platform's certificate for the Domain's hostname.
pub(super) async fn run(
    obj: &Certificate,
    provider: Platform,
    domain: Option<&Domain>,
    deployment: Option<&Deployment>,
    connections: &Connections,
    status: CertificateStatus,
) -> Done {
    let (service, hostname) = match target(obj, provider, domain, deployment) {
        Ok(t) => t,
        Err(message) => return Done::stalled(status, reasons::INVALID_SPEC, message),
    };
    let Some(client) = connections.platform_domains(provider) else {
        return Done::stalled(
            status,
            reasons::INVALID_SPEC,
            format!(
                "spec.issuer.platform is {provider:?} but Environment {} binds no {provider:?} (spec.providers)",
                obj.spec.environment_ref.name
            ),
        );
    };
    let found = match client.domain(&service, &hostname).await {
        Ok(d) => d,
        Err(e) => {
            let Outcome { verdict, sync, .. } = Outcome::provider_failed((), &e);
            let mut done = Done::new(status, (verdict, sync));
            done.requeue = e.retry_after();
            return done;
        }
    };
    let verdict = match found.map(|d| d.certificate) {
        None => Verdict::Progressing {
            reason: cert_reasons::PLATFORM_PENDING,
            message: format!("{hostname} is not attached to {provider:?} service {service} yet"),
        },
        Some(PlatformCertificate::Issued) => Verdict::Ready {
            message: format!("{provider:?} issued the certificate for {hostname}"),
        },
        Some(PlatformCertificate::None | PlatformCertificate::Pending) => Verdict::Progressing {
            reason: cert_reasons::PLATFORM_PENDING,
            message: format!("{provider:?} has not issued the certificate for {hostname} yet"),
        },
        Some(PlatformCertificate::Failed(why)) => Verdict::Stalled {
            reason: cert_reasons::PLATFORM_FAILED,
            message: format!("{provider:?} failed to issue the certificate for {hostname}: {why}"),
        },
    };
    let mut done = Done::new(status, (verdict, SyncResult::Succeeded));
    done.check_endpoint = true;
    done
}

/// The platform service and hostname of the Certificate's Domain.
fn target(
    obj: &Certificate,
    provider: Platform,
    domain: Option<&Domain>,
    deployment: Option<&Deployment>,
) -> Result<(String, String), String> {
    let Some(domain) = domain else {
        return Err("spec.issuer.platform needs spec.domainRef: the Domain says which service serves the hostname".into());
    };
    let t = &domain.spec.target;
    let service = match (&t.railway, &t.vercel, deployment) {
        (Some(r), _, _) => (Platform::Railway, r.service_id.clone()),
        (None, Some(v), _) => (Platform::Vercel, v.project.clone()),
        (None, None, Some(d)) => match (&d.spec.service.railway, &d.spec.service.vercel) {
            (Some(r), _) => (Platform::Railway, r.service_id.clone()),
            (None, Some(v)) => (Platform::Vercel, v.project.clone()),
            (None, None) => return Err("the Domain's Deployment names no service".into()),
        },
        (None, None, None) => {
            return Err(format!(
                "Domain {} targets explicit records, not a {provider:?} service",
                obj.spec.domain_ref.as_ref().map_or("", |r| r.name.as_str())
            ));
        }
    };
    if service.0 != provider {
        return Err(format!(
            "spec.issuer.platform is {provider:?} but the Domain's service is on {:?}",
            service.0
        ));
    }
    Ok((service.1, domain.spec.hostname.clone()))
}
