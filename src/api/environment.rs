//! `Environment`: provider bindings (Railway, Vercel, Supabase, the DNS zone) with their
//! credentials, and the variables berth keeps in sync on the hosting providers.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{
    CommonStatus, ConfigMapKeyRef, DURATION_MAX_LENGTH, DURATION_PATTERN, DeletionPolicy,
    HOSTNAME_PATTERN, ManagementPolicy, SecretKeyRef, duration_rule,
};

/// One deployable estate (production, staging, …): where it runs and the variables it needs.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "berth.dev",
    version = "v1alpha1",
    kind = "Environment",
    namespaced,
    status = "EnvironmentStatus",
    shortname = "benv",
    category = "berth",
    doc = "An Environment binds the providers an estate runs on (Railway, Vercel, Supabase, a DNS zone) and the variables berth keeps in sync on them.",
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].reason"),
    printcolumn(name = "Zone", type_ = "string", json_path = ".spec.providers.dns.zone"),
    printcolumn(name = "Drift", type_ = "integer", json_path = ".status.driftCount", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = kube::core::Rule::new("!has(self.spec.variables) || self.spec.variables.all(v, !has(v.targets) || v.targets.all(t, !has(t.railwayService) || has(self.spec.providers.railway)))").message("spec.variables[].targets[].railwayService needs spec.providers.railway").field_path(".spec.providers"),
    validation = kube::core::Rule::new("!has(self.spec.variables) || self.spec.variables.all(v, !has(v.targets) || v.targets.all(t, !has(t.vercelProject) || has(self.spec.providers.vercel)))").message("spec.variables[].targets[].vercelProject needs spec.providers.vercel").field_path(".spec.providers"),
)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentSpec {
    /// The providers this environment runs on. Each is optional; a resource that needs one
    /// that is not configured reports it in its conditions.
    pub providers: Providers,
    /// Variables berth sets on the hosting providers, each with the targets it goes to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 500))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["name".into()]))]
    pub variables: Vec<Variable>,
    /// What to do when a provider-side value differs from the declared one:
    /// `Correct` restores it, `Report` only records it in status and an Event.
    #[serde(default)]
    pub drift_policy: DriftPolicy,
    /// How often provider state is re-read to find drift (Go duration, default `5m`).
    #[serde(default = "default_resync")]
    #[schemars(pattern(DURATION_PATTERN), length(max = DURATION_MAX_LENGTH))]
    #[x_kube(validation = duration_rule("duration(self) >= duration('30s')").message("spec.resyncInterval must be at least 30s"))]
    pub resync_interval: String,
    /// Stop all provider writes for this environment; status keeps the last known state.
    #[serde(default)]
    pub suspend: bool,
    /// Whether variables berth created are deleted from the providers when this object is deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// `Manage` (default) writes to the providers; `Observe` only reports differences.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

fn default_resync() -> String {
    "5m".into()
}

/// Drift handling for provider-side values.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum DriftPolicy {
    /// Restore the declared value.
    #[default]
    Correct,
    /// Record the difference in status and an Event; change nothing.
    Report,
}

/// Provider bindings of an environment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Providers {
    /// The Railway project and environment that hosts the backend services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub railway: Option<RailwayBinding>,
    /// The Vercel team (or personal account) that hosts the front-end projects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vercel: Option<VercelBinding>,
    /// The Supabase project that holds the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supabase: Option<SupabaseBinding>,
    /// The DNS zone the environment's domains live in, and who serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsBinding>,
}

/// Railway project binding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RailwayBinding {
    /// Railway project id (UUID).
    #[schemars(length(min = 1, max = 64))]
    pub project_id: String,
    /// Railway environment id inside the project (UUID).
    #[schemars(length(min = 1, max = 64))]
    pub environment_id: String,
    /// Secret key holding a Railway API token (account, team or project token).
    pub token_secret_ref: SecretKeyRef,
    /// API endpoint override, for the berth sandbox or a proxy. Default: Railway's public GraphQL API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "uri"), length(max = 2048))]
    pub endpoint: Option<String>,
}

/// Vercel binding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct VercelBinding {
    /// Team id (`team_…`) that owns the projects; omit for a personal account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub team_id: Option<String>,
    /// Secret key holding a Vercel access token.
    pub token_secret_ref: SecretKeyRef,
    /// API endpoint override, for the berth sandbox or a proxy. Default: `https://api.vercel.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "uri"), length(max = 2048))]
    pub endpoint: Option<String>,
}

/// Supabase binding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupabaseBinding {
    /// Project reference (the 20-character id in the project URL).
    #[schemars(pattern(r"^[a-z0-9]{20}$"))]
    pub project_ref: String,
    /// Secret key holding a Supabase Management API access token.
    pub token_secret_ref: SecretKeyRef,
    /// API endpoint override, for the berth sandbox or a proxy. Default: `https://api.supabase.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "uri"), length(max = 2048))]
    pub endpoint: Option<String>,
}

