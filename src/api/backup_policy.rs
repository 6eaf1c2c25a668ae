//! `BackupPolicy`: scheduled `pg_dump` backups of a Postgres database to a filesystem path or an
//! S3-compatible bucket, with retention and restore verification.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{CommonStatus, DURATION_PATTERN, DeletionPolicy, LocalRef, SecretKeyRef};

/// The shape of a five-field cron expression or an `@daily`-style macro. The controller parses
/// it fully; this catches typos at admission.
pub const CRON_PATTERN: &str = r"^(@(yearly|annually|monthly|weekly|daily|hourly)|([0-9*,/-]+|\*) +([0-9*,/-]+) +([0-9*,/?LW-]+) +([0-9*,/-]+|[A-Za-z]{3}([,-][A-Za-z]{3})*) +([0-9*,/?L#-]+|[A-Za-z]{3}([,-][A-Za-z]{3})*))$";

/// Scheduled, verified backups of one Postgres database.
// Each `printcolumn(...)` repeats `type_ = ...`; clippy reads those as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "berth.dev",
    version = "v1alpha1",
    kind = "BackupPolicy",
    namespaced,
    status = "BackupPolicyStatus",
    shortname = "bbackup",
    category = "berth",
    doc = "A BackupPolicy takes pg_dump backups of a Postgres database on a schedule, keeps them by retention rules, and proves them by restoring into a scratch database.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule"),
    printcolumn(
        name = "Last Backup",
        type_ = "date",
        json_path = ".status.lastBackup.completedAt"
    ),
    printcolumn(
        name = "Verified",
        type_ = "string",
        json_path = ".status.lastVerification.passed"
    ),
    printcolumn(
        name = "Next",
        // A future time: kubectl prints a `date` column as an age, `<invalid>` when ahead.
        type_ = "string",
        json_path = ".status.nextBackupTime",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicySpec {
    /// The database to back up.
    pub database: DatabaseRef,
    /// When to back up: a five-field cron expression (`min hour dom month dow`) or `@daily` etc.
    #[schemars(pattern(CRON_PATTERN), length(min = 1, max = 128))]
    pub schedule: String,
    /// IANA time zone the schedule is read in (default `UTC`).
    #[serde(default = "default_tz")]
    #[schemars(pattern(r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$"), length(max = 64))]
    pub time_zone: String,
    /// A run missed while the controller was down is made once at start-up if it is no older
    /// than this (Go duration, default `1h`).
    #[serde(default = "default_starting_deadline")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub starting_deadline: String,
    /// Where backups go: exactly one of `filesystem` or `s3`.
    pub destination: Destination,
    /// Which backups to keep.
    #[serde(default)]
    pub retention: Retention,
    /// Restore verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Stop scheduling backups and verifications; history is kept.
    #[serde(default)]
    pub suspend: bool,
    /// `Orphan` (default) keeps the backup files when this object is deleted; `Delete` removes them.
    #[serde(default = "default_orphan")]
    pub deletion_policy: DeletionPolicy,
}

fn default_tz() -> String {
    "UTC".into()
}
fn default_starting_deadline() -> String {
    "1h".into()
}
// Deleting a policy must not silently delete the backups it made.
fn default_orphan() -> DeletionPolicy {
    DeletionPolicy::Orphan
}

/// The database to back up.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseRef {
    /// Secret key holding a libpq connection URI (`postgres://user:password@host:port/db`).
    pub connection_secret_ref: SecretKeyRef,
    /// For a Supabase database: the Environment whose Supabase binding lists the platform's own backups too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supabase_environment_ref: Option<LocalRef>,
}

/// Backup destination.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.filesystem) != has(self.s3)").message("spec.destination: set exactly one of filesystem or s3"))]
pub struct Destination {
    /// A directory (a mounted PersistentVolume in a cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FilesystemDestination>,
    /// An S3-compatible bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Destination>,
}

/// A directory destination.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemDestination {
    /// Absolute path of the directory.
    #[schemars(pattern(r"^/.*$"), length(min = 1, max = 4096))]
    pub path: String,
}

/// An S3-compatible bucket.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Destination {
    /// Bucket name.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"))]
    pub bucket: String,
    /// Key prefix (default: `<namespace>/<policy>/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub prefix: Option<String>,
    /// Endpoint URL for non-AWS servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "uri"), length(max = 2048))]
    pub endpoint: Option<String>,
    /// Region (default `us-east-1`).
    #[serde(default = "default_region")]
    #[schemars(length(min = 1, max = 64))]
    pub region: String,
    /// Secret with keys `accessKeyId` and `secretAccessKey`.
    #[schemars(length(min = 1, max = 253))]
    pub credentials_secret_name: String,
    /// Use path-style addressing (most self-hosted servers need it).
    #[serde(default)]
    pub force_path_style: bool,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// Grandfather-father-son retention. The newest verified backup is never deleted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.keepLast + self.keepDaily + self.keepWeekly + self.keepMonthly > 0").message("spec.retention must keep at least one backup"))]
