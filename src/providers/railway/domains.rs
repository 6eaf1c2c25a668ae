//! [`CustomDomains`] on Railway: `customDomainCreate` attaches a hostname to a service, the
//! service's `domains` query reads it back with its `status` (the DNS records Railway wants,
//! ownership verification, certificate), and `customDomainDelete` detaches it. Railway checks
//! DNS on its own, so verifying is reading the status again.

use super::{PROVIDER, RailwayClient, input, is_duplicate, vars};
use crate::providers::{
    Error, Result,
    custom_domains::{CustomDomains, PlatformCertificate, PlatformDomain, RequiredRecord},
    dns::{RecordType, fqdn},
    models::railway::{
        CertificateStatus, CustomDomain, CustomDomainCreateData, CustomDomainCreateInput,
        CustomDomainStatus, DnsRecordPurpose, DnsRecordType, DnsRecords, DomainsData,
    },
};

/// The custom domain fields every read selects.
macro_rules! domain_fields {
    () => {
        "id domain targetPort syncStatus status { dnsRecords { recordType hostlabel fqdn zone requiredValue currentValue status purpose } verified verificationDnsHost verificationToken certificateStatus certificateErrorMessage }"
    };
}

const DOMAINS: &str = concat!(
    "query domains($projectId: String!, $environmentId: String!, $serviceId: String!) { domains(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) { customDomains { ",
    domain_fields!(),
    " } } }"
);
const CREATE: &str = concat!(
    "mutation createDomain($input: CustomDomainCreateInput!) { customDomainCreate(input: $input) { ",
    domain_fields!(),
    " } }"
);
const DELETE: &str = "mutation deleteDomain($id: String!) { customDomainDelete(id: $id) }";

impl RailwayClient {
    /// The custom domain `hostname` of `service` in this environment, as Railway reports it.
    async fn find_domain(&self, service: &str, hostname: &str) -> Result<Option<CustomDomain>> {
        let variables = vars([
            ("projectId", self.project_id.as_str().into()),
            ("environmentId", self.environment_id.as_str().into()),
            ("serviceId", service.into()),
        ]);
        let data: DomainsData = self.query("read domains", DOMAINS, variables).await?;
        let wanted = normalise(hostname);
        Ok(data
            .domains
            .custom_domains
            .into_iter()
            .find(|d| normalise(&d.domain) == wanted))
    }
}

