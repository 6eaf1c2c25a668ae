//! Railway's public GraphQL API (`backboard.railway.com/graphql/v2`): the request envelope,
//! the `{data, errors}` response envelope, deployments, variables, custom and service domains
//! and service instances. Field names are the schema's (camelCase).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Secret;
use super::decode::{Body, DecodeError, Provider, Rejection};

mod domain_status;
mod input;

pub use domain_status::{
    CdnProvider, Certificate, CertificateErrorType, CertificateStatus, CertificateStatusDetailed,
    CustomDomainStatus, DnsRecordPurpose, DnsRecordStatus, DnsRecordType, DnsRecords,
};
pub use input::{
    CustomDomainCreateInput, DeploymentListInput, DeploymentStatusInput,
    VariableCollectionUpsertInput, VariableDeleteInput, VariableUpsertInput,
};

/// A GraphQL request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphqlRequest {
    /// The query or mutation document.
    pub query: String,
    /// The variables, by name.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// Which operation of the document to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
}

/// The GraphQL response envelope.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GraphqlResponse<T> {
    /// The data, `null` when the whole operation failed.
    pub data: Option<T>,
    /// The errors, absent on success.
    #[serde(default)]
    pub errors: Vec<GraphqlError>,
}

/// One GraphQL error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphqlError {
    /// What went wrong (`Not Authorized`, `Project Token not found`, …).
    #[serde(default)]
    pub message: String,
    /// The response path the error belongs to.
    #[serde(default)]
    pub path: Vec<PathSegment>,
    /// Where in the document.
    #[serde(default)]
    pub locations: Vec<Location>,
    /// Provider extras (`code`, `workspaceName`, …).
    #[serde(default)]
    pub extensions: Map<String, Value>,
}

/// A path element: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathSegment {
    /// A list index.
    Index(u64),
    /// A field name.
    Field(String),
}

/// A position in the GraphQL document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

/// Decodes a GraphQL response: any `errors` become [`DecodeError::Rejected`], a `null`
/// `data` [`DecodeError::Missing`].
///
/// # Errors
/// A typed [`DecodeError`] for empty, non-JSON, mis-shaped or error responses.
pub fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, DecodeError> {
    decode_body(&Body::new(Provider::Railway, status, body))
}

/// [`decode`] for `variables` queries: excerpts hide every value, since they are secrets.
///
/// # Errors
/// As [`decode`].
pub fn decode_variables(status: u16, body: &[u8]) -> Result<VariablesData, DecodeError> {
    decode_body(&Body::new(Provider::Railway, status, body).mask_all())
}

fn decode_body<T: DeserializeOwned>(body: &Body<'_>) -> Result<T, DecodeError> {
    let value = match body.json::<GraphqlResponse<T>>() {
        Ok(value) => value,
        Err(_) if !body.is_success() => return Err(body.unexpected_status()),
        Err(e) => return Err(e),
    };
    let envelope: GraphqlResponse<Value> = match body.typed(value) {
        Ok(envelope) => envelope,
        Err(_) if !body.is_success() => return Err(body.unexpected_status()),
        Err(e) => return Err(e),
    };
    if !envelope.errors.is_empty() {
        return Err(body.rejected(Rejection::Railway(envelope.errors)));
    }
    if !body.is_success() {
        return Err(body.unexpected_status());
    }
    match envelope.data {
        Some(Value::Null) | None => Err(body.missing::<T>()),
        Some(data) => body.typed(data),
    }
}

/// A Relay connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    /// The edges, in the server's order.
    #[serde(default = "Vec::new")]
    pub edges: Vec<Edge<T>>,
    /// Paging state, when selected.
    #[serde(default)]
    pub page_info: Option<PageInfo>,
}

impl<T> Connection<T> {
    /// The nodes, in order.
    pub fn nodes(&self) -> impl Iterator<Item = &T> {
        self.edges.iter().map(|edge| &edge.node)
    }
}

/// One edge of a connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Edge<T> {
    /// The edge's cursor, when selected.
    #[serde(default)]
    pub cursor: Option<String>,
    /// The node.
    pub node: T,
}

/// Relay paging state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// More after `end_cursor`.
    #[serde(default)]
    pub has_next_page: bool,
    /// More before `start_cursor`.
    #[serde(default)]
    pub has_previous_page: bool,
    /// The first edge's cursor.
    #[serde(default)]
    pub start_cursor: Option<String>,
    /// The last edge's cursor.
    #[serde(default)]
    pub end_cursor: Option<String>,
}

string_enum! {
    /// `DeploymentStatus`.
    pub enum DeploymentStatus {
        Building = "BUILDING",
        Crashed = "CRASHED",
        Deploying = "DEPLOYING",
        Failed = "FAILED",
        Initializing = "INITIALIZING",
        NeedsApproval = "NEEDS_APPROVAL",
        Queued = "QUEUED",
        Removed = "REMOVED",
        Removing = "REMOVING",
        Skipped = "SKIPPED",
        Sleeping = "SLEEPING",
        Success = "SUCCESS",
        Waiting = "WAITING",
    }
}

impl DeploymentStatus {
    /// Still on its way (queued, building, deploying, awaiting approval, removing).
    #[must_use]
    pub fn is_in_progress(&self) -> bool {
        matches!(
            self,
            Self::Queued
                | Self::Waiting
                | Self::Initializing
                | Self::Building
                | Self::Deploying
                | Self::NeedsApproval
                | Self::Removing
        )
    }
}

