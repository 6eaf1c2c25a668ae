//! The Postgres history store: deployments and rollbacks, probe samples and rollups, backups and
//! their verifications, alerts, and the audit log. It holds history, not desired state, so
//! berth keeps running (and reports itself degraded) while the database is away. The schema and
//! its row-level security live in `migrations/`.

mod deployments;
mod error;
mod health;
mod redact;

pub use deployments::{DeploymentEvent, Rollback};
pub use error::Error;
pub use health::DatabaseHealth;
pub use redact::redact_url;

use std::time::Duration;

use sqlx::{
    PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

/// Upper bounds (ms) of the fixed latency buckets in `probe_rollups.latency_histogram`; one more
/// bucket, for everything slower, follows the last.
pub const LATENCY_BUCKETS_MS: [f64; 10] = [
    10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

/// How long a query waits for a pooled connection before failing, so callers fail fast and
/// retry instead of piling up while the database is down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the history database is: the one definition of `--database-url` that every command
/// reading or writing history flattens into its arguments.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct DatabaseArgs {
    /// Postgres URL of the history store (backups, probe samples, deployments, alerts, audit).
    /// The controller runs without it and reports itself degraded; `berth plan` then shows
    /// no retention.
    #[arg(long, env = "BERTH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// A handle on the history database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Lazily connecting pool: the process must start and keep running when the database is down.
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Self, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy(url)
            .map_err(|source| Error::Configure {
                url: redact_url(url),
                source,
            })?;
        Ok(Self { pool })
    }

    /// A small pool whose sessions are read-only (`default_transaction_read_only`), for
    /// commands that only look at history (`berth plan`): a write through it fails in
    /// Postgres instead of changing anything.
    pub fn connect_read_only(url: &str) -> Result<Self, Error> {
        let configure = |source| Error::Configure {
            url: redact_url(url),
            source,
        };
        let options = url
            .parse::<PgConnectOptions>()
            .map_err(configure)?
            .application_name("berth-plan")
            .options([("default_transaction_read_only", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    /// The connection pool, for the modules that write history.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs pending migrations; returns the newest applied version.
    ///
    /// Migrations newer than this build (applied by a newer replica during a rolling update) are
    /// tolerated, not an error: schema changes are additive, so an older replica keeps working.
    pub async fn migrate(&self) -> Result<i64, Error> {
        let mut migrator: Migrator = sqlx::migrate!("./migrations");
        migrator.set_ignore_missing(true);
        migrator.run(&self.pool).await.map_err(Error::Migrate)?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .map_err(|source| Error::Query {
                    action: "read the applied migration version",
                    source,
                })?;
        let version = version.unwrap_or(0);
        tracing::info!(version, "database migrations applied");
        Ok(version)
    }

    /// Append to the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
        outcome: &str,
    ) -> Result<i64, Error> {
        sqlx::query_scalar(
            "INSERT INTO audit_log (actor, action, target, detail, outcome) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail)
        .bind(outcome)
        .fetch_one(&self.pool)
        .await
        .map_err(|source| Error::Query {
            action: "append to the audit log",
            source,
        })
    }
}
