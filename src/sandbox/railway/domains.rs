//! Service domains (`*.up.railway.app`) and custom domains. A custom domain requires a CNAME
//! to its Railway target and an ownership TXT record; it verifies once both exist in the
//! sandbox's public DNS (or after `domain_verify_after`), and only then gets a certificate.

use std::time::Instant;

use async_graphql::{Context, Object};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;

use super::{
    GqlResult, State,
    auth::{check_scope, need},
    domain_types::{
        AllDomains, CertificatePublicData, CertificateStatus, CertificateStatusDetailed,
        CustomDomain, CustomDomainCreateInput, CustomDomainStatus, CustomDomainSyncStatus,
        DnsRecordPurpose, DnsRecordStatus, DnsRecordType, DnsRecords, DomainAvailable,
        ServiceDomain, ServiceDomainCreateInput, ServiceDomainSyncStatus,
    },
    schema::dt,
    state::Inner,
};
use crate::sandbox::faults::lock;

#[derive(Clone, Debug, Serialize)]
pub(super) struct ServiceDomainRow {
    pub(super) id: String,
    pub(super) domain: String,
    pub(super) env_id: String,
    pub(super) service_id: String,
    pub(super) project_id: String,
    pub(super) target_port: Option<i32>,
    pub(super) created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize)]
pub(super) struct CustomDomainRow {
    pub(super) id: String,
    pub(super) domain: String,
    pub(super) env_id: String,
    pub(super) service_id: String,
    pub(super) project_id: String,
    pub(super) target_port: Option<i32>,
    #[serde(skip)]
    pub(super) created: Option<Instant>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) required_value: String,
    pub(super) verification_token: String,
    pub(super) fingerprint: String,
}

pub(super) fn service_domain(d: &ServiceDomainRow) -> ServiceDomain {
    ServiceDomain {
        id: d.id.clone(),
        domain: d.domain.clone(),
        suffix: Some("up.railway.app".into()),
        target_port: d.target_port,
        sync_status: ServiceDomainSyncStatus::Active,
        environment_id: d.env_id.clone(),
        service_id: d.service_id.clone(),
        project_id: Some(d.project_id.clone()),
        created_at: dt(d.created_at),
        updated_at: dt(d.created_at),
    }
}

pub(super) fn custom_domain(s: &State, d: &CustomDomainRow) -> CustomDomain {
    let world = &s.common.world;
    let labels: Vec<&str> = d.domain.split('.').collect();
    let zone = labels[labels.len().saturating_sub(2)..].join(".");
    let hostlabel = d
        .domain
        .strip_suffix(&zone)
        .unwrap_or("")
        .trim_end_matches('.')
        .to_string();
    let propagated = world.exists("CNAME", &d.domain, &d.required_value);
    let verify_host = format!("_railway-verify.{}", d.domain);
    let verified = !s.common.faults.domains_never_verify()
        && (world.exists("TXT", &verify_host, &d.verification_token)
            || d.created
                .is_some_and(|c| world.verified_by_delay(c.elapsed())));
    let valid = verified && propagated;
    let now = Utc::now();
    CustomDomain {
        id: d.id.clone(),
        domain: d.domain.clone(),
        target_port: d.target_port,
        sync_status: if valid {
            CustomDomainSyncStatus::Active
        } else {
            CustomDomainSyncStatus::Creating
        },
        status: CustomDomainStatus {
            dns_records: vec![DnsRecords {
                record_type: DnsRecordType::DnsRecordTypeCname,
                hostlabel,
                fqdn: d.domain.clone(),
                zone,
                required_value: d.required_value.clone(),
                current_value: world.current("CNAME", &d.domain).unwrap_or_default(),
                status: if propagated {
                    DnsRecordStatus::DnsRecordStatusPropagated
                } else {
                    DnsRecordStatus::DnsRecordStatusRequiresUpdate
                },
                purpose: DnsRecordPurpose::DnsRecordPurposeTrafficRoute,
            }],
            verified,
            verification_dns_host: Some(verify_host),
            verification_token: Some(d.verification_token.clone()),
            certificate_status: if valid {
                CertificateStatus::CertificateStatusTypeValid
            } else if verified {
                CertificateStatus::CertificateStatusTypeIssuing
            } else {
                CertificateStatus::CertificateStatusTypeValidatingOwnership
            },
            certificate_status_detailed: Some(if valid {
                CertificateStatusDetailed::CertificateStatusTypeDetailedComplete
            } else if verified {
                CertificateStatusDetailed::CertificateStatusTypeDetailedPresentingChallenges
            } else {
                CertificateStatusDetailed::CertificateStatusTypeDetailedUnspecified
            }),
            certificate_error_message: None,
            certificate_retryable: None,
            certificates: valid.then(|| {
                vec![CertificatePublicData {
                    domain_names: vec![d.domain.clone()],
                    expires_at: dt(now + ChronoDuration::days(90)),
                    issued_at: dt(now),
                    fingerprint_sha256: d.fingerprint.clone(),
                    key_type: "KEY_TYPE_ECDSA".into(),
                }]
            }),
        },
        environment_id: d.env_id.clone(),
        service_id: d.service_id.clone(),
        project_id: Some(d.project_id.clone()),
        created_at: dt(d.created_at),
        updated_at: dt(d.created_at),
    }
}