string_enum! {
    /// `DeploymentInstanceStatus`.
    pub enum DeploymentInstanceStatus {
        Crashed = "CRASHED",
        Created = "CREATED",
        Exited = "EXITED",
        Initializing = "INITIALIZING",
        Removed = "REMOVED",
        Removing = "REMOVING",
        Restarting = "RESTARTING",
        Running = "RUNNING",
        Skipped = "SKIPPED",
        Stopped = "STOPPED",
    }
}

/// A deployment (only `id` and `status` are always selected).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// The deployment id.
    pub id: String,
    /// Its status.
    pub status: DeploymentStatus,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When `status` last changed.
    #[serde(default)]
    pub status_updated_at: Option<DateTime<Utc>>,
    /// Its URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Its static URL.
    #[serde(default)]
    pub static_url: Option<String>,
    /// Opaque metadata (commit hash, branch, …).
    #[serde(default)]
    pub meta: Option<Value>,
    /// Whether `deploymentRollback` accepts it.
    #[serde(default)]
    pub can_rollback: Option<bool>,
    /// Whether `deploymentRedeploy` accepts it.
    #[serde(default)]
    pub can_redeploy: Option<bool>,
    /// The service.
    #[serde(default)]
    pub service_id: Option<String>,
    /// The environment.
    #[serde(default)]
    pub environment_id: Option<String>,
    /// Per-instance state, when selected.
    #[serde(default)]
    pub instances: Vec<DeploymentInstance>,
}

/// One running instance of a deployment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInstance {
    /// The instance id, when selected.
    #[serde(default)]
    pub id: Option<String>,
    /// Its status.
    pub status: DeploymentInstanceStatus,
}

/// `data` of `deployments(input:, first:)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeploymentsData {
    /// The connection.
    pub deployments: Connection<Deployment>,
}

/// `data` of `deployment(id:)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeploymentData {
    /// The deployment.
    pub deployment: Deployment,
}

/// `data` of `serviceInstanceDeployV2`: the new deployment's id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployV2Data {
    /// The deployment id to poll.
    pub service_instance_deploy_v2: String,
}

/// `data` of `variables(...)`: the `EnvironmentVariables` map.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VariablesData {
    /// Name → value.
    pub variables: BTreeMap<String, Secret>,
}

string_enum! {
    /// `CustomDomainSyncStatus` / `ServiceDomainSyncStatus`.
    pub enum SyncStatus {
        Active = "ACTIVE",
        Creating = "CREATING",
        Deleted = "DELETED",
        Deleting = "DELETING",
        Unspecified = "UNSPECIFIED",
        Updating = "UPDATING",
    }
}

/// A `*.up.railway.app` domain.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDomain {
    /// The id.
    pub id: String,
    /// The full domain.
    pub domain: String,
    /// The suffix (`up.railway.app`).
    #[serde(default)]
    pub suffix: Option<String>,
    /// The port traffic goes to.
    #[serde(default)]
    pub target_port: Option<u16>,
    /// Sync state.
    #[serde(default)]
    pub sync_status: Option<SyncStatus>,
}

/// A custom domain.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomain {
    /// The id.
    pub id: String,
    /// The domain.
    pub domain: String,
    /// The port traffic goes to.
    #[serde(default)]
    pub target_port: Option<u16>,
    /// Sync state.
    #[serde(default)]
    pub sync_status: Option<SyncStatus>,
    /// DNS, verification and certificate state, when selected.
    #[serde(default)]
    pub status: Option<CustomDomainStatus>,
}

/// `data` of `customDomain(id:, projectId:)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomainData {
    /// The domain.
    pub custom_domain: CustomDomain,
}

/// `data` of `customDomainCreate(input:)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomainCreateData {
    /// The new domain.
    pub custom_domain_create: CustomDomain,
}

/// The `domains` of a service instance (or of `domains(...)`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domains {
    /// Railway-provided domains.
    #[serde(default)]
    pub service_domains: Vec<ServiceDomain>,
    /// Custom domains.
    #[serde(default)]
    pub custom_domains: Vec<CustomDomain>,
}

/// A service instance (a service in one environment).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInstance {
    /// The id.
    pub id: String,
    /// The service's name.
    #[serde(default)]
    pub service_name: Option<String>,
    /// Where it builds from.
    #[serde(default)]
    pub source: Option<ServiceSource>,
    /// The latest deployment (the reliable "latest").
    #[serde(default)]
    pub latest_deployment: Option<Deployment>,
    /// Deployments currently serving.
    #[serde(default)]
    pub active_deployments: Vec<Deployment>,
    /// Its domains.
    #[serde(default)]
    pub domains: Option<Domains>,
}

/// A service's source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ServiceSource {
    /// `owner/repo`, for git sources.
    #[serde(default)]
    pub repo: Option<String>,
    /// The image, for image sources.
    #[serde(default)]
    pub image: Option<String>,
}

/// `data` of `serviceInstance(environmentId:, serviceId:)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInstanceData {
    /// The instance.
    pub service_instance: ServiceInstance,
}

/// `data` of `domains(projectId:, environmentId:, serviceId:)`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DomainsData {
    /// The service's domains.
    pub domains: Domains,
}

/// One build or deployment log line (`Log`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Log {
    /// The line.
    #[serde(default)]
    pub message: String,
    /// `info`, `error`, … (value set unverified, kept as text).
    #[serde(default)]
    pub severity: Option<String>,
    /// When it was written.
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
}

/// `data` of `buildLogs(deploymentId:, limit:)`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildLogsData {
    /// Oldest first.
    #[serde(default)]
    pub build_logs: Vec<Log>,
}
