//! The backup catalogue: every backup run and verification as rows in the history store
//! (`migrations/0003_backups.sql`, `0007_backup_runs.sql`). A backup is `running` while it is
//! written and turns `complete` only after its destination committed it, so the catalogue,
//! not a directory listing, says which backups exist.
//!
//! Also the read side of `GET /api/admin/monitoring/backups`: [`Catalogue::list`] filters by
//! policy, time range, outcome and source and pages by keyset, newest first, over berth's
//! backups and the platform's own ones (`platform_backups`, see [`super::platform`]) alike.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{FromRow, Postgres, QueryBuilder};

use super::verify::Report;
use crate::store::{Error, Store};

/// A policy's identity in the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyKey<'a> {
    pub namespace: &'a str,
    pub policy: &'a str,
}

/// What started a backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Its scheduled time came.
    Schedule,
    /// A scheduled time missed while the controller was down, run at start-up.
    Missed,
    /// The reconcile-now annotation.
    Request,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Missed => "missed",
            Self::Request => "request",
        }
    }
}

/// A backup's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Running,
    Complete,
    Failed,
    Pruned,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Complete => "complete",
            Self::Failed => "failed",
            Self::Pruned => "pruned",
        }
    }
}

/// One backup row, with its newest verification.
#[derive(Clone, Debug, PartialEq, Eq, FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRow {
    pub id: String,
    pub namespace: String,
    pub policy: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub location: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub trigger: String,
    /// Whether the newest finished verification of this backup passed (`None`: never verified).
    pub verified: Option<bool>,
    pub verified_at: Option<DateTime<Utc>>,
}

/// One row of a listing: a berth backup, or one the platform took (`source` names the
/// platform; `id` is `<platform>:<its id>`, `trigger` is `platform`, and there is no size,
/// sha256 or verification).
#[derive(Clone, Debug, PartialEq, Eq, FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// `berth`, or the platform (`supabase`).
    pub source: String,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub backup: BackupRow,
    /// The platform's own word for its state (`COMPLETED` …); `status` is berth's outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_status: Option<String>,
    /// A platform backup that is physical (a base for point-in-time recovery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical: Option<bool>,
}

/// One verification row.
#[derive(Clone, Debug, PartialEq, FromRow, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRow {
    pub id: i64,
    pub backup_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub passed: Option<bool>,
    pub duration_ms: Option<i64>,
    pub restore_ms: Option<i64>,
    pub failed_checks: Vec<String>,
    pub message: Option<String>,
    pub checks: serde_json::Value,
}

/// What a reconcile needs to know about a policy's history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Start of the newest backup run of any outcome (the schedule's "last run").
    pub last_started: Option<DateTime<Utc>>,
    /// The newest run, whatever its outcome.
    pub newest: Option<BackupRow>,
    /// The newest complete backup.
    pub last_complete: Option<BackupRow>,
    /// Complete (not pruned) backups.
    pub complete_count: i64,
    /// The newest verification (finished or not).
    pub last_verification: Option<VerificationRow>,
}

/// Filters of [`Catalogue::list`]; all optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pub namespace: Option<String>,
    pub policy: Option<String>,
    /// Started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started before.
    pub to: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    /// `berth`, or a platform (`supabase`): only that source's backups.
    pub source: Option<String>,
    /// Page size (1–500; default 50).
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<Cursor>,
}

/// Where a page ended: the last row's start time and id (keyset pagination stays correct
/// while new backups are added).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub started_at: DateTime<Utc>,
    pub id: String,
}

impl Cursor {
    /// An opaque token for an HTTP query string.
    #[must_use]
    pub fn token(&self) -> String {
        format!("{}_{}", self.started_at.timestamp_micros(), self.id)
    }

    /// Reads [`Cursor::token`] back.
    #[must_use]
    pub fn parse(token: &str) -> Option<Self> {
        let (micros, id) = token.split_once('_')?;
        Some(Self {
            started_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.to_string(),
        })
    }
}

/// One page of backups, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Listed>,
    /// Present when more rows follow.
    pub next: Option<Cursor>,
}

/// `SELECT` of a backup row with its newest finished verification, `FROM backups b`.
macro_rules! select_backups {
    () => {
        "SELECT b.id, b.namespace, b.policy, b.started_at, b.completed_at, \
     b.size_bytes, b.sha256, b.location, b.status, b.error, b.trigger, \
     v.passed AS verified, v.finished_at AS verified_at \
     FROM backups b LEFT JOIN LATERAL (SELECT passed, finished_at FROM backup_verifications \
     WHERE backup_id = b.id AND finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 1) v ON true"
    };
}

