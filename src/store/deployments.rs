//! Deployment history: one row a provider deployment in `deployment_events` (upserted by its
//! provider id, so a repeated write after a restart updates instead of duplicating) and one
//! row a rollback in `rollbacks`.

use chrono::{DateTime, Utc};

use super::{Error, Store};

/// One provider deployment of a Deployment, as it stands now.
#[derive(Clone, Debug)]
pub struct DeploymentEvent<'a> {
    pub namespace: &'a str,
    pub deployment: &'a str,
    pub revision: &'a str,
    /// `railway` or `vercel`.
    pub provider: &'a str,
    pub provider_deployment_id: &'a str,
    pub url: Option<&'a str>,
    /// The provider state, or berth's outcome once the release ended.
    pub phase: &'a str,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub message: Option<&'a str>,
}

/// One rollback.
#[derive(Clone, Debug)]
pub struct Rollback<'a> {
    pub namespace: &'a str,
    pub deployment: &'a str,
    pub from_revision: &'a str,
    pub to_revision: &'a str,
    pub reason: &'a str,
    pub actor: &'a str,
    pub at: Option<DateTime<Utc>>,
}

impl Store {
    /// Inserts or updates the row of a provider deployment.
    pub async fn record_deployment(&self, e: &DeploymentEvent<'_>) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO deployment_events \
               (namespace, deployment, revision, provider, provider_deployment_id, url, phase, \
                started_at, finished_at, message) \
             SELECT $1, $2, $3, $4, $5, $6, $7, s.at, \
                    CASE WHEN $9::timestamptz IS NULL THEN NULL ELSE greatest($9, s.at) END, $10 \
             FROM (SELECT coalesce($8::timestamptz, now()) AS at) s \
             ON CONFLICT (provider, provider_deployment_id) WHERE provider_deployment_id IS NOT NULL \
             DO UPDATE SET url = coalesce(EXCLUDED.url, deployment_events.url), \
                           phase = EXCLUDED.phase, \
                           finished_at = CASE WHEN EXCLUDED.finished_at IS NULL \
                               THEN deployment_events.finished_at \
                               ELSE greatest(EXCLUDED.finished_at, deployment_events.started_at) END, \
                           message = coalesce(EXCLUDED.message, deployment_events.message)",
        )
        .bind(e.namespace)
        .bind(e.deployment)
        .bind(e.revision)
        .bind(e.provider)
        .bind(e.provider_deployment_id)
        .bind(e.url)
        .bind(e.phase)
        .bind(e.started_at)
        .bind(e.finished_at)
        .bind(e.message)
        .execute(self.pool())
        .await
        .map_err(|source| Error::Query {
            action: "record a deployment",
            source,
        })?;
        Ok(())
    }

    /// Appends a rollback.
    pub async fn record_rollback(&self, r: &Rollback<'_>) -> Result<i64, Error> {
        sqlx::query_scalar(
            "INSERT INTO rollbacks (namespace, deployment, from_revision, to_revision, reason, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, now())) RETURNING id",
        )
        .bind(r.namespace)
        .bind(r.deployment)
        .bind(r.from_revision)
        .bind(r.to_revision)
        .bind(r.reason)
        .bind(r.actor)
        .bind(r.at)
        .fetch_one(self.pool())
        .await
        .map_err(|source| Error::Query {
            action: "record a rollback",
            source,
        })
    }
}