pub(super) fn domains_of(s: &State, inner: &Inner, env: &str, svc: &str) -> AllDomains {
    AllDomains {
        service_domains: inner
            .service_domains
            .iter()
            .filter(|d| d.env_id == env && d.service_id == svc)
            .map(service_domain)
            .collect(),
        custom_domains: inner
            .custom_domains
            .iter()
            .filter(|d| d.env_id == env && d.service_id == svc)
            .map(|d| custom_domain(s, d))
            .collect(),
    }
}

/// `domains`, `customDomain` and `customDomainAvailable`.
#[derive(Default)]
pub struct DomainQueries;

#[Object]
impl DomainQueries {
    async fn domains(
        &self,
        ctx: &Context<'_>,
        project_id: String,
        environment_id: String,
        service_id: String,
    ) -> GqlResult<AllDomains> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        if !inner.projects.iter().any(|p| p.id == project_id) {
            return Err("Project not found".into());
        }
        Ok(domains_of(&s, &inner, &environment_id, &service_id))
    }

    async fn custom_domain(
        &self,
        ctx: &Context<'_>,
        id: String,
        project_id: String,
    ) -> GqlResult<CustomDomain> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let d = inner
            .custom_domains
            .iter()
            .find(|d| d.id == id && d.project_id == project_id)
            .ok_or("Custom domain not found")?;
        Ok(custom_domain(&s, d))
    }

    async fn custom_domain_available(
        &self,
        ctx: &Context<'_>,
        domain: String,
    ) -> GqlResult<DomainAvailable> {
        let s = need(ctx)?;
        let taken = lock(&s.inner)
            .custom_domains
            .iter()
            .any(|d| d.domain == domain);
        Ok(DomainAvailable {
            available: !taken,
            message: if taken {
                "Domain is already in use".into()
            } else {
                String::new()
            },
        })
    }
}

/// Creating and deleting service and custom domains.
#[derive(Default)]
pub struct DomainMutations;

#[Object]
impl DomainMutations {
    async fn service_domain_create(
        &self,
        ctx: &Context<'_>,
        input: ServiceDomainCreateInput,
    ) -> GqlResult<ServiceDomain> {
        let s = need(ctx)?;
        let id = s.common.uuid();
        let hex = s.common.hex(4);
        let mut inner = lock(&s.inner);
        let env = inner
            .environments
            .iter()
            .find(|e| e.id == input.environment_id)
            .cloned()
            .ok_or("Environment not found")?;
        let svc = inner
            .services
            .iter()
            .find(|x| x.id == input.service_id)
            .cloned()
            .ok_or("Service not found")?;
        let row = ServiceDomainRow {
            id,
            domain: format!("{}-{}-{hex}.up.railway.app", svc.name, env.name),
            env_id: env.id,
            service_id: svc.id,
            project_id: env.project_id,
            target_port: input.target_port,
            created_at: Utc::now(),
        };
        let out = service_domain(&row);
        inner.service_domains.push(row);
        Ok(out)
    }

    async fn service_domain_delete(&self, ctx: &Context<'_>, id: String) -> GqlResult<bool> {
        let s = need(ctx)?;
        let mut inner = lock(&s.inner);
        let before = inner.service_domains.len();
        inner.service_domains.retain(|d| d.id != id);
        if inner.service_domains.len() == before {
            return Err("Service domain not found".into());
        }
        Ok(true)
    }

    async fn custom_domain_create(
        &self,
        ctx: &Context<'_>,
        input: CustomDomainCreateInput,
    ) -> GqlResult<CustomDomain> {
        let s = need(ctx)?;
        check_scope(
            &s,
            &input.project_id,
            &input.environment_id,
            Some(&input.service_id),
        )?;
        let domain = input.domain.trim_end_matches('.').to_ascii_lowercase();
        if !domain.contains('.') {
            return Err("Invalid domain".into());
        }
        let row = CustomDomainRow {
            id: s.common.uuid(),
            domain: domain.clone(),
            env_id: input.environment_id,
            service_id: input.service_id,
            project_id: input.project_id,
            target_port: input.target_port,
            created: Some(Instant::now()),
            created_at: Utc::now(),
            required_value: format!(
                "{}.up.railway.app",
                s.common.random(b"abcdefghijklmnopqrstuvwxyz0123456789", 8)
            ),
            verification_token: format!("railway-verify={}", s.common.hex(32)),
            fingerprint: s.common.hex(64),
        };
        let mut inner = lock(&s.inner);
        if inner.custom_domains.iter().any(|d| d.domain == domain) {
            return Err("Domain is already in use".into());
        }
        let out = custom_domain(&s, &row);
        inner.custom_domains.push(row);
        Ok(out)
    }

    async fn custom_domain_delete(&self, ctx: &Context<'_>, id: String) -> GqlResult<bool> {
        let s = need(ctx)?;
        let mut inner = lock(&s.inner);
        let before = inner.custom_domains.len();
        inner.custom_domains.retain(|d| d.id != id);
        if inner.custom_domains.len() == before {
            return Err("Custom domain not found".into());
        }
        Ok(true)
    }
}
