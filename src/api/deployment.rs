//! `Deployment`: one service (a Railway service or a Vercel project) at a source revision, with
//! its health check and rollback policy.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{
    CommonStatus, DURATION_MAX_LENGTH, DURATION_PATTERN, DeletionPolicy, LocalRef, duration_rule,
};

/// A service of an Environment deployed at a declared source revision.
// Each `printcolumn(...)` repeats `type_ = ...`; clippy reads those as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "berth.dev",
    version = "v1alpha1",
    kind = "Deployment",
    namespaced,
    status = "DeploymentStatus",
    shortname = "bdeploy",
    category = "berth",
    doc = "A Deployment keeps one Railway service or Vercel project deployed at the declared source revision, checks its health and rolls back a bad release.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Revision",
        type_ = "string",
        json_path = ".status.current.revision"
    ),
    printcolumn(
        name = "Alerting",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Alerting\")].status"
    ),
    printcolumn(
        name = "Environment",
        type_ = "string",
        json_path = ".spec.environmentRef.name",
        priority = 1
    ),
    printcolumn(
        name = "URL",
        type_ = "string",
        json_path = ".status.current.url",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!has(self.service.vercel) || has(self.source.ref)").message("spec.source.ref: Vercel builds from a branch or tag, so a Vercel deployment needs ref (a commit then pins the revision on it)").field_path(".source"))]
pub struct DeploymentSpec {
    /// The Environment whose provider bindings this deployment uses.
    pub environment_ref: LocalRef,
    /// The service to deploy: exactly one of `railway` or `vercel`.
    pub service: ServiceRef,
    /// The source revision to deploy.
    pub source: Source,
    /// How a new release is judged healthy before it is marked live.
    #[serde(default)]
    pub health_check: HealthCheck,
    /// What happens when a release fails.
    #[serde(default)]
    pub rollback: RollbackPolicy,
    /// Service level objectives that monitoring alerts on with multi-window burn rates
    /// (default: 99.5 % of probes succeed and p95 latency stays under 2s, over 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// Longest time each phase (build, deploy, verify) may take before the release is failed (Go duration, default `15m`).
    #[serde(default = "default_progress_deadline")]
    #[schemars(pattern(DURATION_PATTERN), length(max = DURATION_MAX_LENGTH))]
    #[x_kube(validation = duration_rule("duration(self) >= duration('1m') && duration(self) <= duration('6h')").message("spec.progressDeadline must be between 1m and 6h"))]
    pub progress_deadline: String,
    /// How many past releases status keeps (1–100, default 10).
    #[serde(default = "default_history_limit")]
    #[schemars(range(min = 1, max = 100))]
    pub revision_history_limit: i32,
    /// Pause the deployment: no provider writes (no deploys, no rollbacks) until unset.
    #[serde(default)]
    pub suspend: bool,
    /// `Delete` or `Orphan`. Deployments are never deleted at the provider: the service keeps
    /// running; `Delete` only drops berth's record of it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

fn default_progress_deadline() -> String {
    "15m".into()
}

fn default_history_limit() -> i32 {
    10
}

/// Which service is deployed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.railway) != has(self.vercel)").message("spec.service: set exactly one of railway or vercel"))]
pub struct ServiceRef {
    /// A Railway service in the environment's Railway project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub railway: Option<RailwayService>,
    /// A Vercel project in the environment's Vercel team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vercel: Option<VercelProject>,
}

/// A Railway service.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RailwayService {
    /// Railway service id (UUID).
    #[schemars(length(min = 1, max = 64))]
    pub service_id: String,
}

/// A Vercel project.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct VercelProject {
    /// Vercel project id (`prj_…`) or name.
    #[schemars(length(min = 1, max = 100))]
    pub project: String,
}

/// Source revision: a git commit, or a ref that is resolved to a commit at deploy time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.commit) || has(self.ref)").message("spec.source: set commit or ref"))]
pub struct Source {
    /// Repository as `owner/name` on the provider's git integration.
    #[schemars(pattern(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"), length(max = 200))]
    pub repo: String,
    /// A branch or tag; deployed at its head when `commit` is not set.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "ref")]
    #[schemars(length(min = 1, max = 255))]
    pub git_ref: Option<String>,
    /// A full or abbreviated (7+) commit SHA. Changing it releases that commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{7,40}$"))]
    pub commit: Option<String>,
}

