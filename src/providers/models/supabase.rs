//! Supabase's Management API (`api.supabase.com`): projects, service health, database backups
//! with the PITR window, restore requests and the `{"message": ...}` error body. Field names
//! are Supabase's (snake_case); timestamps are kept as the API's text.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::decode::{Body, DecodeError, Provider, Rejection};
use super::null_as_default;

/// The error body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SupabaseError {
    /// What went wrong (`Project not found`, …).
    pub message: String,
}

/// Decodes a Management API response; on a non-2xx status the `{"message"}` body becomes
/// [`DecodeError::Rejected`] (anything else [`DecodeError::UnexpectedStatus`]).
///
/// # Errors
/// A typed [`DecodeError`] for empty, non-JSON, mis-shaped or error responses.
pub fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, DecodeError> {
    let body = Body::new(Provider::Supabase, status, body);
    if !body.is_success() {
        return Err(body.error(Rejection::Supabase));
    }
    let value = body.json::<T>()?;
    body.typed(value)
}

string_enum! {
    /// A project's `status`.
    pub enum ProjectStatus {
        Inactive = "INACTIVE",
        ActiveHealthy = "ACTIVE_HEALTHY",
        ActiveUnhealthy = "ACTIVE_UNHEALTHY",
        ComingUp = "COMING_UP",
        /// The provider's own `UNKNOWN` (not a value this build does not know).
        StatusUnknown = "UNKNOWN",
        GoingDown = "GOING_DOWN",
        InitFailed = "INIT_FAILED",
        Removed = "REMOVED",
        Restoring = "RESTORING",
        Upgrading = "UPGRADING",
        Pausing = "PAUSING",
        RestoreFailed = "RESTORE_FAILED",
        Restarting = "RESTARTING",
        PauseFailed = "PAUSE_FAILED",
        Resizing = "RESIZING",
    }
}

/// `GET /v1/projects/{ref}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Project {
    /// Deprecated id.
    #[serde(default)]
    pub id: Option<String>,
    /// The project ref (20 lowercase letters).
    #[serde(rename = "ref")]
    pub project_ref: String,
    /// Deprecated organisation id.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Organisation slug.
    #[serde(default)]
    pub organization_slug: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Region.
    #[serde(default)]
    pub region: String,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Lifecycle status.
    pub status: ProjectStatus,
    /// The database.
    #[serde(default)]
    pub database: Option<Database>,
}

/// A project's database.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Database {
    /// Host.
    #[serde(default)]
    pub host: String,
    /// Postgres version.
    #[serde(default)]
    pub version: String,
    /// Engine.
    #[serde(default)]
    pub postgres_engine: Option<String>,
    /// Release channel.
    #[serde(default)]
    pub release_channel: Option<String>,
}

string_enum! {
    /// A `services` value of the health endpoint.
    pub enum HealthService {
        Auth = "auth",
        Db = "db",
        DbPostgresUser = "db_postgres_user",
        Pooler = "pooler",
        Realtime = "realtime",
        Rest = "rest",
        Storage = "storage",
        PgBouncer = "pg_bouncer",
    }
}

string_enum! {
    /// A service's health `status`.
    pub enum HealthStatus {
        ComingUp = "COMING_UP",
        ActiveHealthy = "ACTIVE_HEALTHY",
        Unhealthy = "UNHEALTHY",
    }
}

/// One entry of `GET /v1/projects/{ref}/health` (an array).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServiceHealth {
    /// The service.
    pub name: HealthService,
    /// Deprecated boolean.
    #[serde(default)]
    pub healthy: Option<bool>,
    /// Health.
    pub status: HealthStatus,
    /// Service details.
    #[serde(default)]
    pub info: Option<HealthInfo>,
    /// Why unhealthy.
    #[serde(default)]
    pub error: Option<String>,
}

/// `info`, flattened over its variants (GoTrue, realtime, rest).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct HealthInfo {
    /// GoTrue: `GoTrue`.
    #[serde(default)]
    pub name: Option<String>,
    /// GoTrue version.
    #[serde(default)]
    pub version: Option<String>,
    /// GoTrue description.
    #[serde(default)]
    pub description: Option<String>,
    /// Realtime: healthy.
    #[serde(default)]
    pub healthy: Option<bool>,
    /// Realtime: connected to the database.
    #[serde(default)]
    pub db_connected: Option<bool>,
    /// Realtime: replication connected.
    #[serde(default)]
    pub replication_connected: Option<bool>,
    /// Realtime: cluster nodes.
    #[serde(default)]
    pub connected_cluster: Option<u64>,
    /// Rest: the exposed schema.
    #[serde(default)]
    pub db_schema: Option<String>,
}

string_enum! {
    /// A backup's `status`.
    pub enum BackupStatus {
        Completed = "COMPLETED",
        Failed = "FAILED",
        Pending = "PENDING",
        Removed = "REMOVED",
        Archived = "ARCHIVED",
        Cancelled = "CANCELLED",
    }
}

/// `GET /v1/projects/{ref}/database/backups`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Backups {
    /// Region.
    #[serde(default)]
    pub region: String,
    /// WAL-G enabled.
    #[serde(default)]
    pub walg_enabled: bool,
    /// The PITR add-on is enabled.
    #[serde(default)]
    pub pitr_enabled: bool,
    /// The backups.
    #[serde(default, deserialize_with = "null_as_default")]
    pub backups: Vec<Backup>,
    /// The PITR window.
    #[serde(default, deserialize_with = "null_as_default")]
    pub physical_backup_data: PhysicalBackupData,
}

impl Backups {
    /// The PITR window `[earliest, latest]` in epoch seconds, when PITR is on and known.
    #[must_use]
    pub fn pitr_window(&self) -> Option<(i64, i64)> {
        let data = &self.physical_backup_data;
        match (
            self.pitr_enabled,
            data.earliest_physical_backup_date_unix,
            data.latest_physical_backup_date_unix,
        ) {
            (true, Some(earliest), Some(latest)) if earliest <= latest => Some((earliest, latest)),
            _ => None,
        }
    }
}

/// One backup.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Backup {
    /// Backup id (for `restore`).
    pub id: i64,
    /// A physical backup.
    #[serde(default)]
    pub is_physical_backup: bool,
    /// Status.
    pub status: BackupStatus,
    /// When it was taken.
    #[serde(default)]
    pub inserted_at: String,
}

/// `physical_backup_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct PhysicalBackupData {
    /// Earliest restorable time, epoch seconds.
    #[serde(default)]
    pub earliest_physical_backup_date_unix: Option<i64>,
    /// Latest restorable time, epoch seconds.
    #[serde(default)]
    pub latest_physical_backup_date_unix: Option<i64>,
}

/// The body of `POST /v1/projects/{ref}/database/backups/restore-pitr` (answer: 201, empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestorePitrRequest {
    /// The target time, epoch seconds (≥ 0).
    pub recovery_time_target_unix: i64,
}

/// The body of `POST /v1/projects/{ref}/database/backups/restore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreRequest {
    /// The backup id.
    pub id: i64,
}

/// The body of `POST .../backups/restore-point` and `.../backups/undo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestorePointRequest {
    /// The name (≤ 20 characters).
    pub name: String,
}

string_enum! {
    /// A restore point's `status`.
    pub enum RestorePointStatus {
        Available = "AVAILABLE",
        Pending = "PENDING",
        Removed = "REMOVED",
        Failed = "FAILED",
    }
}

/// A restore point.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RestorePoint {
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: RestorePointStatus,
    /// Completion time, when available.
    #[serde(default)]
    pub completed_on: Option<String>,
}