#[async_trait::async_trait]
impl CustomDomains for RailwayClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn attach(&self, service: &str, hostname: &str) -> Result<PlatformDomain> {
        // Look first: the create is not idempotent, and its duplicate error text unverified.
        if let Some(existing) = self.find_domain(service, hostname).await? {
            tracing::debug!(service, hostname, "custom domain already attached");
            return Ok(platform_domain(existing));
        }
        let operation = "attach custom domain";
        let body = CustomDomainCreateInput {
            project_id: self.project_id.clone(),
            environment_id: self.environment_id.clone(),
            service_id: service.to_owned(),
            domain: normalise(hostname),
            target_port: None,
        };
        let variables = vars([("input", input(operation, &body)?)]);
        match self
            .mutate::<CustomDomainCreateData>(operation, CREATE, variables, false)
            .await
        {
            Ok(created) => {
                tracing::info!(service, hostname, "attached custom domain on Railway");
                Ok(platform_domain(created.custom_domain_create))
            }
            Err(e) if is_duplicate(&e) => {
                // Attached meanwhile by an earlier, unanswered attempt of ours, or elsewhere.
                if let Some(existing) = self.find_domain(service, hostname).await? {
                    return Ok(platform_domain(existing));
                }
                Err(Error::Conflict {
                    provider: PROVIDER,
                    operation,
                    message: format!(
                        "{} is attached to another Railway service or project: {e}",
                        normalise(hostname)
                    ),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn domain(&self, service: &str, hostname: &str) -> Result<Option<PlatformDomain>> {
        Ok(self
            .find_domain(service, hostname)
            .await?
            .map(platform_domain))
    }

    async fn verify(&self, service: &str, hostname: &str) -> Result<PlatformDomain> {
        self.domain(service, hostname)
            .await?
            .ok_or_else(|| Error::NotFound {
                provider: PROVIDER,
                operation: "verify custom domain",
                message: format!(
                    "{} is not attached to service {service}",
                    normalise(hostname)
                ),
            })
    }

    async fn detach(&self, service: &str, hostname: &str) -> Result<bool> {
        let Some(domain) = self.find_domain(service, hostname).await? else {
            return Ok(false);
        };
        // Deleting by id is declarative: a repeat finds it gone.
        match self
            .mutate_ok(
                "detach custom domain",
                DELETE,
                vars([("id", domain.id.as_str().into())]),
                true,
            )
            .await
        {
            Ok(()) => {
                tracing::info!(service, hostname, "detached custom domain on Railway");
                Ok(true)
            }
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Lower-case, no trailing dot.
fn normalise(hostname: &str) -> String {
    hostname.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn platform_domain(d: CustomDomain) -> PlatformDomain {
    let status = d.status.unwrap_or_default();
    PlatformDomain {
        id: Some(d.id),
        hostname: normalise(&d.domain),
        verified: status.dns_ready(),
        required_records: required_records(&status),
        certificate: certificate(&status),
    }
}

/// Every record Railway lists (it keeps listing the routing record once it is in place, and
/// it must stay), plus the ownership TXT record until Railway has seen it.
fn required_records(status: &CustomDomainStatus) -> Vec<RequiredRecord> {
    let zone = status.dns_records.first().map(|r| r.zone.as_str());
    let mut out: Vec<RequiredRecord> = status.dns_records.iter().filter_map(record).collect();
    if !status.verified
        && let (Some(host), Some(token)) = (
            status.verification_dns_host.as_deref(),
            status.verification_token.as_deref(),
        )
    {
        out.push(RequiredRecord {
            name: fqdn(&absolute(host, zone)),
            rtype: RecordType::Txt,
            value: token.to_owned(),
            verification: true,
        });
    }
    out
}

fn record(r: &DnsRecords) -> Option<RequiredRecord> {
    let rtype = match r.record_type {
        DnsRecordType::A => RecordType::A,
        DnsRecordType::Cname => RecordType::Cname,
        DnsRecordType::Ns => RecordType::Ns,
        DnsRecordType::Txt => RecordType::Txt,
        _ => {
            tracing::warn!(record_type = %r.record_type, "skipping a Railway DNS record of unknown type");
            return None;
        }
    };
    let name = if r.fqdn.is_empty() {
        absolute(&r.hostlabel, Some(&r.zone))
    } else {
        r.fqdn.clone()
    };
    let verification = match r.purpose {
        Some(DnsRecordPurpose::TrafficRoute) => false,
        Some(DnsRecordPurpose::AcmeDns01Challenge) => true,
        _ => rtype == RecordType::Txt,
    };
    Some(RequiredRecord {
        name: fqdn(&name),
        rtype,
        value: r.required_value.clone(),
        verification,
    })
}

/// `host` as an absolute name: Railway gives some hosts relative to the zone
/// (`_railway-verify.api`) and others in full; an empty label is the apex.
fn absolute(host: &str, zone: Option<&str>) -> String {
    let host = host.trim_end_matches('.');
    match zone
        .map(|z| z.trim_end_matches('.'))
        .filter(|z| !z.is_empty())
    {
        Some(zone) if host.is_empty() => zone.to_owned(),
        Some(zone) if host == zone || host.ends_with(&format!(".{zone}")) => host.to_owned(),
        Some(zone) => format!("{host}.{zone}"),
        None => host.to_owned(),
    }
}

fn certificate(status: &CustomDomainStatus) -> PlatformCertificate {
    match &status.certificate_status {
        Some(CertificateStatus::Valid) => PlatformCertificate::Issued,
        Some(CertificateStatus::IssueFailed) => PlatformCertificate::Failed(
            status
                .certificate_error_message
                .clone()
                .unwrap_or_else(|| "Railway could not issue the certificate".into()),
        ),
        Some(CertificateStatus::Issuing | CertificateStatus::ValidatingOwnership) => {
            PlatformCertificate::Pending
        }
        Some(CertificateStatus::Unspecified) | None => PlatformCertificate::None,
        Some(CertificateStatus::Unrecognized | CertificateStatus::Unknown(_)) => {
            PlatformCertificate::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::models::railway::{CustomDomainData, decode};

    // A recorded answer: the routing CNAME, the ACME delegation and the ownership TXT (whose
    // host Railway gives relative to the zone) become absolute required records.
    #[test]
    fn recorded_custom_domain_lists_every_required_record() {
        let body = include_bytes!("../../../tests/fixtures/providers/railway/custom_domain.json");
        let data: CustomDomainData = decode(200, body).unwrap();
        let d = platform_domain(data.custom_domain);
        assert_eq!(d.hostname, "api.vocilia.com");
        assert!(!d.verified);
        assert_eq!(d.certificate, PlatformCertificate::Pending);
        let records: Vec<(&str, &RecordType, &str, bool)> = d
            .required_records
            .iter()
            .map(|r| (r.name.as_str(), &r.rtype, r.value.as_str(), r.verification))
            .collect();
        assert_eq!(
            records,
            vec![
                (
                    "api.vocilia.com.",
                    &RecordType::Cname,
                    "k3j9x2pq.up.railway.app",
                    false
                ),
                (
                    "_acme-challenge.api.vocilia.com.",
                    &RecordType::Cname,
                    "api.vocilia.com.authorize.railwaydns.net",
                    true
                ),
                (
                    "_railway-verify.api.vocilia.com.",
                    &RecordType::Txt,
                    "railway-verify=6f1d9c2e8a7b4c3d",
                    true
                ),
            ]
        );
    }

    #[test]
    fn hosts_become_absolute_names() {
        assert_eq!(absolute("", Some("example.com")), "example.com");
        assert_eq!(absolute("api", Some("example.com")), "api.example.com");
        assert_eq!(
            absolute("_railway-verify.api.example.com", Some("example.com")),
            "_railway-verify.api.example.com"
        );
        assert_eq!(absolute("a.b.c", None), "a.b.c");
    }

    #[test]
    fn certificate_states_map_to_platform_words() {
        let with = |s: CertificateStatus, message: Option<&str>| CustomDomainStatus {
            certificate_status: Some(s),
            certificate_error_message: message.map(Into::into),
            ..CustomDomainStatus::default()
        };
        assert_eq!(
            certificate(&with(CertificateStatus::Valid, None)),
            PlatformCertificate::Issued
        );
        assert_eq!(
            certificate(&with(CertificateStatus::IssueFailed, Some("CAA forbids"))),
            PlatformCertificate::Failed("CAA forbids".into())
        );
        assert_eq!(
            certificate(&CustomDomainStatus::default()),
            PlatformCertificate::None
        );
    }
}