/// Health check run against the release's URL before it is marked live, and by monitoring after.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new(format!("!self.timeout.matches('{DURATION_PATTERN}') || !self.interval.matches('{DURATION_PATTERN}') || duration(self.timeout) <= duration(self.interval)")).message("spec.healthCheck.timeout must not exceed spec.healthCheck.interval").field_path(".timeout"))]
pub struct HealthCheck {
    /// Path requested on the deployment URL.
    #[serde(default = "default_health_path")]
    #[schemars(pattern(r"^/[^\s]*$"), length(max = 2048))]
    pub path: String,
    /// HTTP status that counts as healthy.
    #[serde(default = "default_expected_status")]
    #[schemars(range(min = 100, max = 599))]
    pub expected_status: i32,
    /// A response slower than this counts as a failure (Go duration, default `2s`).
    #[serde(default = "default_latency_budget")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub latency_budget: String,
    /// Time between checks (Go duration, default `30s`).
    #[serde(default = "default_interval")]
    #[schemars(pattern(DURATION_PATTERN), length(max = DURATION_MAX_LENGTH))]
    pub interval: String,
    /// Per-request time-out (Go duration, default `5s`).
    #[serde(default = "default_timeout")]
    #[schemars(pattern(DURATION_PATTERN), length(max = DURATION_MAX_LENGTH))]
    pub timeout: String,
    /// Consecutive successes needed to call a release (or a recovered service) healthy.
    #[serde(default = "default_success_threshold")]
    #[schemars(range(min = 1, max = 20))]
    pub success_threshold: i32,
    /// Consecutive failures needed to call it unhealthy.
    #[serde(default = "default_failure_threshold")]
    #[schemars(range(min = 1, max = 20))]
    pub failure_threshold: i32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            path: default_health_path(),
            expected_status: default_expected_status(),
            latency_budget: default_latency_budget(),
            interval: default_interval(),
            timeout: default_timeout(),
            success_threshold: default_success_threshold(),
            failure_threshold: default_failure_threshold(),
        }
    }
}

fn default_health_path() -> String {
    "/health".into()
}
fn default_expected_status() -> i32 {
    200
}
fn default_latency_budget() -> String {
    "2s".into()
}
fn default_interval() -> String {
    "30s".into()
}
fn default_timeout() -> String {
    "5s".into()
}
fn default_success_threshold() -> i32 {
    1
}
fn default_failure_threshold() -> i32 {
    3
}

/// Pattern of [`Slo::uptime_target`]: a percentage below 100 with up to four decimals.
pub const UPTIME_TARGET_PATTERN: &str = "^[0-9]{1,2}([.][0-9]{1,4})?$";
/// Pattern of [`Slo::window`]: whole days.
pub const SLO_WINDOW_PATTERN: &str = "^[0-9]{1,2}d$";

/// Service level objectives of a Deployment, judged from its probes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Slo {
    /// Share of probes that must succeed over `window`, in percent (50 to below 100,
    /// default `"99.5"`). A string, so `99.95` stays exact.
    #[serde(default = "default_uptime_target")]
    #[schemars(pattern(UPTIME_TARGET_PATTERN))]
    #[x_kube(validation = kube::core::Rule::new(format!("!self.matches('{UPTIME_TARGET_PATTERN}') || (double(self) >= 50.0 && double(self) < 100.0)")).message("spec.slo.uptimeTarget must be at least 50 and below 100"))]
    pub uptime_target: String,
    /// 95 % of probes must answer faster than this (Go duration, 10ms to 60s, default `2s`).
    #[serde(default = "default_latency_p95")]
    #[schemars(pattern(DURATION_PATTERN), length(max = DURATION_MAX_LENGTH))]
    #[x_kube(validation = duration_rule("duration(self) >= duration('10ms') && duration(self) <= duration('60s')").message("spec.slo.latencyP95 must be between 10ms and 60s"))]
    pub latency_p95: String,
    /// The period the objectives hold over, in days (`7d` to `90d`, default `30d`); burn-rate
    /// thresholds scale with it.
    #[serde(default = "default_slo_window")]
    #[schemars(pattern(SLO_WINDOW_PATTERN))]
    #[x_kube(validation = kube::core::Rule::new(format!("!self.matches('{SLO_WINDOW_PATTERN}') || (int(self.substring(0, size(self) - 1)) >= 7 && int(self.substring(0, size(self) - 1)) <= 90)")).message("spec.slo.window must be between 7d and 90d"))]
    pub window: String,
}

impl Default for Slo {
    fn default() -> Self {
        Self {
            uptime_target: default_uptime_target(),
            latency_p95: default_latency_p95(),
            window: default_slo_window(),
        }
    }
}

fn default_uptime_target() -> String {
    "99.5".into()
}
fn default_latency_p95() -> String {
    "2s".into()
}
fn default_slo_window() -> String {
    "30d".into()
}

/// Rollback policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollbackPolicy {
    /// Restore the last good release when a build or health check fails (default true).
    #[serde(default = "default_true")]
    pub automatic: bool,
}

