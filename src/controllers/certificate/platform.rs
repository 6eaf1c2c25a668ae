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

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(platform: &str) -> Certificate {
        let spec = crate::yaml::from_str(&format!(
            "environmentRef: {{name: production}}\ndomainRef: {{name: www}}\ndnsNames: [www.example.test]\nissuer: {{platform: {{provider: {platform}}}}}\n"
        ))
        .unwrap();
        Certificate::new("www", spec)
    }

    fn domain(target: &str) -> Domain {
        let spec = crate::yaml::from_str(&format!(
            "hostname: www.example.test\nenvironmentRef: {{name: production}}\ntarget: {target}\n"
        ))
        .unwrap();
        Domain::new("www", spec)
    }

    // Protects: the service comes from the Domain (or its Deployment), and a Domain on the
    // other platform, or with explicit records, is refused with a message naming why.
    #[test]
    fn service_comes_from_the_domain_target() {
        let vercel = domain("{vercel: {project: prj_web}}");
        assert_eq!(
            target(&cert("Vercel"), Platform::Vercel, Some(&vercel), None),
            Ok(("prj_web".into(), "www.example.test".into()))
        );
        let err = target(&cert("Railway"), Platform::Railway, Some(&vercel), None).unwrap_err();
        assert!(err.contains("Vercel"), "{err}");

        let via = domain("{deploymentRef: {name: api}}");
        let deployment: Deployment = Deployment::new(
            "api",
            crate::yaml::from_str(
                "environmentRef: {name: production}\nservice: {railway: {serviceId: svc-1}}\nsource: {repo: o/r, commit: abc}\n",
            )
            .unwrap(),
        );
        assert_eq!(
            target(
                &cert("Railway"),
                Platform::Railway,
                Some(&via),
                Some(&deployment)
            ),
            Ok(("svc-1".into(), "www.example.test".into()))
        );
        let records = domain("{records: [{type: A, values: [192.0.2.1]}]}");
        assert!(target(&cert("Vercel"), Platform::Vercel, Some(&records), None).is_err());
        assert!(target(&cert("Vercel"), Platform::Vercel, None, None).is_err());
    }
}
