//! The `/health/database` probe: one ping, the schema version and the pool's occupancy, bounded
//! in time so a dead or black-holed database cannot hang the caller.

use std::time::{Duration, Instant};

use sqlx::{ConnectOptions as _, Connection as _, PgPool};

use super::{Store, redact_url};

/// The whole probe's budget.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// The part of it spent waiting for a pooled connection; the rest is for finding out why none
/// came (the pool retries refused connections silently until its own timeout).
const ACQUIRE_BUDGET: Duration = Duration::from_millis(1200);

/// What `/health/database` reports.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseHealth {
    pub reachable: bool,
    /// Round trip of `SELECT 1` on an acquired connection.
    pub latency_ms: Option<f64>,
    /// Newest applied migration; `None` before the first migration ran.
    pub migration_version: Option<i64>,
    pub pool_size: u32,
    pub pool_idle: u32,
    pub pool_max: u32,
    /// Why the database is unreachable, with any password redacted.
    pub error: Option<String>,
}

struct Probe {
    latency_ms: f64,
    migration_version: Option<i64>,
}

impl Store {
    /// One cheap probe for `/health/database`: ping latency, newest applied migration, pool
    /// occupancy; on failure `reachable=false` and a redacted reason. Takes at most 2 s.
    pub async fn health(&self) -> DatabaseHealth {
        let pool = self.pool();
        let outcome = match tokio::time::timeout(HEALTH_TIMEOUT, probe(pool)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!(
                "no answer within {} s",
                HEALTH_TIMEOUT.as_secs_f64()
            )),
        };
        let (latency_ms, migration_version, error) = match outcome {
            Ok(p) => (Some(p.latency_ms), p.migration_version, None),
            Err(e) => (None, None, Some(redact_url(&e))),
        };
        DatabaseHealth {
            reachable: error.is_none(),
            latency_ms,
            migration_version,
            pool_size: pool.size(),
            pool_idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            pool_max: pool.options().get_max_connections(),
            error,
        }
    }
}

async fn probe(pool: &PgPool) -> Result<Probe, String> {
    let mut conn = match tokio::time::timeout(ACQUIRE_BUDGET, pool.acquire()).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) => return Err(diagnose(pool).await),
        Ok(Err(e)) => return Err(describe(&e)),
    };
    let started = Instant::now();
    sqlx::query("SELECT 1")
        .execute(&mut *conn)
        .await
        .map_err(|e| describe(&e))?;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| describe(&e))?;
    let migration_version = if has_table {
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| describe(&e))?
    } else {
        None
    };
    Ok(Probe {
        latency_ms,
        migration_version,
    })
}

/// No pooled connection came in time: a direct connection tells "refused" or "bad password"
/// from a pool that is merely saturated.
async fn diagnose(pool: &PgPool) -> String {
    match pool.connect_options().connect().await {
        Ok(conn) => {
            let _ = conn.close().await;
            format!(
                "no pooled connection free within {} s ({} of {} in use)",
                ACQUIRE_BUDGET.as_secs_f64(),
                pool.size(),
                pool.options().get_max_connections()
            )
        }
        Err(e) => describe(&e),
    }
}

/// The error and its causes on one line (sqlx repeats some causes in its own message).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("failed to reach the database: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
