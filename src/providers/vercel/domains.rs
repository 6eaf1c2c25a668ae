//! Vercel project domains behind [`CustomDomains`]: attach, read, verify and detach, with the
//! records the domain needs: the `verification[]` TXT challenge while unverified, and the
//! routing record from the domain's DNS configuration (a CNAME below an apex, A records at
//! one). A domain counts as verified once Vercel both owns the challenge and sees the routing
//! record (`misconfigured: false`), since `verified` alone can be true while DNS is wrong.

use super::{PROVIDER, VercelClient, segment};
use crate::providers::{
    Error, Result,
    custom_domains::{CustomDomains, PlatformCertificate, PlatformDomain, RequiredRecord},
    dns::{RecordType, fqdn},
    http::Call,
    models::vercel::{AddDomainRequest, DomainConfig, ProjectDomain},
};

#[async_trait::async_trait]
impl CustomDomains for VercelClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn attach(&self, service: &str, hostname: &str) -> Result<PlatformDomain> {
        let name = host(hostname);
        let body = AddDomainRequest {
            name: name.clone(),
            git_branch: None,
            custom_environment_id: None,
            redirect: None,
            redirect_status_code: None,
        };
        let call = Call::post(
            "attach domain",
            format!("/v10/projects/{}/domains", segment(service)),
        )
        .json_from(PROVIDER, &body)?;
        let domain = match self.fetch::<ProjectDomain>(call).await {
            Ok(domain) => {
                tracing::info!(project = service, domain = %name, "attached domain");
                domain
            }
            // "Already in use": ours if this project has it, else another project's.
            Err(conflict @ Error::Conflict { .. }) => {
                match self.read_domain(service, &name).await? {
                    Some(domain) => {
                        tracing::debug!(project = service, domain = %name, "domain already attached");
                        domain
                    }
                    None => return Err(conflict),
                }
            }
            Err(e) => return Err(e),
        };
        self.platform_domain(service, domain).await
    }

    async fn domain(&self, service: &str, hostname: &str) -> Result<Option<PlatformDomain>> {
        match self.read_domain(service, &host(hostname)).await? {
            Some(domain) => Ok(Some(self.platform_domain(service, domain).await?)),
            None => Ok(None),
        }
    }

    async fn verify(&self, service: &str, hostname: &str) -> Result<PlatformDomain> {
        let name = host(hostname);
        let path = format!(
            "/v9/projects/{}/domains/{}/verify",
            segment(service),
            segment(&name)
        );
        // Asking Vercel to look again changes nothing but the verdict: safe to repeat.
        let call = Call::post("verify domain", path).idempotent(true);
        let domain = match self.fetch::<ProjectDomain>(call).await {
            Ok(domain) => domain,
            // A failed check is a 4xx naming the missing record; the domain as it stands
            // (unverified, with its challenge) is the answer.
            Err(Error::Invalid { message, .. }) => {
                tracing::debug!(project = service, domain = %name, %message, "domain not verified yet");
                self.read_domain(service, &name)
                    .await?
                    .ok_or_else(|| Error::NotFound {
                        provider: PROVIDER,
                        operation: "verify domain",
                        message: format!("{name} is not attached to {service}"),
                    })?
            }
            Err(e) => return Err(e),
        };
        self.platform_domain(service, domain).await
    }

    async fn detach(&self, service: &str, hostname: &str) -> Result<bool> {
        let name = host(hostname);
        let path = format!(
            "/v9/projects/{}/domains/{}",
            segment(service),
            segment(&name)
        );
        match self.send(Call::delete("detach domain", path)).await {
            Ok(_) => {
                tracing::info!(project = service, domain = %name, "detached domain");
                Ok(true)
            }
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl VercelClient {
    /// The project's domain `name`, or `None` when the project does not have it.
    async fn read_domain(&self, service: &str, name: &str) -> Result<Option<ProjectDomain>> {
        let path = format!(
            "/v9/projects/{}/domains/{}",
            segment(service),
            segment(name)
        );
        match self.fetch(Call::get("get domain", path)).await {
            Ok(domain) => Ok(Some(domain)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The domain in neutral words, with the routing record its DNS configuration asks for.
    async fn platform_domain(
        &self,
        service: &str,
        domain: ProjectDomain,
    ) -> Result<PlatformDomain> {
        let path = format!("/v6/domains/{}/config", segment(&domain.name));
        let call = Call::get("get domain config", path).query("projectIdOrName", service);
        let config: DomainConfig = self.fetch(call).await?;
        Ok(platform_domain(domain, &config))
    }
}

fn platform_domain(domain: ProjectDomain, config: &DomainConfig) -> PlatformDomain {
    let mut required: Vec<RequiredRecord> = domain
        .verification
        .iter()
        .map(|v| RequiredRecord {
            name: fqdn(&v.domain),
            rtype: RecordType::parse(&v.kind),
            value: v.value.clone(),
            verification: true,
        })
        .collect();
    required.extend(routing_records(&domain, config));
    let verified = domain.verified && !config.misconfigured;
    PlatformDomain {
        id: None,
        hostname: domain.name,
        verified,
        required_records: required,
        // Vercel issues the certificate itself once the domain is verified and routed; the
        // Certificate reconciler checks what is actually served.
        certificate: if verified {
            PlatformCertificate::Issued
        } else {
            PlatformCertificate::None
        },
    }
}

/// A CNAME to the best-ranked target below an apex; A records to the best-ranked addresses
/// at one (an apex cannot hold a CNAME).
fn routing_records(domain: &ProjectDomain, config: &DomainConfig) -> Vec<RequiredRecord> {
    let name = fqdn(&domain.name);
    let record = |rtype: RecordType, value: &str| RequiredRecord {
        name: name.clone(),
        rtype,
        value: value.trim_end_matches('.').to_owned(),
        verification: false,
    };
    let apex = domain.apex_name.is_empty() || host(&domain.apex_name) == host(&domain.name);
    if apex {
        config
            .recommended_ipv4
            .iter()
            .min_by_key(|r| r.rank)
            .map(|r| r.value.iter().map(|ip| record(RecordType::A, ip)).collect())
            .unwrap_or_default()
    } else {
        config
            .recommended_cname
            .iter()
            .min_by_key(|r| r.rank)
            .map(|r| vec![record(RecordType::Cname, &r.value)])
            .unwrap_or_default()
    }
}

/// Lower-case, no trailing dot, as Vercel names domains.
fn host(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config() -> DomainConfig {
        serde_json::from_value(json!({
            "configuredBy": null, "misconfigured": true,
            "recommendedIPv4": [{"rank": 2, "value": ["192.0.2.9"]}, {"rank": 1, "value": ["76.76.21.21"]}],
            "recommendedCNAME": [{"rank": 1, "value": "cname.vercel-dns.com."}]
        }))
        .unwrap()
    }

    // A subdomain needs its TXT challenge and a CNAME; an apex needs A records instead.
    #[test]
    fn required_records_follow_the_challenge_and_the_apex() {
        let sub: ProjectDomain = serde_json::from_value(json!({
            "name": "app.example.com", "apexName": "example.com", "verified": false,
            "verification": [{"type": "TXT", "domain": "_vercel.example.com",
                              "value": "vc-domain-verify=app.example.com,abc", "reason": "pending"}]
        }))
        .unwrap();
        let d = platform_domain(sub, &config());
        assert!(!d.verified);
        assert_eq!(d.certificate, PlatformCertificate::None);
        assert_eq!(
            d.required_records,
            [
                RequiredRecord {
                    name: "_vercel.example.com.".into(),
                    rtype: RecordType::Txt,
                    value: "vc-domain-verify=app.example.com,abc".into(),
                    verification: true,
                },
                RequiredRecord {
                    name: "app.example.com.".into(),
                    rtype: RecordType::Cname,
                    value: "cname.vercel-dns.com".into(),
                    verification: false,
                },
            ]
        );
        let apex: ProjectDomain = serde_json::from_value(json!({
            "name": "example.com", "apexName": "example.com", "verified": true
        }))
        .unwrap();
        let d = platform_domain(apex, &config());
        assert!(
            !d.verified,
            "verified by Vercel, but DNS is still misconfigured"
        );
        assert_eq!(d.required_records.len(), 1);
        assert_eq!(d.required_records[0].rtype, RecordType::A);
        assert_eq!(d.required_records[0].value, "76.76.21.21");
    }
}
