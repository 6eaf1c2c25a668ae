//! `Domain`: a hostname attached to a platform target, with its DNS records in the
//! environment's zone.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{CommonStatus, DeletionPolicy, HOSTNAME_PATTERN, LocalRef, ManagementPolicy};

/// A custom hostname for a service, with the DNS records and platform verification it needs.
// Each `printcolumn(...)` repeats `type_ = ...`; clippy reads those as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "berth.dev",
    version = "v1alpha1",
    kind = "Domain",
    namespaced,
    status = "DomainStatus",
    shortname = "bdom",
    category = "berth",
    doc = "A Domain attaches a hostname to a Railway service, a Vercel project or explicit records, and keeps its DNS records in the environment's zone.",
    printcolumn(name = "Hostname", type_ = "string", json_path = ".spec.hostname"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Verified",
        type_ = "string",
        json_path = ".status.verification.state"
    ),
    printcolumn(
        name = "Propagated",
        type_ = "string",
        json_path = ".status.propagation.state",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct DomainSpec {
    /// Fully qualified hostname, lower case, without a trailing dot (e.g. `api.vocilia.com`).
    /// It must lie inside the environment's DNS zone.
    #[schemars(pattern(HOSTNAME_PATTERN), length(min = 1, max = 253))]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.hostname is immutable; create a new Domain instead"))]
    pub hostname: String,
    /// The Environment whose DNS zone and platform bindings are used.
    pub environment_ref: LocalRef,
    /// What the hostname points at: exactly one of `deploymentRef`, `railway`, `vercel` or `records`.
    pub target: DomainTarget,
    /// TTL of the records berth writes, in seconds (60–86400, default 300).
    #[serde(default = "default_ttl")]
    #[schemars(range(min = 60, max = 86400))]
    pub ttl: i32,
    /// Check the live endpoint over HTTPS (for monitoring and certificate checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<DomainEndpoint>,
    /// Stop all provider writes for this domain.
    #[serde(default)]
    pub suspend: bool,
    /// `Delete` (default) detaches the domain and removes berth's records on deletion; `Orphan` leaves them.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// `Manage` (default) writes records; `Observe` only reports what exists.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

fn default_ttl() -> i32 {
    300
}

/// The target of a domain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("[has(self.deploymentRef), has(self.railway), has(self.vercel), has(self.records)].filter(x, x).size() == 1").message("spec.target: set exactly one of deploymentRef, railway, vercel or records"))]
pub struct DomainTarget {
    /// A berth Deployment; its service (Railway or Vercel) is the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_ref: Option<LocalRef>,
    /// A Railway service id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub railway: Option<super::deployment::RailwayService>,
    /// A Vercel project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vercel: Option<super::deployment::VercelProject>,
    /// Explicit records, with no platform attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20))]
    pub records: Option<Vec<RecordSpec>>,
}

/// DNS record types berth writes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    AAAA,
    /// Alias to another name (not at a zone apex).
    CNAME,
    /// Text.
    TXT,
    /// Certification authority authorisation.
    CAA,
}

/// An explicit record at the domain's hostname.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.type != 'CNAME' || self.values.size() == 1").message("spec.target.records[]: a CNAME takes exactly one value"))]
#[x_kube(validation = kube::core::Rule::new("self.type != 'A' || self.values.all(v, v.matches('^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$'))").message("spec.target.records[].values: an A record takes IPv4 addresses"))]
pub struct RecordSpec {
    /// Record type.
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// Record values (addresses, a target name, text).
    #[schemars(length(min = 1, max = 16), inner(length(min = 1, max = 1024)))]
    pub values: Vec<String>,
}

/// Endpoint checking for a domain.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainEndpoint {
    /// Path requested over HTTPS (default `/`).
    #[serde(default = "default_path")]
    #[schemars(pattern(r"^/[^\s]*$"), length(max = 2048))]
    pub path: String,
    /// TLS port (default 443).
    #[serde(default = "default_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
}

fn default_path() -> String {
    "/".into()
}
fn default_port() -> i32 {
    443
}

/// A record as berth manages it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordStatus {
    /// Fully qualified name.
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub record_type: String,
    /// Values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// `Present`, `Pending`, `Conflict` (a record berth does not own is in the way) or
    /// `OutsideZone` (the platform asks for a name the environment's zone does not hold).
    pub state: String,
    /// Whether the platform asked for it to prove ownership (kept once written, so a
    /// verified domain does not lose the proof the platform may check again).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verification: bool,
    /// Detail, e.g. the foreign record in the way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A check's state and when it last ran.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckState {
    /// `Pending`, `True` or `False`.
    pub state: String,
    /// Detail, e.g. which name server still answers the old value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When last checked (RFC 3339); a check that keeps passing keeps the time it first passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check_time: Option<String>,
    /// Checks so far that did not succeed; the wait before the next one doubles with each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i32>,
    /// When the next check is due (RFC 3339), while the state is `Pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check_time: Option<String>,
}

/// Observed state of a Domain.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainStatus {
    /// Generation, conditions and the handled reconcile request.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// The records berth manages for this hostname.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<RecordStatus>,
    /// Platform verification of the hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<CheckState>,
    /// Whether the zone's name servers answer with the records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation: Option<CheckState>,
    /// The platform's id of the attached domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_domain_id: Option<String>,
}
