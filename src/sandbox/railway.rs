//! The Railway public API simulator: `POST /graphql/v2`, a real GraphQL schema (async-graphql)
//! with the subset of Railway's schema in `providers.md` — project/environment/service lookup,
//! service instances, deployments with `DeploymentStatus` (`QUEUED → BUILDING → DEPLOYING →
//! SUCCESS | FAILED`; the previous `SUCCESS` becomes `REMOVED`), redeploy and rollback,
//! variables (upsert, collection upsert with `replace`, delete; writes redeploy unless
//! `skipDeploys`), service domains and custom domains with their DNS-record status.
//!
//! Auth: `Authorization: Bearer <account token>` or `Project-Access-Token: <project token>`;
//! anything else makes each root field fail with `Not Authorized` (HTTP 200, GraphQL `errors`).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Instant,
};

use async_graphql::{Context, EmptySubscription, Enum, InputObject, Object, Schema, SimpleObject};
use axum::{
    Json, Router,
    body::Bytes,
    extract::State as AxState,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    AppTarget, Common, Fixtures, Phase, Snapshot, Tokens, World, assemble,
    faults::{Dialect, Faults, RateInfo, bearer, lock, x_ratelimit},
};

type GqlResult<T> = async_graphql::Result<T>;

/// `EnvironmentVariables`: a JSON object of name → value.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EnvironmentVariables(BTreeMap<String, String>);
async_graphql::scalar!(EnvironmentVariables, "EnvironmentVariables");

/// `DateTime`: RFC 3339.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GqlDateTime(String);
async_graphql::scalar!(GqlDateTime, "DateTime");

/// `DeploymentMeta`: opaque JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeploymentMeta(Value);
async_graphql::scalar!(DeploymentMeta, "DeploymentMeta");

