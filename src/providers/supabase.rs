//! Supabase over its Management API (`/v1`, `Authorization: Bearer`), for one project: its
//! status, the database's health, the platform's backups with the point-in-time-recovery
//! window, and PITR restore requests.
//!
//! Reads are idempotent GETs the HTTP layer may retry. A restore is destructive and runs in
//! the background, so its `POST` is never retried, and it is only sent after checking that
//! the project is `ACTIVE_HEALTHY` (a second request during a restore is a
//! [`Error::Conflict`], not a second restore) and that the time is inside the PITR window.

use std::sync::Arc;

use super::{
    Error, Result,
    http::{Auth, Call, HttpConfig, HttpMetrics, ProviderHttp, Secret},
    models::supabase::{
        self as wire, Backups, HealthService, HealthStatus, Project, ProjectStatus,
        RestorePitrRequest, ServiceHealth,
    },
    platform_backups::{DatabaseBackups, DatabaseHealth, PlatformBackup, PlatformBackups},
};

/// The provider's display name, used in errors and (lower-cased) in metrics.
pub const PROVIDER: &str = "Supabase";

/// The public API's base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.supabase.com";

/// How long Supabase may take to check the database before it answers (its maximum is 10 s).
const HEALTH_TIMEOUT_MS: &str = "5000";

/// One Supabase project.
#[derive(Clone, Debug)]
pub struct Supabase {
    http: ProviderHttp,
    project_ref: String,
}

impl Supabase {
    /// A client for project `project_ref` over an existing HTTP layer.
    #[must_use]
    pub fn new(http: ProviderHttp, project_ref: impl Into<String>) -> Self {
        Self {
            http,
            project_ref: project_ref.into(),
        }
    }

    /// The HTTP configuration for `token` at `api_url` (default [`DEFAULT_ENDPOINT`]); errors
    /// name the project.
    #[must_use]
    pub fn config(api_url: Option<&str>, token: Secret, project_ref: &str) -> HttpConfig {
        let mut config = HttpConfig::new(
            PROVIDER,
            api_url.unwrap_or(DEFAULT_ENDPOINT),
            Auth::Bearer(token),
        );
        config.account = Some(format!("project {project_ref}"));
        config
    }

    /// A client for `project_ref` at `api_url` with default policy.
    pub fn connect(
        api_url: Option<&str>,
        token: Secret,
        project_ref: &str,
        metrics: Arc<HttpMetrics>,
    ) -> Result<Self> {
        let config = Self::config(api_url, token, project_ref);
        Ok(Self::new(ProviderHttp::new(config, metrics)?, project_ref))
    }

    /// The HTTP layer (for its circuit state and metrics).
    #[must_use]
    pub fn http(&self) -> &ProviderHttp {
        &self.http
    }

    /// The project ref.
    #[must_use]
    pub fn project_ref(&self) -> &str {
        &self.project_ref
    }

    /// The project, with its lifecycle `status` (`RESTORING` while a restore runs).
    pub async fn project(&self) -> Result<Project> {
        let call = Call::get("get project", self.path(""));
        self.http.send(call).await?.decode(wire::decode)
    }

    /// The database service's health as Supabase reports it.
    pub async fn database_service(&self) -> Result<Option<ServiceHealth>> {
        let call = Call::get("check health", self.path("/health"))
            .query("services", HealthService::Db.as_str())
            .query("timeout_ms", HEALTH_TIMEOUT_MS);
        let services: Vec<ServiceHealth> = self.http.send(call).await?.decode(wire::decode)?;
        Ok(services.into_iter().find(|s| s.name == HealthService::Db))
    }

    /// The platform's backups and PITR settings, as Supabase sends them.
    pub async fn list_backups(&self) -> Result<Backups> {
        let call = Call::get("list backups", self.path("/database/backups"));
        self.http.send(call).await?.decode(wire::decode)
    }

    fn path(&self, rest: &str) -> String {
        format!("/v1/projects/{}{rest}", self.project_ref)
    }
}

#[async_trait::async_trait]
impl DatabaseBackups for Supabase {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn health(&self) -> Result<DatabaseHealth> {
        let (project, db) = tokio::try_join!(self.project(), self.database_service())?;
        let healthy = project.status == ProjectStatus::ActiveHealthy
            && db
                .as_ref()
                .is_some_and(|s| s.status == HealthStatus::ActiveHealthy);
        let message = match &db {
            _ if healthy => None,
            None => Some("Supabase reported no health for the database service".into()),
            Some(s) => Some(
                s.error
                    .clone()
                    .unwrap_or_else(|| format!("database is {}", s.status)),
            ),
        };
        Ok(DatabaseHealth {
            status: project.status.to_string(),
            healthy,
            message,
        })
    }

    async fn backups(&self) -> Result<PlatformBackups> {
        let listed = self.list_backups().await?;
        Ok(PlatformBackups {
            pitr_window: listed.pitr_window(),
            backups: listed
                .backups
                .into_iter()
                .map(|b| PlatformBackup {
                    id: b.id.to_string(),
                    taken_at: b.inserted_at,
                    status: b.status.to_string(),
                    physical: b.is_physical_backup,
                })
                .collect(),
        })
    }

    async fn restore_to(&self, unix_seconds: i64) -> Result<()> {
        const OPERATION: &str = "restore to a point in time";
        let (project, backups) = tokio::try_join!(self.project(), self.list_backups())?;
        if project.status != ProjectStatus::ActiveHealthy {
            return Err(Error::Conflict {
                provider: PROVIDER,
                operation: OPERATION,
                message: format!(
                    "project {} is {}, not ACTIVE_HEALTHY",
                    self.project_ref, project.status
                ),
            });
        }
        // Checked here as well as by Supabase: a restore cannot be taken back.
        let invalid = |message: String| Error::Invalid {
            provider: PROVIDER,
            operation: OPERATION,
            status: 400,
            message,
        };
        let Some((earliest, latest)) = backups.pitr_window() else {
            return Err(invalid(format!(
                "project {} has no point-in-time recovery",
                self.project_ref
            )));
        };
        if !(earliest..=latest).contains(&unix_seconds) {
            return Err(invalid(format!(
                "{unix_seconds} is outside the point-in-time window [{earliest}, {latest}]"
            )));
        }
        let body = RestorePitrRequest {
            recovery_time_target_unix: unix_seconds,
        };
        let call = Call::post(OPERATION, self.path("/database/backups/restore-pitr"))
            .json_from(PROVIDER, &body)?;
        self.http.send(call).await?;
        tracing::info!(project = %self.project_ref, unix_seconds, "requested a point-in-time restore");
        Ok(())
    }
}