impl Default for RollbackPolicy {
    fn default() -> Self {
        Self { automatic: true }
    }
}

fn default_true() -> bool {
    true
}

/// Life-cycle phase of a Deployment.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
pub enum DeploymentPhase {
    /// Not started yet, or the release is recorded and its deployment is being created.
    #[default]
    Pending,
    /// The provider is building the release.
    Building,
    /// The provider is rolling the release out.
    Deploying,
    /// berth is running the health check against the release.
    Verifying,
    /// The declared revision is live and healthy.
    Live,
    /// The last good release is being made live again (recorded before the provider call).
    RollingBack,
    /// The release failed and no rollback was made.
    Failed,
    /// The release failed (or a rollback was asked for) and the last good one was restored;
    /// the declared revision is not deployed again until the spec changes.
    Held,
}

/// How a release ended, as berth judged it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum ReleaseOutcome {
    /// It passed its health check and went live.
    Live,
    /// Its build or rollout failed, it hung past the progress deadline, or its health check failed.
    Failed,
    /// A newer spec replaced it before it finished.
    Superseded,
    /// It was live and was rolled back from on request.
    RolledBack,
}

/// The health check's consecutive results for a release under verification.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthChecks {
    /// Consecutive successful probes.
    pub successes: i32,
    /// Consecutive failed probes.
    pub failures: i32,
    /// The last probe's result, e.g. `200 in 35ms` or `503, expected 200`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    /// When the last probe ran (RFC 3339); the next one waits `healthCheck.interval` after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<String>,
}

/// One release as recorded in status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    /// The declared revision: the git commit, or the ref when no commit is declared.
    pub revision: String,
    /// The commit the provider built, when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The provider's deployment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// The release's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// State at the provider (`QUEUED`, `BUILDING`, `DEPLOYING`, `READY`, `FAILED`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// When the release was started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it went live or failed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Health check results while the release is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<HealthChecks>,
    /// How it ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ReleaseOutcome>,
    /// Why it ended that way (the provider's or the health check's words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A rollback, as recorded in status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollbackRecord {
    /// The revision that was rolled back.
    pub from_revision: String,
    /// The revision restored (revert Git to this one to make the rollback permanent).
    pub to_revision: String,
    /// The provider deployment made live again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_deployment_id: Option<String>,
    /// Why: `HealthCheckFailed`, `BuildFailed`, `ProgressDeadlineExceeded`, `Manual`, …
    pub reason: String,
    /// Who asked: `berth` for automatic rollbacks, the admin API caller otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The admin API request this rollback answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The caller's note, or what failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When (RFC 3339).
    pub time: String,
}

/// The annotation the admin API writes to ask for a rollback; its value is a JSON
/// [`RollbackRequest`]. Metadata, never spec, so GitOps tools see no drift; the leader
/// performs it and acknowledges it in `status.rollbackRequest`.
pub const ROLLBACK_REQUESTED_ANNOTATION: &str = "berth.dev/rollback-requested";

/// A rollback asked for through the admin API.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RollbackRequest {
    /// Unique per request; echoed in the acknowledgement.
    pub id: String,
    /// The revision to restore; default: the release before the live one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The caller's reason.
    #[serde(default)]
    pub reason: String,
    /// Who asked (the authenticated user).
    pub actor: String,
}

/// Where a rollback request stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum RequestState {
    /// Accepted; the rollback is being made.
    Accepted,
    /// Done: `lastRollback` records it.
    Done,
    /// Refused: nothing to roll back to, an unknown revision, or already live.
    Rejected,
}

/// The acknowledgement of the last rollback request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestAck {
    /// The request's id.
    pub id: String,
    pub state: RequestState,
    /// Why it was refused, or what was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Observed state of a Deployment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    /// Generation, conditions and the handled reconcile request.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// Life-cycle phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<DeploymentPhase>,
    /// When the phase began (RFC 3339); `progressDeadline` is counted from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_since: Option<String>,
    /// The release being rolled out, recorded before berth creates or waits on it (so a
    /// restart adopts it instead of starting a second one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Release>,
    /// The live release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Release>,
    /// The release before the live one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Release>,
    /// Finished releases, newest first, at most `revisionHistoryLimit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Release>,
    /// The rollback being made (recorded before the provider call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_back: Option<RollbackRecord>,
    /// The last rollback, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rollback: Option<RollbackRecord>,
    /// The acknowledgement of the last admin API rollback request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_request: Option<RequestAck>,
    /// The declared revision berth refuses to deploy again until the spec changes (set while
    /// `Held` or `Failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_revision: Option<String>,
    /// The generation that is held: a new generation (any spec change) releases the hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_generation: Option<i64>,
}