pub struct Retention {
    /// Keep the newest N backups.
    #[serde(default = "default_keep_last")]
    #[schemars(range(min = 0, max = 1000))]
    pub keep_last: i32,
    /// Keep the newest backup of each of the last N days.
    #[serde(default = "default_keep_daily")]
    #[schemars(range(min = 0, max = 1000))]
    pub keep_daily: i32,
    /// Keep the newest backup of each of the last N ISO weeks.
    #[serde(default = "default_keep_weekly")]
    #[schemars(range(min = 0, max = 1000))]
    pub keep_weekly: i32,
    /// Keep the newest backup of each of the last N months.
    #[serde(default = "default_keep_monthly")]
    #[schemars(range(min = 0, max = 1000))]
    pub keep_monthly: i32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            keep_last: default_keep_last(),
            keep_daily: default_keep_daily(),
            keep_weekly: default_keep_weekly(),
            keep_monthly: default_keep_monthly(),
        }
    }
}

fn default_keep_last() -> i32 {
    3
}
fn default_keep_daily() -> i32 {
    7
}
fn default_keep_weekly() -> i32 {
    4
}
fn default_keep_monthly() -> i32 {
    6
}

/// Restore verification.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// When to verify the newest backup (cron, like `schedule`).
    #[schemars(pattern(CRON_PATTERN), length(min = 1, max = 128))]
    pub schedule: String,
    /// Secret key holding a connection URI to a server where scratch databases may be created
    /// and dropped (default: the source server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scratch_connection_secret_ref: Option<SecretKeyRef>,
    /// SQL checks run against the restored database.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["name".into()]))]
    pub checks: Vec<SqlCheck>,
    /// Longest a verification may take (Go duration, default `30m`).
    #[serde(default = "default_verify_timeout")]
    #[schemars(pattern(DURATION_PATTERN))]
    pub timeout: String,
    /// `pg_restore --jobs` for a backup in a directory (default 1; S3 backups restore with one).
    /// More helps a database with many tables and indexes when the scratch server has the cores.
    #[serde(default = "default_restore_jobs")]
    #[schemars(range(min = 1, max = 16))]
    pub restore_jobs: u16,
}

fn default_restore_jobs() -> u16 {
    1
}

fn default_verify_timeout() -> String {
    "30m".into()
}

/// A query whose single value must equal `expect`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SqlCheck {
    /// Check name.
    #[schemars(pattern(r"^[a-z0-9][-a-z0-9_]*$"), length(min = 1, max = 63))]
    pub name: String,
    /// A query returning one row with one column, e.g. `select count(*) > 0 from users`.
    #[schemars(length(min = 1, max = 8192))]
    pub sql: String,
    /// The expected value, compared as text (e.g. `t`, `42`).
    #[schemars(length(max = 1024))]
    pub expect: String,
}

/// A backup as recorded in status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    /// Backup id.
    pub id: String,
    /// When it started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it completed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// sha256 of the dump, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Where it is (`file:///…` or `s3://bucket/key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A verification as recorded in status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRecord {
    /// The backup that was restored.
    pub backup_id: String,
    /// When it ran (RFC 3339).
    pub time: String,
    /// Whether every check passed and the checksum matched.
    pub passed: bool,
    /// Duration of restore plus checks, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// Names of the checks that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_checks: Vec<String>,
}

/// Observed state of a BackupPolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicyStatus {
    /// Generation, conditions and the handled reconcile request.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// The newest complete backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<BackupRecord>,
    /// The newest verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verification: Option<VerificationRecord>,
    /// When the next backup is due (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_backup_time: Option<String>,
    /// When the next verification is due (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_verification_time: Option<String>,
    /// Backups currently kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_count: Option<i32>,
    /// The platform's own backups of the database (with `database.supabaseEnvironmentRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_backups: Option<PlatformBackupsSummary>,
}

/// The platform's own backups of the database, as berth last read them (at most every few
/// minutes; the admin API lists them one by one).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformBackupsSummary {
    /// The platform (`supabase`).
    pub provider: String,
    /// The platform's project.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project_ref: String,
    /// Backups the platform lists, whatever their state.
    #[serde(default)]
    pub count: i32,
    /// Of those, completed ones.
    #[serde(default)]
    pub completed: i32,
    /// When the newest completed backup was taken (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// Start of the point-in-time-recovery window (RFC 3339), when PITR is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr_earliest: Option<String>,
    /// End of the point-in-time-recovery window (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr_latest: Option<String>,
    /// When berth last asked the platform (RFC 3339).
    pub checked_at: String,
    /// Why the last read failed; the other fields are from the read before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