fn dt(t: DateTime<Utc>) -> GqlDateTime {
    GqlDateTime(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum DeploymentStatus {
    Building,
    Crashed,
    Deploying,
    Failed,
    Initializing,
    NeedsApproval,
    Queued,
    Removed,
    Removing,
    Skipped,
    Sleeping,
    Success,
    Waiting,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServiceDomainSyncStatus {
    Active,
    Creating,
    Deleted,
    Deleting,
    Unspecified,
    Updating,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CustomDomainSyncStatus {
    Active,
    Creating,
    Deleted,
    Deleting,
    Unspecified,
    Updating,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "DNSRecordType")]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum DnsRecordType {
    DnsRecordTypeA,
    DnsRecordTypeCname,
    DnsRecordTypeNs,
    DnsRecordTypeTxt,
    DnsRecordTypeUnspecified,
    Unrecognized,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "DNSRecordStatus")]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum DnsRecordStatus {
    DnsRecordStatusPropagated,
    DnsRecordStatusRequiresUpdate,
    DnsRecordStatusUnspecified,
    Unrecognized,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "DNSRecordPurpose")]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum DnsRecordPurpose {
    DnsRecordPurposeTrafficRoute,
    DnsRecordPurposeAcmeDns01Challenge,
    DnsRecordPurposeUnspecified,
    Unrecognized,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum CertificateStatus {
    CertificateStatusTypeIssueFailed,
    CertificateStatusTypeIssuing,
    CertificateStatusTypeUnspecified,
    CertificateStatusTypeValid,
    CertificateStatusTypeValidatingOwnership,
    Unrecognized,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // Railway's own value names
pub enum CertificateStatusDetailed {
    CertificateStatusTypeDetailedCleaningUp,
    CertificateStatusTypeDetailedComplete,
    CertificateStatusTypeDetailedCreatingOrder,
    CertificateStatusTypeDetailedDownloadingCertificate,
    CertificateStatusTypeDetailedFailed,
    CertificateStatusTypeDetailedFetchingAuthorizations,
    CertificateStatusTypeDetailedFinalizingOrder,
    CertificateStatusTypeDetailedGeneratingKeys,
    CertificateStatusTypeDetailedInitiatingChallenges,
    CertificateStatusTypeDetailedPollingAuthorizations,
    CertificateStatusTypeDetailedPresentingChallenges,
    CertificateStatusTypeDetailedUnspecified,
    Unrecognized,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

/// Relay-style connection types, one pair per node type (as Railway names them).
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        #[derive(SimpleObject, Clone, Debug)]
        pub struct $edge {
            cursor: String,
            node: $node,
        }
        #[derive(SimpleObject, Clone, Debug)]
        pub struct $conn {
            edges: Vec<$edge>,
            page_info: PageInfo,
        }
        impl $conn {
            fn page(nodes: Vec<$node>, first: Option<i32>, after: Option<String>) -> Self {
                let start = after
                    .and_then(|a| nodes.iter().position(|n| n.id == a).map(|i| i + 1))
                    .unwrap_or(0);
                let take = first.map_or(usize::MAX, |f| usize::try_from(f).unwrap_or(0));
                let total = nodes.len();
                let edges: Vec<$edge> = nodes
                    .into_iter()
                    .skip(start)
                    .take(take)
                    .map(|node| $edge {
                        cursor: node.id.clone(),
                        node,
                    })
                    .collect();
                Self {
                    page_info: PageInfo {
                        has_next_page: start + edges.len() < total,
                        has_previous_page: start > 0,
                        start_cursor: edges.first().map(|e| e.cursor.clone()),
                        end_cursor: edges.last().map(|e| e.cursor.clone()),
                    },
                    edges,
                }
            }
        }
    };
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Environment {
    id: String,
    name: String,
    project_id: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Service {
    id: String,
    name: String,
    project_id: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Deployment {
    id: String,
    status: DeploymentStatus,
    created_at: GqlDateTime,
    status_updated_at: Option<GqlDateTime>,
    url: Option<String>,
    static_url: Option<String>,
    meta: Option<DeploymentMeta>,
    can_rollback: bool,
    can_redeploy: bool,
    service_id: Option<String>,
    environment_id: String,
    project_id: String,
}

connection!(
    ProjectEnvironmentsConnection,
    ProjectEnvironmentsConnectionEdge,
    Environment
);
connection!(
    ProjectServicesConnection,
    ProjectServicesConnectionEdge,
    Service
);
connection!(
    QueryEnvironmentsConnection,
    QueryEnvironmentsConnectionEdge,
    Environment
);
connection!(
    QueryDeploymentsConnection,
    QueryDeploymentsConnectionEdge,
    Deployment
);
connection!(
    QueryProjectsConnection,
    QueryProjectsConnectionEdge,
    Project
);

#[derive(SimpleObject, Clone, Debug)]
pub struct Project {
    id: String,
    name: String,
    workspace_id: Option<String>,
    created_at: GqlDateTime,
    environments: ProjectEnvironmentsConnection,
    services: ProjectServicesConnection,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ServiceSource {
    repo: Option<String>,
    image: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ServiceDomain {
    id: String,
    domain: String,
    suffix: Option<String>,
    target_port: Option<i32>,
    sync_status: ServiceDomainSyncStatus,
    environment_id: String,
    service_id: String,
    project_id: Option<String>,
    created_at: GqlDateTime,
    updated_at: GqlDateTime,
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "DNSRecords")]
pub struct DnsRecords {
    record_type: DnsRecordType,
    hostlabel: String,
    fqdn: String,
    zone: String,
    required_value: String,
    current_value: String,
    status: DnsRecordStatus,
    purpose: DnsRecordPurpose,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CertificatePublicData {
    domain_names: Vec<String>,
    expires_at: GqlDateTime,
    issued_at: GqlDateTime,
    fingerprint_sha256: String,
    key_type: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CustomDomainStatus {
    dns_records: Vec<DnsRecords>,
    verified: bool,
    verification_dns_host: Option<String>,
    verification_token: Option<String>,
    certificate_status: CertificateStatus,
    certificate_status_detailed: Option<CertificateStatusDetailed>,
    certificate_error_message: Option<String>,
    certificate_retryable: Option<bool>,
    certificates: Option<Vec<CertificatePublicData>>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct CustomDomain {
    id: String,
    domain: String,
    target_port: Option<i32>,
    sync_status: CustomDomainSyncStatus,
    status: CustomDomainStatus,
    environment_id: String,
    service_id: String,
    project_id: Option<String>,
    created_at: GqlDateTime,
    updated_at: GqlDateTime,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct AllDomains {
    service_domains: Vec<ServiceDomain>,
    custom_domains: Vec<CustomDomain>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ServiceInstance {
    id: String,
    service_id: String,
    service_name: String,
    environment_id: String,
    source: Option<ServiceSource>,
    latest_deployment: Option<Deployment>,
    active_deployments: Vec<Deployment>,
    domains: AllDomains,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ProjectToken {
    project_id: String,
    environment_id: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct User {
    id: String,
    email: String,
    name: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct DomainAvailable {
    available: bool,
    message: String,
}

#[derive(InputObject, Default)]
pub struct DeploymentStatusInput {
    #[graphql(name = "in")]
    in_: Option<Vec<DeploymentStatus>>,
    not_in: Option<Vec<DeploymentStatus>>,
}

#[derive(InputObject, Default)]
pub struct DeploymentListInput {
    project_id: Option<String>,
    environment_id: Option<String>,
    service_id: Option<String>,
    include_deleted: Option<bool>,
    status: Option<DeploymentStatusInput>,
}

#[derive(InputObject)]
pub struct VariableUpsertInput {
    project_id: String,
    environment_id: String,
    service_id: Option<String>,
    name: String,
    value: String,
    #[graphql(default = false)]
    skip_deploys: bool,
}

#[derive(InputObject)]
pub struct VariableCollectionUpsertInput {
    project_id: String,
    environment_id: String,
    service_id: Option<String>,
    variables: EnvironmentVariables,
    #[graphql(default = false)]
    replace: bool,
    #[graphql(default = false)]
    skip_deploys: bool,
}

#[derive(InputObject)]
pub struct VariableDeleteInput {
    project_id: String,
    environment_id: String,
    service_id: Option<String>,
    name: String,
}

#[derive(InputObject)]
pub struct ServiceDomainCreateInput {
    environment_id: String,
    service_id: String,
    target_port: Option<i32>,
}

#[derive(InputObject)]
pub struct CustomDomainCreateInput {
    project_id: String,
    environment_id: String,
    service_id: String,
    domain: String,
    target_port: Option<i32>,
}

// ---- state ------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize)]
struct ProjectRow {
    id: String,
    name: String,
    workspace_id: String,
    created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize)]
struct DepRow {
    id: String,
    project_id: String,
    env_id: String,
    service_id: String,
    status: DeploymentStatus,
    succeeded: bool,
    /// Removed with `deploymentRemove`: listed only with `includeDeleted: true`.
    deleted: bool,
    created_at: DateTime<Utc>,
    status_updated_at: DateTime<Utc>,
    static_url: String,
    meta: Value,
}

#[derive(Clone, Debug, Serialize)]
struct ServiceDomainRow {
    id: String,
    domain: String,
    env_id: String,
    service_id: String,
    project_id: String,
    target_port: Option<i32>,
    created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize)]
struct CustomDomainRow {
    id: String,
    domain: String,
    env_id: String,
    service_id: String,
    project_id: String,
    target_port: Option<i32>,
    #[serde(skip)]
    created: Option<Instant>,
    created_at: DateTime<Utc>,
    required_value: String,
    verification_token: String,
    fingerprint: String,
}

#[derive(Default)]
struct Inner {
    projects: Vec<ProjectRow>,
    environments: Vec<Environment>,
    services: Vec<Service>,
    deployments: Vec<DepRow>,
    variables: HashMap<(String, Option<String>), BTreeMap<String, String>>,
    service_domains: Vec<ServiceDomainRow>,
    custom_domains: Vec<CustomDomainRow>,
}

/// The simulator's state.
pub struct State {
    common: Common,
    tokens: Tokens,
    inner: Mutex<Inner>,
}

impl State {
    pub(crate) fn new(common: Common, fixtures: &Fixtures, tokens: Tokens) -> Self {
        let project_id = common.uuid();
        let mut inner = Inner {
            projects: vec![ProjectRow {
                id: project_id.clone(),
                name: fixtures.railway_project.clone(),
                workspace_id: common.uuid(),
                created_at: Utc::now() - ChronoDuration::days(30),
            }],
            ..Inner::default()
        };
        for name in &fixtures.railway_environments {
            inner.environments.push(Environment {
                id: common.uuid(),
                name: name.clone(),
                project_id: project_id.clone(),
            });
        }
        for name in &fixtures.railway_services {
            inner.services.push(Service {
                id: common.uuid(),
                name: name.clone(),
                project_id: project_id.clone(),
            });
        }
        Self {
            common,
            tokens,
            inner: Mutex::new(inner),
        }
    }

    fn advance(&self, id: &str, phase: Phase) -> bool {
        let mut inner = lock(&self.inner);
        let Some(i) = inner.deployments.iter().position(|d| d.id == id) else {
            return false;
        };
        if matches!(
            inner.deployments[i].status,
            DeploymentStatus::Removed | DeploymentStatus::Removing
        ) {
            return false;
        }
        let now = Utc::now();
        let status = match phase {
            Phase::Building => DeploymentStatus::Building,
            Phase::Deploying => DeploymentStatus::Deploying,
            Phase::Failed => DeploymentStatus::Failed,
            Phase::Ready => DeploymentStatus::Success,
        };
        if status == DeploymentStatus::Success {
            let (env, svc) = (
                inner.deployments[i].env_id.clone(),
                inner.deployments[i].service_id.clone(),
            );
            for d in inner.deployments.iter_mut() {
                if d.env_id == env
                    && d.service_id == svc
                    && d.id != id
                    && matches!(
                        d.status,
                        DeploymentStatus::Success | DeploymentStatus::Sleeping
                    )
                {
                    d.status = DeploymentStatus::Removed;
                    d.status_updated_at = now;
                }
            }
            inner.deployments[i].succeeded = true;
        }
        inner.deployments[i].status = status;
        inner.deployments[i].status_updated_at = now;
        true
    }

    /// Start a deployment of a service instance; returns its id.
    fn deploy(self: &Arc<Self>, env_id: &str, service_id: &str, meta: Value) -> GqlResult<String> {
        let fate = self.common.faults.build_fate();
        let id = self.common.uuid();
        let hex = self.common.hex(6);
        let mut inner = lock(&self.inner);
        let env = inner
            .environments
            .iter()
            .find(|e| e.id == env_id)
            .cloned()
            .ok_or("Environment not found")?;
        let svc = inner
            .services
            .iter()
            .find(|s| s.id == service_id && s.project_id == env.project_id)
            .cloned()
            .ok_or("Service not found")?;
        let now = Utc::now();
        inner.deployments.push(DepRow {
            id: id.clone(),
            project_id: env.project_id.clone(),
            env_id: env.id.clone(),
            service_id: svc.id.clone(),
            status: DeploymentStatus::Queued,
            succeeded: false,
            deleted: false,
            created_at: now,
            status_updated_at: now,
            static_url: format!("{}-{}-{hex}.up.railway.app", svc.name, env.name),
            meta,
        });
        drop(inner);
        let state = self.clone();
        let dep = id.clone();
        self.common
            .pipeline(fate, move |phase| state.advance(&dep, phase));
        Ok(id)
    }

    /// Redeploy every service of `env_id` (or one service) that has been deployed before.
    fn redeploy_after_variables(self: &Arc<Self>, env_id: &str, service: Option<&str>) {
        let targets: Vec<(String, Value)> = {
            let inner = lock(&self.inner);
            let mut seen: Vec<String> = Vec::new();
            let mut out = Vec::new();
            for d in inner.deployments.iter().rev() {
                if d.env_id == env_id
                    && service.is_none_or(|s| s == d.service_id)
                    && !seen.contains(&d.service_id)
                {
                    seen.push(d.service_id.clone());
                    out.push((d.service_id.clone(), d.meta.clone()));
                }
            }
            out
        };
        for (svc, meta) in targets {
            let _ = self.deploy(env_id, &svc, meta);
        }
    }

    /// Resolve a hostname served by Railway (service domain, custom domain, static URL).
    pub(crate) fn app(&self, host: &str) -> Option<AppTarget> {
        let inner = lock(&self.inner);
        if let Some(d) = inner.deployments.iter().find(|d| d.static_url == host) {
            return Some(AppTarget {
                deployment: d.id.clone(),
                ready: d.status == DeploymentStatus::Success,
            });
        }
        let (env, svc) = inner
            .service_domains
            .iter()
            .find(|d| d.domain == host)
            .map(|d| (d.env_id.clone(), d.service_id.clone()))
            .or_else(|| {
                inner
                    .custom_domains
                    .iter()
                    .find(|d| d.domain == host)
                    .map(|d| (d.env_id.clone(), d.service_id.clone()))
            })?;
        let active = inner.deployments.iter().rev().find(|d| {
            d.env_id == env && d.service_id == svc && d.status == DeploymentStatus::Success
        });
        Some(match active {
            Some(d) => AppTarget {
                deployment: d.id.clone(),
                ready: true,
            },
            None => AppTarget {
                deployment: String::new(),
                ready: false,
            },
        })
    }
}

impl Snapshot for State {
    fn snapshot(&self) -> Value {
        let inner = lock(&self.inner);
        json!({
            "projects": inner.projects,
            "environments": inner.environments.iter().map(|e| json!({"id": e.id, "name": e.name, "projectId": e.project_id})).collect::<Vec<_>>(),
            "services": inner.services.iter().map(|s| json!({"id": s.id, "name": s.name, "projectId": s.project_id})).collect::<Vec<_>>(),
            "deployments": inner.deployments,
            "serviceDomains": inner.service_domains,
            "customDomains": inner.custom_domains,
        })
    }
}

fn deployment(inner: &Inner, d: &DepRow) -> Deployment {
    let latest_success = inner
        .deployments
        .iter()
        .rev()
        .find(|x| {
            x.env_id == d.env_id
                && x.service_id == d.service_id
                && x.status == DeploymentStatus::Success
        })
        .map(|x| x.id.as_str());
    let url = inner
        .service_domains
        .iter()
        .find(|s| s.env_id == d.env_id && s.service_id == d.service_id)
        .map(|s| s.domain.clone());
    Deployment {
        id: d.id.clone(),
        status: d.status,
        created_at: dt(d.created_at),
        status_updated_at: Some(dt(d.status_updated_at)),
        url,
        static_url: Some(d.static_url.clone()),
        meta: Some(DeploymentMeta(d.meta.clone())),
        can_rollback: d.succeeded && latest_success != Some(d.id.as_str()),
        can_redeploy: !matches!(
            d.status,
            DeploymentStatus::Queued
                | DeploymentStatus::Building
                | DeploymentStatus::Deploying
                | DeploymentStatus::Initializing
        ),
        service_id: Some(d.service_id.clone()),
        environment_id: d.env_id.clone(),
        project_id: d.project_id.clone(),
    }
}

fn project(inner: &Inner, p: &ProjectRow) -> Project {
    Project {
        id: p.id.clone(),
        name: p.name.clone(),
        workspace_id: Some(p.workspace_id.clone()),
        created_at: dt(p.created_at),
        environments: ProjectEnvironmentsConnection::page(
            inner
                .environments
                .iter()
                .filter(|e| e.project_id == p.id)
                .cloned()
                .collect(),
            None,
            None,
        ),
        services: ProjectServicesConnection::page(
            inner
                .services
                .iter()
                .filter(|s| s.project_id == p.id)
                .cloned()
                .collect(),
            None,
            None,
        ),
    }
}

fn service_domain(d: &ServiceDomainRow) -> ServiceDomain {
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

fn custom_domain(s: &State, d: &CustomDomainRow) -> CustomDomain {
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

/// Replace `${{NAME}}`, `${{shared.NAME}}` and `${{service.NAME}}` references.
fn render(inner: &Inner, env: &str, service: Option<&str>, value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let reference = after[..end].trim();
        let (scope, name) = match reference.split_once('.') {
            Some(("shared", n)) => (None, n),
            Some((svc, n)) => (
                inner
                    .services
                    .iter()
                    .find(|s| s.name == svc)
                    .map(|s| s.id.as_str()),
                n,
            ),
            None => (service, reference),
        };
        let key = (env.to_string(), scope.map(str::to_string));
        if let Some(v) = inner.variables.get(&key).and_then(|m| m.get(name)) {
            out.push_str(v);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

// ---- auth -------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Auth {
    Account,
    Project,
    None,
}

fn need(ctx: &Context<'_>) -> GqlResult<Arc<State>> {
    match ctx.data::<Auth>()? {
        Auth::None => Err("Not Authorized".into()),
        Auth::Account | Auth::Project => Ok(ctx.data::<Arc<State>>()?.clone()),
    }
}

// ---- resolvers --------------------------------------------------------------------------

/// The query root.
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<User> {
        need(ctx)?;
        match ctx.data::<Auth>()? {
            Auth::Account => Ok(User {
                id: "sandbox-user".into(),
                email: "sandbox@example.com".into(),
                name: Some("Sandbox".into()),
            }),
            _ => Err("Not Authorized".into()),
        }
    }

    async fn project_token(&self, ctx: &Context<'_>) -> GqlResult<ProjectToken> {
        let s = need(ctx)?;
        if !matches!(ctx.data::<Auth>()?, Auth::Project) {
            return Err("Project Token not found".into());
        }
        let inner = lock(&s.inner);
        let p = inner.projects.first().ok_or("Project Token not found")?;
        let e = inner
            .environments
            .iter()
            .find(|e| e.project_id == p.id)
            .ok_or("Project Token not found")?;
        Ok(ProjectToken {
            project_id: p.id.clone(),
            environment_id: e.id.clone(),
        })
    }

    async fn project(&self, ctx: &Context<'_>, id: String) -> GqlResult<Project> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let p = inner
            .projects
            .iter()
            .find(|p| p.id == id)
            .ok_or("Project not found")?;
        Ok(project(&inner, p))
    }

    async fn projects(
        &self,
        ctx: &Context<'_>,
        workspace_id: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<QueryProjectsConnection> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let nodes = inner
            .projects
            .iter()
            .filter(|p| workspace_id.as_ref().is_none_or(|w| &p.workspace_id == w))
            .map(|p| project(&inner, p))
            .collect();
        Ok(QueryProjectsConnection::page(nodes, first, after))
    }

    async fn environments(
        &self,
        ctx: &Context<'_>,
        project_id: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<QueryEnvironmentsConnection> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let nodes = inner
            .environments
            .iter()
            .filter(|e| e.project_id == project_id)
            .cloned()
            .collect();
        Ok(QueryEnvironmentsConnection::page(nodes, first, after))
    }

    async fn environment(
        &self,
        ctx: &Context<'_>,
        id: String,
        project_id: Option<String>,
    ) -> GqlResult<Environment> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        inner
            .environments
            .iter()
            .find(|e| e.id == id && project_id.as_ref().is_none_or(|p| &e.project_id == p))
            .cloned()
            .ok_or_else(|| "Environment not found".into())
    }

    async fn service(&self, ctx: &Context<'_>, id: String) -> GqlResult<Service> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        inner
            .services
            .iter()
            .find(|x| x.id == id)
            .cloned()
            .ok_or_else(|| "Service not found".into())
    }

    async fn service_instance(
        &self,
        ctx: &Context<'_>,
        environment_id: String,
        service_id: String,
    ) -> GqlResult<ServiceInstance> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let svc = inner
            .services
            .iter()
            .find(|x| x.id == service_id)
            .ok_or("ServiceInstance not found")?;
        if !inner.environments.iter().any(|e| e.id == environment_id) {
            return Err("ServiceInstance not found".into());
        }
        let deps: Vec<&DepRow> = inner
            .deployments
            .iter()
            .filter(|d| d.env_id == environment_id && d.service_id == service_id)
            .collect();
        Ok(ServiceInstance {
            id: format!("{environment_id}:{service_id}"),
            service_id: svc.id.clone(),
            service_name: svc.name.clone(),
            environment_id: environment_id.clone(),
            source: Some(ServiceSource {
                repo: Some(format!("sandbox/{}", svc.name)),
                image: None,
            }),
            latest_deployment: deps.last().map(|d| deployment(&inner, d)),
            active_deployments: deps
                .iter()
                .filter(|d| d.status == DeploymentStatus::Success)
                .map(|d| deployment(&inner, d))
                .collect(),
            domains: domains_of(&s, &inner, &environment_id, &service_id),
        })
    }

    async fn deployments(
        &self,
        ctx: &Context<'_>,
        input: DeploymentListInput,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<QueryDeploymentsConnection> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let status = input.status.unwrap_or_default();
        let nodes = inner
            .deployments
            .iter()
            .rev()
            .filter(|d| input.project_id.as_ref().is_none_or(|p| &d.project_id == p))
            .filter(|d| input.environment_id.as_ref().is_none_or(|e| &d.env_id == e))
            .filter(|d| input.service_id.as_ref().is_none_or(|x| &d.service_id == x))
            .filter(|d| input.include_deleted == Some(true) || !d.deleted)
            .filter(|d| status.in_.as_ref().is_none_or(|i| i.contains(&d.status)))
            .filter(|d| {
                status
                    .not_in
                    .as_ref()
                    .is_none_or(|i| !i.contains(&d.status))
            })
            .map(|d| deployment(&inner, d))
            .collect();
        Ok(QueryDeploymentsConnection::page(nodes, first, after))
    }

    async fn deployment(&self, ctx: &Context<'_>, id: String) -> GqlResult<Deployment> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let d = inner
            .deployments
            .iter()
            .find(|d| d.id == id)
            .ok_or("Deployment not found")?;
        Ok(deployment(&inner, d))
    }

    async fn variables(
        &self,
        ctx: &Context<'_>,
        project_id: String,
        environment_id: String,
        service_id: Option<String>,
        unrendered: Option<bool>,
    ) -> GqlResult<EnvironmentVariables> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        if !inner
            .environments
            .iter()
            .any(|e| e.id == environment_id && e.project_id == project_id)
        {
            return Err("Environment not found".into());
        }
        let vars = inner
            .variables
            .get(&(environment_id.clone(), service_id.clone()))
            .cloned()
            .unwrap_or_default();
        if unrendered == Some(true) {
            return Ok(EnvironmentVariables(vars));
        }
        Ok(EnvironmentVariables(
            vars.into_iter()
                .map(|(k, v)| {
                    let r = render(&inner, &environment_id, service_id.as_deref(), &v);
                    (k, r)
                })
                .collect(),
        ))
    }

    async fn variables_for_service_deployment(
        &self,
        ctx: &Context<'_>,
        project_id: String,
        environment_id: String,
        service_id: String,
    ) -> GqlResult<EnvironmentVariables> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        if !inner
            .environments
            .iter()
            .any(|e| e.id == environment_id && e.project_id == project_id)
        {
            return Err("Environment not found".into());
        }
        let mut out = BTreeMap::new();
        for scope in [None, Some(service_id.clone())] {
            if let Some(m) = inner.variables.get(&(environment_id.clone(), scope)) {
                for (k, v) in m {
                    out.insert(
                        k.clone(),
                        render(&inner, &environment_id, Some(&service_id), v),
                    );
                }
            }
        }
        Ok(EnvironmentVariables(out))
    }

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

fn domains_of(s: &State, inner: &Inner, env: &str, svc: &str) -> AllDomains {
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

/// The mutation root.
pub struct MutationRoot;

#[Object]
impl MutationRoot {
    async fn service_instance_deploy_v2(
        &self,
        ctx: &Context<'_>,
        environment_id: String,
        service_id: String,
        commit_sha: Option<String>,
    ) -> GqlResult<String> {
        let s = need(ctx)?;
        s.deploy(
            &environment_id,
            &service_id,
            json!({"commitHash": commit_sha}),
        )
    }

    async fn service_instance_deploy(
        &self,
        ctx: &Context<'_>,
        environment_id: String,
        service_id: String,
        commit_sha: Option<String>,
        latest_commit: Option<bool>,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        let _ = latest_commit;
        s.deploy(
            &environment_id,
            &service_id,
            json!({"commitHash": commit_sha}),
        )
        .map(|_| true)
    }

    async fn service_instance_redeploy(
        &self,
        ctx: &Context<'_>,
        environment_id: String,
        service_id: String,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        let meta = {
            let inner = lock(&s.inner);
            inner
                .deployments
                .iter()
                .rev()
                .find(|d| d.env_id == environment_id && d.service_id == service_id)
                .map(|d| d.meta.clone())
                .ok_or("No deployment found for this service instance")?
        };
        s.deploy(&environment_id, &service_id, meta).map(|_| true)
    }

    async fn deployment_redeploy(
        &self,
        ctx: &Context<'_>,
        id: String,
        use_previous_image_tag: Option<bool>,
    ) -> GqlResult<Deployment> {
        let s = need(ctx)?;
        let _ = use_previous_image_tag;
        let (env, svc, meta) = {
            let inner = lock(&s.inner);
            let d = inner
                .deployments
                .iter()
                .find(|d| d.id == id)
                .ok_or("Deployment not found")?;
            (d.env_id.clone(), d.service_id.clone(), d.meta.clone())
        };
        let new = s.deploy(&env, &svc, meta)?;
        let inner = lock(&s.inner);
        let d = inner
            .deployments
            .iter()
            .find(|d| d.id == new)
            .ok_or("Deployment not found")?;
        Ok(deployment(&inner, d))
    }

    async fn deployment_rollback(&self, ctx: &Context<'_>, id: String) -> GqlResult<bool> {
        let s = need(ctx)?;
        let (env, svc, meta) = {
            let inner = lock(&s.inner);
            let d = inner
                .deployments
                .iter()
                .find(|d| d.id == id)
                .ok_or("Deployment not found")?;
            if !deployment(&inner, d).can_rollback {
                return Err("Deployment cannot be rolled back".into());
            }
            let mut meta = d.meta.clone();
            if let Some(m) = meta.as_object_mut() {
                m.insert("rollbackFrom".into(), id.clone().into());
            }
            (d.env_id.clone(), d.service_id.clone(), meta)
        };
        s.deploy(&env, &svc, meta).map(|_| true)
    }

    async fn deployment_cancel(&self, ctx: &Context<'_>, id: String) -> GqlResult<bool> {
        let s = need(ctx)?;
        let mut inner = lock(&s.inner);
        let d = inner
            .deployments
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or("Deployment not found")?;
        if !matches!(
            d.status,
            DeploymentStatus::Queued
                | DeploymentStatus::Building
                | DeploymentStatus::Deploying
                | DeploymentStatus::Initializing
                | DeploymentStatus::Waiting
        ) {
            return Err("Deployment is not in progress".into());
        }
        d.status = DeploymentStatus::Removed;
        d.status_updated_at = Utc::now();
        Ok(true)
    }

    async fn deployment_remove(&self, ctx: &Context<'_>, id: String) -> GqlResult<bool> {
        let s = need(ctx)?;
        let mut inner = lock(&s.inner);
        let d = inner
            .deployments
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or("Deployment not found")?;
        d.status = DeploymentStatus::Removed;
        d.deleted = true;
        d.status_updated_at = Utc::now();
        Ok(true)
    }

    async fn variable_upsert(
        &self,
        ctx: &Context<'_>,
        input: VariableUpsertInput,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        check_scope(
            &s,
            &input.project_id,
            &input.environment_id,
            input.service_id.as_deref(),
        )?;
        lock(&s.inner)
            .variables
            .entry((input.environment_id.clone(), input.service_id.clone()))
            .or_default()
            .insert(input.name, input.value);
        if !input.skip_deploys {
            s.redeploy_after_variables(&input.environment_id, input.service_id.as_deref());
        }
        Ok(true)
    }

    async fn variable_collection_upsert(
        &self,
        ctx: &Context<'_>,
        input: VariableCollectionUpsertInput,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        check_scope(
            &s,
            &input.project_id,
            &input.environment_id,
            input.service_id.as_deref(),
        )?;
        {
            let mut inner = lock(&s.inner);
            let vars = inner
                .variables
                .entry((input.environment_id.clone(), input.service_id.clone()))
                .or_default();
            if input.replace {
                vars.clear();
            }
            vars.extend(input.variables.0);
        }
        if !input.skip_deploys {
            s.redeploy_after_variables(&input.environment_id, input.service_id.as_deref());
        }
        Ok(true)
    }

    async fn variable_delete(
        &self,
        ctx: &Context<'_>,
        input: VariableDeleteInput,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        check_scope(
            &s,
            &input.project_id,
            &input.environment_id,
            input.service_id.as_deref(),
        )?;
        let removed = lock(&s.inner)
            .variables
            .get_mut(&(input.environment_id.clone(), input.service_id.clone()))
            .and_then(|m| m.remove(&input.name));
        if removed.is_none() {
            return Err(format!("Variable {} not found", input.name).into());
        }
        s.redeploy_after_variables(&input.environment_id, input.service_id.as_deref());
        Ok(true)
    }

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

fn check_scope(s: &State, project: &str, env: &str, service: Option<&str>) -> GqlResult<()> {
    let inner = lock(&s.inner);
    if !inner
        .environments
        .iter()
        .any(|e| e.id == env && e.project_id == project)
    {
        return Err("Environment not found".into());
    }
    if let Some(svc) = service
        && !inner
            .services
            .iter()
            .any(|x| x.id == svc && x.project_id == project)
    {
        return Err("Service not found".into());
    }
    Ok(())
}

// ---- HTTP -------------------------------------------------------------------------------

type RailwaySchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

#[derive(Clone)]
struct App {
    schema: RailwaySchema,
    tokens: Tokens,
}

fn gql_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"data": null, "errors": [{"message": message}]})),
    )
        .into_response()
}

struct RailwayDialect;

impl Dialect for RailwayDialect {
    fn authorized(&self, _: &HeaderMap) -> bool {
        // Checked per field, as Railway does: each root field fails with "Not Authorized".
        true
    }
    fn unauthorized(&self, _: &HeaderMap) -> Response {
        gql_error(StatusCode::OK, "Not Authorized")
    }
    fn server_error(&self, status: StatusCode) -> Response {
        gql_error(status, "Internal Server Error")
    }
    fn rate_limited(&self, _: &RateInfo) -> Response {
        gql_error(
            StatusCode::TOO_MANY_REQUESTS,
            "You are being rate limited. Please try again later.",
        )
    }
    fn rate_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        x_ratelimit(headers, info, info.reset_at);
    }
}

async fn graphql(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return gql_error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid JSON request body: {e}"),
            );
        }
    };
    let project_token = headers
        .get("project-access-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let auth = if bearer(&headers) == Some(app.tokens.railway.as_str()) {
        Auth::Account
    } else if project_token == Some(app.tokens.railway_project.as_str()) {
        Auth::Project
    } else {
        Auth::None
    };
    let response = app.schema.execute(request.data(auth)).await;
    Json(response).into_response()
}

pub(crate) fn router(state: Arc<State>, faults: Arc<Faults>, world: &Arc<World>) -> Router {
    let schema = Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(state.clone())
        .limit_depth(32)
        .finish();
    let app = App {
        schema,
        tokens: state.tokens.clone(),
    };
    let api = Router::new()
        .route("/graphql/v2", post(graphql))
        .fallback(|| async { gql_error(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(app);
    assemble(api, Arc::new(RailwayDialect), faults, world, state)
}