/// DNS zone binding: exactly one of `powerdns` or `cloudflare`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("[has(self.powerdns), has(self.cloudflare)].filter(x, x).size() == 1").message("spec.providers.dns: set exactly one of powerdns or cloudflare"))]
pub struct DnsBinding {
    /// The zone apex, e.g. `vocilia.com`.
    #[schemars(pattern(HOSTNAME_PATTERN), length(max = 253))]
    pub zone: String,
    /// A PowerDNS Authoritative server that serves the zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub powerdns: Option<PowerDnsBinding>,
    /// Cloudflare serves the zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudflare: Option<CloudflareBinding>,
    /// Name servers to query when checking propagation (`host:port`); default: the zone's NS records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8), inner(length(max = 261)))]
    pub nameservers: Vec<String>,
}

/// PowerDNS Authoritative HTTP API binding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PowerDnsBinding {
    /// Base URL of the API, e.g. `http://pdns.dns.svc:8081`.
    #[schemars(extend("format" = "uri"), length(min = 1, max = 2048))]
    pub url: String,
    /// Server id in the API path (almost always `localhost`).
    #[serde(default = "default_pdns_server")]
    #[schemars(length(min = 1, max = 63))]
    pub server_id: String,
    /// Secret key holding the `X-API-Key` value.
    pub api_key_secret_ref: SecretKeyRef,
}

fn default_pdns_server() -> String {
    "localhost".into()
}

/// Cloudflare DNS binding.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudflareBinding {
    /// Zone id; when omitted it is looked up by the zone name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub zone_id: Option<String>,
    /// Secret key holding an API token with DNS edit permission on the zone.
    pub token_secret_ref: SecretKeyRef,
    /// API endpoint override, for the berth sandbox. Default: `https://api.cloudflare.com/client/v4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "uri"), length(max = 2048))]
    pub endpoint: Option<String>,
}

/// One variable and where it goes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.value) != has(self.valueFrom)").message("spec.variables[]: set exactly one of value or valueFrom"))]
pub struct Variable {
    /// Variable name as the application reads it.
    #[schemars(pattern(r"^[A-Za-z_][A-Za-z0-9_]*$"), length(min = 1, max = 256))]
    pub name: String,
    /// A literal value. Use `valueFrom` for anything secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    pub value: Option<String>,
    /// Read the value from a Secret or ConfigMap key (watched: a change re-syncs every target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<VariableSource>,
    /// Treat the value as secret: stored as `sensitive` on Vercel, never shown in status, events or logs.
    /// Values from Secrets are always sensitive.
    #[serde(default)]
    pub sensitive: bool,
    /// Where the variable is set.
    #[schemars(length(min = 1, max = 32))]
    pub targets: Vec<VariableTarget>,
}

/// Source of a variable's value: exactly one of `secretKeyRef` or `configMapKeyRef`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.secretKeyRef) != has(self.configMapKeyRef)").message("spec.variables[].valueFrom: set exactly one of secretKeyRef or configMapKeyRef"))]
pub struct VariableSource {
    /// A key of a Secret in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeyRef>,
    /// A key of a ConfigMap in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeyRef>,
}

/// A place a variable is set: exactly one of `railwayService` or `vercelProject`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.railwayService) != has(self.vercelProject)").message("spec.variables[].targets[]: set exactly one of railwayService or vercelProject"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.vercelTargets) || has(self.vercelProject)").message("spec.variables[].targets[].vercelTargets only applies to vercelProject"))]
pub struct VariableTarget {
    /// Railway service id in the environment's Railway project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub railway_service: Option<String>,
    /// Vercel project id or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub vercel_project: Option<String>,
    /// Vercel targets the value applies to (default: production only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 3))]
    pub vercel_targets: Option<Vec<VercelTarget>>,
}

/// A Vercel deployment target.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VercelTarget {
    /// Production deployments.
    Production,
    /// Preview deployments.
    Preview,
    /// `vercel dev` and local pulls.
    Development,
}

/// Observed state of an Environment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentStatus {
    /// Generation, conditions and the handled reconcile request.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// Per target: a hash of the values last written and when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetSyncStatus>,
    /// Number of variables whose provider value differs from the declared one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_count: Option<i32>,
    /// Variables present at the provider that berth does not manage (reported, never touched).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged_variables: Vec<String>,
}

/// Sync state of one target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetSyncStatus {
    /// `railway:<service>` or `vercel:<project>`.
    pub target: String,
    /// sha256 over the names and values last written (values never appear in status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// When berth last wrote to the target (RFC 3339); a resync that finds it in sync leaves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// Names of variables berth created at this target (its ownership record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owned: Vec<String>,
    /// Names of variables whose provider value drifted from the declared one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drifted: Vec<String>,
}
