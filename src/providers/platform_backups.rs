//! The database-backups capability: a managed database's own backups (Supabase), listed
//! beside berth's and restorable to a point in time.

use super::Result;

/// The managed database's health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseHealth {
    /// The platform's project status (`ACTIVE_HEALTHY`, `RESTORING`, …).
    pub status: String,
    /// Whether the database service answers as healthy.
    pub healthy: bool,
    /// The platform's words when it is not.
    pub message: Option<String>,
}

/// One backup the platform took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformBackup {
    /// The platform's id (what a restore of this backup names).
    pub id: String,
    /// RFC 3339.
    pub taken_at: String,
    /// `COMPLETED`, `FAILED`, … as the platform says.
    pub status: String,
    /// Physical (base backup for PITR) rather than logical.
    pub physical: bool,
}

/// What the platform keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformBackups {
    pub backups: Vec<PlatformBackup>,
    /// The point-in-time-recovery window as Unix seconds (earliest, latest), when enabled.
    pub pitr_window: Option<(i64, i64)>,
}

/// Reading a managed database's backups and requesting a restore.
#[async_trait::async_trait]
pub trait DatabaseBackups: Send + Sync {
    /// The provider's display name.
    fn provider(&self) -> &'static str;

    async fn health(&self) -> Result<DatabaseHealth>;

    async fn backups(&self) -> Result<PlatformBackups>;

    /// Requests a point-in-time restore to `unix_seconds`; the platform restores in the
    /// background (its project status says `RESTORING`). A time outside the PITR window is
    /// [`crate::providers::Error::Invalid`].
    async fn restore_to(&self, unix_seconds: i64) -> Result<()>;
}