/// berth's backups and the platform's, as one relation of [`Listed`] rows.
macro_rules! listed_backups {
    () => {
        concat!(
            "SELECT * FROM (SELECT 'berth'::text AS source, x.*, NULL::text AS platform_status, \
             NULL::boolean AS physical FROM (",
            select_backups!(),
            ") x UNION ALL SELECT p.provider, p.provider || ':' || p.id, p.namespace, p.policy, \
             p.taken_at, NULL::timestamptz, NULL::bigint, NULL::text, \
             p.provider || '://' || p.project || '/backups/' || p.id, p.outcome, NULL::text, \
             'platform', NULL::boolean, NULL::timestamptz, p.status, p.physical \
             FROM platform_backups p) b"
        )
    };
}

/// The columns of a verification row, from `v`.
macro_rules! verification_columns {
    () => {
        "v.id, v.backup_id, v.started_at, v.finished_at, v.passed, \
     v.duration_ms, v.restore_ms, v.failed_checks, v.message, v.checks"
    };
}

/// Catalogue operations over the history store.
#[derive(Clone, Debug)]
pub struct Catalogue {
    store: Store,
}

fn query_error(action: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| Error::Query { action, source }
}

impl Catalogue {
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The history store.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records a backup starting to be written to `location`.
    pub async fn begin(
        &self,
        key: PolicyKey<'_>,
        id: &str,
        started_at: DateTime<Utc>,
        location: &str,
        trigger: Trigger,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO backups (id, namespace, policy, started_at, location, status, trigger) \
             VALUES ($1, $2, $3, $4, $5, 'running', $6)",
        )
        .bind(id)
        .bind(key.namespace)
        .bind(key.policy)
        .bind(started_at)
        .bind(location)
        .bind(trigger.as_str())
        .execute(self.store.pool())
        .await
        .map_err(query_error("record a backup start"))?;
        Ok(())
    }

    /// Marks a backup complete, after its destination committed it.
    pub async fn complete(
        &self,
        id: &str,
        completed_at: DateTime<Utc>,
        size_bytes: u64,
        sha256: &str,
        location: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE backups SET status = 'complete', completed_at = $2, size_bytes = $3, \
             sha256 = $4, location = $5, error = NULL WHERE id = $1 AND status = 'running'",
        )
        .bind(id)
        .bind(completed_at)
        .bind(i64::try_from(size_bytes).unwrap_or(i64::MAX))
        .bind(sha256)
        .bind(location)
        .execute(self.store.pool())
        .await
        .map_err(query_error("record a complete backup"))?;
        Ok(())
    }

    /// Marks a running backup failed.
    pub async fn fail(&self, id: &str, error: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE backups SET status = 'failed', error = $2 WHERE id = $1 AND status = 'running'",
        )
        .bind(id)
        .bind(error)
        .execute(self.store.pool())
        .await
        .map_err(query_error("record a failed backup"))?;
        Ok(())
    }

    /// Marks every `running` backup and unfinished verification of a policy as failed: called
    /// when no run of it is in flight in this process, so they were cut off by a restart.
    pub async fn fail_interrupted(&self, key: PolicyKey<'_>) -> Result<u64, Error> {
        const WHY: &str = "interrupted: the controller stopped during the run";
        let backups = sqlx::query(
            "UPDATE backups SET status = 'failed', error = $3 \
             WHERE namespace = $1 AND policy = $2 AND status = 'running'",
        )
        .bind(key.namespace)
        .bind(key.policy)
        .bind(WHY)
        .execute(self.store.pool())
        .await
        .map_err(query_error("mark interrupted backups failed"))?;
        sqlx::query(
            "UPDATE backup_verifications v SET finished_at = now(), passed = false, message = $3 \
             FROM backups b WHERE v.backup_id = b.id AND b.namespace = $1 AND b.policy = $2 \
             AND v.finished_at IS NULL",
        )
        .bind(key.namespace)
        .bind(key.policy)
        .bind(WHY)
        .execute(self.store.pool())
        .await
        .map_err(query_error("mark interrupted verifications failed"))?;
        Ok(backups.rows_affected())
    }

    /// The complete backups of a policy, newest first (what retention decides over).
    pub async fn complete_backups(&self, key: PolicyKey<'_>) -> Result<Vec<BackupRow>, Error> {
        sqlx::query_as(concat!(
            select_backups!(),
            " WHERE b.namespace = $1 AND b.policy = $2 \
             AND b.status = 'complete' ORDER BY b.started_at DESC, b.id DESC"
        ))
        .bind(key.namespace)
        .bind(key.policy)
        .fetch_all(self.store.pool())
        .await
        .map_err(query_error("list complete backups"))
    }

    /// The id of the newest complete backup whose newest verification passed.
    pub async fn newest_verified(&self, key: PolicyKey<'_>) -> Result<Option<String>, Error> {
        Ok(self
            .complete_backups(key)
            .await?
            .into_iter()
            .find(|b| b.verified == Some(true))
            .map(|b| b.id))
    }

    /// Marks backups pruned (their files are gone); the rows stay as history.
    pub async fn mark_pruned(&self, ids: &[String]) -> Result<(), Error> {
        sqlx::query(
            "UPDATE backups SET status = 'pruned' WHERE id = ANY($1) AND status = 'complete'",
        )
        .bind(ids)
        .execute(self.store.pool())
        .await
        .map_err(query_error("mark backups pruned"))?;
        Ok(())
    }

    /// Every location a policy's backups were written to, whatever their outcome (what
    /// `deletionPolicy: Delete` removes; deleting one already gone is harmless).
    pub async fn locations(&self, key: PolicyKey<'_>) -> Result<Vec<String>, Error> {
        sqlx::query_scalar(
            "SELECT location FROM backups WHERE namespace = $1 AND policy = $2 \
             AND location IS NOT NULL ORDER BY started_at",
        )
        .bind(key.namespace)
        .bind(key.policy)
        .fetch_all(self.store.pool())
        .await
        .map_err(query_error("list backup locations"))
    }

    /// Removes a policy's whole history: its backups, their verifications and the platform
    /// backups listed for it. Returns the backup rows removed.
    pub async fn forget(&self, key: PolicyKey<'_>) -> Result<u64, Error> {
        let mut tx = self
            .store
            .pool()
            .begin()
            .await
            .map_err(query_error("begin forgetting a policy"))?;
        // Verifications go with their backup (ON DELETE CASCADE).
        let backups = sqlx::query("DELETE FROM backups WHERE namespace = $1 AND policy = $2")
            .bind(key.namespace)
            .bind(key.policy)
            .execute(&mut *tx)
            .await
            .map_err(query_error("delete a policy's backups"))?;
        sqlx::query("DELETE FROM platform_backups WHERE namespace = $1 AND policy = $2")
            .bind(key.namespace)
            .bind(key.policy)
            .execute(&mut *tx)
            .await
            .map_err(query_error("delete a policy's platform backups"))?;
        tx.commit()
            .await
            .map_err(query_error("commit forgetting a policy"))?;
        Ok(backups.rows_affected())
    }

    /// Records a verification of `backup_id` starting; returns its id.
    pub async fn begin_verification(
        &self,
        backup_id: &str,
        started_at: DateTime<Utc>,
    ) -> Result<i64, Error> {
        sqlx::query_scalar(
            "INSERT INTO backup_verifications (backup_id, started_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(backup_id)
        .bind(started_at)
        .fetch_one(self.store.pool())
        .await
        .map_err(query_error("record a verification start"))
    }

    /// Records a verification's outcome.
    pub async fn finish_verification(
        &self,
        id: i64,
        finished_at: DateTime<Utc>,
        report: &Report,
    ) -> Result<(), Error> {
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE backup_verifications SET finished_at = $2, passed = $3, duration_ms = $4, \
             restore_ms = $5, failed_checks = $6, message = $7, checks = $8 WHERE id = $1",
        )
        .bind(id)
        .bind(finished_at)
        .bind(report.passed)
        .bind(ms(report.duration_ms))
        .bind(ms(report.restore_ms))
        .bind(report.failed_checks())
        .bind(report.message.as_deref())
        .bind(serde_json::to_value(&report.checks).unwrap_or_default())
        .execute(self.store.pool())
        .await
        .map_err(query_error("record a verification outcome"))?;
        Ok(())
    }

    /// A policy's history as a reconcile needs it.
    pub async fn summary(&self, key: PolicyKey<'_>) -> Result<Summary, Error> {
        let pool = self.store.pool();
        let newest: Option<BackupRow> = sqlx::query_as(concat!(
            select_backups!(),
            " WHERE b.namespace = $1 AND b.policy = $2 \
             ORDER BY b.started_at DESC, b.id DESC LIMIT 1"
        ))
        .bind(key.namespace)
        .bind(key.policy)
        .fetch_optional(pool)
        .await
        .map_err(query_error("read the newest backup"))?;
        let last_complete: Option<BackupRow> = sqlx::query_as(concat!(
            select_backups!(),
            " WHERE b.namespace = $1 AND b.policy = $2 \
             AND b.status = 'complete' ORDER BY b.started_at DESC, b.id DESC LIMIT 1"
        ))
        .bind(key.namespace)
        .bind(key.policy)
        .fetch_optional(pool)
        .await
        .map_err(query_error("read the newest complete backup"))?;
        let complete_count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM backups WHERE namespace = $1 AND policy = $2 AND status = 'complete'",
        )
        .bind(key.namespace)
        .bind(key.policy)
        .fetch_one(pool)
        .await
        .map_err(query_error("count complete backups"))?;
        let last_verification: Option<VerificationRow> = sqlx::query_as(concat!(
            "SELECT ",
            verification_columns!(),
            " FROM backup_verifications v JOIN backups b \
             ON b.id = v.backup_id WHERE b.namespace = $1 AND b.policy = $2 \
             ORDER BY v.started_at DESC, v.id DESC LIMIT 1"
        ))
        .bind(key.namespace)
        .bind(key.policy)
        .fetch_optional(pool)
        .await
        .map_err(query_error("read the newest verification"))?;
        Ok(Summary {
            last_started: newest.as_ref().map(|b| b.started_at),
            newest,
            last_complete,
            complete_count,
            last_verification,
        })
    }

    /// Verifications of one backup, newest first.
    pub async fn verifications(&self, backup_id: &str) -> Result<Vec<VerificationRow>, Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            verification_columns!(),
            " FROM backup_verifications v WHERE v.backup_id = $1 \
             ORDER BY v.started_at DESC, v.id DESC"
        ))
        .bind(backup_id)
        .fetch_all(self.store.pool())
        .await
        .map_err(query_error("list verifications"))
    }

    /// Backups matching `q`, newest first, one page at a time.
    pub async fn list(&self, q: &Query) -> Result<Page, Error> {
        let limit = i64::from(q.limit.unwrap_or(50).clamp(1, 500));
        let mut sql: QueryBuilder<Postgres> =
            QueryBuilder::new(concat!(listed_backups!(), " WHERE true"));
        if let Some(ns) = &q.namespace {
            sql.push(" AND b.namespace = ").push_bind(ns);
        }
        if let Some(p) = &q.policy {
            sql.push(" AND b.policy = ").push_bind(p);
        }
        if let Some(from) = q.from {
            sql.push(" AND b.started_at >= ").push_bind(from);
        }
        if let Some(to) = q.to {
            sql.push(" AND b.started_at < ").push_bind(to);
        }
        if let Some(o) = q.outcome {
            sql.push(" AND b.status = ").push_bind(o.as_str());
        }
        if let Some(source) = &q.source {
            sql.push(" AND b.source = ").push_bind(source);
        }
        if let Some(c) = &q.after {
            sql.push(" AND (b.started_at, b.id) < (")
                .push_bind(c.started_at)
                .push(", ")
                .push_bind(&c.id)
                .push(")");
        }
        // One extra row says whether another page follows.
        sql.push(" ORDER BY b.started_at DESC, b.id DESC LIMIT ")
            .push_bind(limit + 1);
        let mut items: Vec<Listed> = sql
            .build_query_as()
            .fetch_all(self.store.pool())
            .await
            .map_err(query_error("list backups"))?;
        let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = more.then(|| items.last()).flatten().map(|l| Cursor {
            started_at: l.backup.started_at,
            id: l.backup.id.clone(),
        });
        Ok(Page { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: a page cursor survives the trip through a query string.
    #[test]
    fn cursor_token_round_trips() {
        let c = Cursor {
            started_at: DateTime::from_timestamp_micros(1_767_236_400_123_456).unwrap(),
            id: "20260101T030000Z-ab_cd".into(),
        };
        assert_eq!(Cursor::parse(&c.token()), Some(c));
        assert_eq!(Cursor::parse("nonsense"), None);
    }
}
