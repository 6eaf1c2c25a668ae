//! The backup engine behind `BackupPolicy`: scheduled `pg_dump` backups streamed to a
//! directory or an S3 bucket, GFS retention, and verification by restore. Free of Kubernetes:
//! the controller (`controllers::backup_policy`) resolves Secrets and decides *when*; this
//! module does the runs and records them.
//!
//! ```text
//! schedule (pure) ─► backup: catalogue.begin → dump (pg_dump │ sha256 │ destination) →
//!                    commit → catalogue.complete → retention (pure) → prune
//!                 ─► verify: newest complete backup → destination │ sha256 │ pg_restore →
//!                    scratch DB → SQL checks → drop scratch DB → catalogue
//! ```

pub mod catalogue;
pub mod connection;
pub mod destination;
pub mod dump;
pub mod platform;
pub mod retention;
pub mod schedule;
pub mod verify;

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use self::{
    catalogue::{BackupRow, Catalogue, PolicyKey, Trigger},
    connection::Connection,
    destination::Target,
    dump::Dumped,
    retention::Rules,
    verify::Report,
};
use crate::{
    api::backup_policy::{BackupPolicySpec, SqlCheck},
    controllers::runtime::error_chain,
};

/// A backup or verification run failed before it could be recorded as an outcome.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalogue could not be read or written.
    #[error("failed to use the backup catalogue")]
    Catalogue(#[from] crate::store::Error),
    /// The destination failed.
    #[error(transparent)]
    Destination(#[from] destination::Error),
    /// `pg_dump` or the stream around it failed.
    #[error(transparent)]
    Dump(#[from] dump::Error),
}

/// One backup to take.
#[derive(Clone, Debug)]
pub struct BackupJob<'a> {
    pub key: PolicyKey<'a>,
    pub source: &'a Connection,
    pub target: &'a Target,
    pub trigger: Trigger,
    pub rules: Rules,
    /// The zone retention reads days, weeks and months in.
    pub tz: Tz,
}

/// A backup that completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taken {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub dumped: Dumped,
    /// Ids retention pruned afterwards.
    pub pruned: Vec<String>,
}

/// The `application_name` berth's sessions carry, so they are easy to find in
/// `pg_stat_activity`.
#[must_use]
pub fn application_name(key: PolicyKey<'_>) -> String {
    format!("berth-backup:{}/{}", key.namespace, key.policy)
}

/// A new backup id: its start time (sortable, readable in a listing) and a random suffix.
#[must_use]
pub fn new_id(started_at: DateTime<Utc>) -> String {
    use rand::Rng as _;
    let suffix: String = (0..6)
        .map(|_| char::from(b'a' + rand::rng().random_range(0..26u8)))
        .collect();
    format!("{}-{suffix}", started_at.format("%Y%m%dT%H%M%SZ"))
}

/// Takes one backup, records it, and applies retention.
pub async fn backup(catalogue: &Catalogue, job: &BackupJob<'_>) -> Result<Taken, Error> {
    let started_at = Utc::now();
    let id = new_id(started_at);
    let location = job.target.location(&id);
    catalogue
        .begin(job.key, &id, started_at, &location, job.trigger)
        .await?;
    let dumped = async {
        let upload = job.target.create(&id).await?;
        Ok::<_, Error>(dump::dump(job.source, &application_name(job.key), upload).await?)
    }
    .await;
    let dumped = match dumped {
        Ok(d) => d,
        Err(e) => {
            catalogue.fail(&id, &error_chain(&e)).await?;
            return Err(e);
        }
    };
    catalogue
        .complete(
            &id,
            Utc::now(),
            dumped.size_bytes,
            &dumped.sha256,
            &dumped.location,
        )
        .await?;
    let pruned = prune(catalogue, job.target, job.key, job.rules, job.tz).await?;
    Ok(Taken {
        id,
        started_at,
        dumped,
        pruned,
    })
}

/// The retention plan for a policy's complete backups, read from the catalogue, without
/// acting on it. The newest verified backup is protected.
pub async fn prune_plan(
    catalogue: &Catalogue,
    key: PolicyKey<'_>,
    rules: Rules,
    tz: Tz,
) -> Result<retention::Plan, Error> {
    let rows = catalogue.complete_backups(key).await?;
    Ok(retention_over(&rows, rules, tz))
}

/// A policy whose retention cannot be worked out from its spec; the message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRetentionSpec {
    #[error("spec.timeZone: unknown time zone {0:?}")]
    TimeZone(String),
    #[error(transparent)]
    Retention(#[from] retention::InvalidRetention),
}

/// The retention rules and the zone they read days in, checked as admission checks them.
pub fn retention_rules(spec: &BackupPolicySpec) -> Result<(Rules, Tz), InvalidRetentionSpec> {
    let tz: Tz = spec
        .time_zone
        .parse()
        .map_err(|_| InvalidRetentionSpec::TimeZone(spec.time_zone.clone()))?;
    Ok((Rules::validated(&spec.retention)?, tz))
}

/// What retention would prune now for a policy, from its spec and its catalogue rows: the pure
/// dry run `berth plan` shows. Rows of any status may be passed; only `complete` ones are
/// decided over, and the newest verified one is protected, as [`prune`] does. `Err` names the
/// field of the spec that cannot be used (`spec.timeZone`, `spec.retention.keepDaily` …).
pub fn retention_dry_run(
    spec: &BackupPolicySpec,
    backups: &[BackupRow],
) -> Result<retention::Plan, InvalidRetentionSpec> {
    let (rules, tz) = retention_rules(spec)?;
    let complete: Vec<BackupRow> = backups
        .iter()
        .filter(|b| b.status == "complete")
        .cloned()
        .collect();
    Ok(retention_over(&complete, rules, tz))
}

/// Retention over complete backups (any order), protecting the newest verified one.
fn retention_over(complete: &[BackupRow], rules: Rules, tz: Tz) -> retention::Plan {
    let items: Vec<retention::Item> = complete
        .iter()
        .map(|b| retention::Item {
            id: b.id.clone(),
            time: b.started_at,
        })
        .collect();
    let verified = complete
        .iter()
        .filter(|b| b.verified == Some(true))
        .max_by(|a, b| {
            a.started_at
                .cmp(&b.started_at)
                .then_with(|| a.id.cmp(&b.id))
        })
        .map(|b| b.id.as_str());
    retention::plan(rules, &items, verified.as_slice(), tz)
}

/// Applies retention: marks the pruned rows first, then deletes their files, so the catalogue
/// never lists a backup whose file is gone (a failed delete leaves an orphan file, logged).
pub async fn prune(
    catalogue: &Catalogue,
    target: &Target,
    key: PolicyKey<'_>,
    rules: Rules,
    tz: Tz,
) -> Result<Vec<String>, Error> {
    let plan = prune_plan(catalogue, key, rules, tz).await?;
    if plan.prune.is_empty() {
        return Ok(plan.prune);
    }
    let rows = catalogue.complete_backups(key).await?;
    catalogue.mark_pruned(&plan.prune).await?;
    for row in rows.iter().filter(|r| plan.prune.contains(&r.id)) {
        if let Some(location) = &row.location
            && let Err(e) = target.delete(location).await
        {
            tracing::warn!(backup = %row.id, error = %error_chain(&e), "failed to delete a pruned backup");
        }
    }
    Ok(plan.prune)
}

/// One verification to run.
#[derive(Clone, Debug)]
pub struct VerifyJob<'a> {
    pub key: PolicyKey<'a>,
    pub target: &'a Target,
    pub scratch: &'a Connection,
    pub checks: &'a [SqlCheck],
    pub timeout: Duration,
    /// `pg_restore --jobs` (see [`verify::Job::jobs`]).
    pub jobs: u16,
}

/// Verifies the newest complete backup and records the outcome. `None` when there is no
/// complete backup to verify.
pub async fn verify_newest(
    catalogue: &Catalogue,
    job: &VerifyJob<'_>,
) -> Result<Option<(BackupRow, Report)>, Error> {
    let Some(backup) = catalogue
        .complete_backups(job.key)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let (Some(location), Some(sha256)) = (backup.location.as_deref(), backup.sha256.as_deref())
    else {
        return Ok(None);
    };
    let id = catalogue.begin_verification(&backup.id, Utc::now()).await?;
    let application = application_name(job.key);
    let report = verify::verify(&verify::Job {
        target: job.target,
        location,
        sha256,
        scratch: job.scratch,
        checks: job.checks,
        timeout: job.timeout,
        application: &application,
        jobs: job.jobs,
    })
    .await;
    catalogue
        .finish_verification(id, Utc::now(), &report)
        .await?;
    Ok(Some((backup, report)))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn row(day: u32, status: &str, verified: Option<bool>) -> BackupRow {
        let at = Utc.with_ymd_and_hms(2026, 3, day, 3, 0, 0).unwrap();
        BackupRow {
            id: format!("d{day:02}"),
            namespace: "shop".into(),
            policy: "db".into(),
            started_at: at,
            completed_at: Some(at),
            size_bytes: Some(1),
            sha256: None,
            location: None,
            status: status.into(),
            error: None,
            trigger: "schedule".into(),
            verified,
            verified_at: None,
        }
    }

    // Protects: the dry run `berth plan` shows decides over complete rows only, keeps the
    // newest verified backup however old, and reads days in the policy's zone; a bad zone is
    // named, not defaulted.
    #[test]
    fn retention_dry_run_over_a_catalogue() {
        let spec: BackupPolicySpec = crate::yaml::from_str(
            "database: {connectionSecretRef: {name: db, key: uri}}\nschedule: '0 3 * * *'\ntimeZone: Europe/Stockholm\ndestination: {filesystem: {path: /b}}\nretention: {keepLast: 2, keepDaily: 0, keepWeekly: 0, keepMonthly: 0}\n",
        )
        .unwrap();
        let mut rows: Vec<BackupRow> = (1..=6).map(|d| row(d, "complete", None)).collect();
        rows[1].verified = Some(true);
        rows.push(row(7, "failed", None));
        rows.push(row(8, "pruned", None));
        let plan = retention_dry_run(&spec, &rows).unwrap();
        assert_eq!(plan.keep, vec!["d06", "d05", "d02"]);
        assert_eq!(plan.prune, vec!["d04", "d03", "d01"]);

        let mut bad = spec;
        bad.time_zone = "Mars/Olympus".into();
        let err = retention_dry_run(&bad, &rows).unwrap_err().to_string();
        assert!(
            err.contains("spec.timeZone") && err.contains("Mars/Olympus"),
            "{err}"
        );
        bad.time_zone = "UTC".into();
        bad.retention.keep_weekly = -2;
        let err = retention_dry_run(&bad, &rows).unwrap_err().to_string();
        assert!(err.starts_with("spec.retention.keepWeekly: -2"), "{err}");
    }
}
