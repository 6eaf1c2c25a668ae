//! Restore verification: restore a backup with `pg_restore` (reading the file of a directory
//! backup itself, or streamed from S3) while re-computing its sha256, restore into a scratch database, run the policy's SQL checks, and
//! drop the scratch database whatever happened. A checksum mismatch, a failed restore, a check
//! that errors or returns anything but its expected value, or a time-out fail the verification.
//!
//! Never returns an error: every failure is part of the [`Report`], which is what gets recorded.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use futures::StreamExt as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use sqlx::{Connection as _, PgConnection, Row as _, ValueRef as _};
use tokio::io::AsyncWriteExt as _;

use super::{
    connection::{Connection, scrub_pg_env},
    destination::Target,
    dump::{tail, tool},
};
use crate::api::backup_policy::SqlCheck;

/// One check's result, as stored in `backup_verifications.checks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutcome {
    pub name: String,
    pub passed: bool,
    pub expected: String,
    /// The value returned, as text (`NULL` for SQL null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of one verification.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub passed: bool,
    /// Whether the bytes read back hash to the recorded sha256.
    pub checksum_ok: bool,
    pub restore_ms: u64,
    /// Restore plus checks.
    pub duration_ms: u64,
    /// Phases around the restore (not stored; for profiling): creating the scratch database,
    /// running the checks, dropping it.
    pub create_ms: u64,
    pub checks_ms: u64,
    pub drop_ms: u64,
    pub checks: Vec<CheckOutcome>,
    /// Why it failed (first cause first), or `None`.
    pub message: Option<String>,
}

impl Report {
    /// Names of the checks that did not pass.
    #[must_use]
    pub fn failed_checks(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.clone())
            .collect()
    }
}

/// What to verify.
#[derive(Clone, Debug)]
pub struct Job<'a> {
    pub target: &'a Target,
    pub location: &'a str,
    pub sha256: &'a str,
    /// A server where a scratch database may be created and dropped.
    pub scratch: &'a Connection,
    pub checks: &'a [SqlCheck],
    pub timeout: Duration,
    /// `application_name` of berth's sessions.
    pub application: &'a str,
    /// `pg_restore --jobs` for a backup in a directory (S3 backups are streamed: one job).
    pub jobs: u16,
}

/// Restores, checks and cleans up.
pub async fn verify(job: &Job<'_>) -> Report {
    let started = Instant::now();
    let scratch_db = format!("berth_verify_{}", suffix());
    let mut report = Report::default();
    let created = create_database(job, &scratch_db).await;
    report.create_ms = millis(started.elapsed());
    if let Err(e) = created {
        report.message = Some(format!("failed to create the scratch database: {e}"));
        return report;
    }
    let inner = tokio::time::timeout(
        job.timeout,
        restore_and_check(job, &scratch_db, &mut report),
    )
    .await;
    report.duration_ms = millis(started.elapsed());
    let mut problems: Vec<String> = Vec::new();
    match inner {
        Ok(Ok(())) => {}
        Ok(Err(message)) => problems.push(message),
        Err(_) => problems.push(format!("timed out after {:?}", job.timeout)),
    }
    if !report.checksum_ok && !problems.iter().any(|p| p.contains("checksum")) {
        problems.insert(0, "checksum not confirmed".into());
    }
    let failed = report.failed_checks();
    if !failed.is_empty() {
        problems.push(format!("failed checks: {}", failed.join(", ")));
    }
    let dropping = Instant::now();
    let dropped = drop_database(job, &scratch_db).await;
    report.drop_ms = millis(dropping.elapsed());
    if let Err(e) = dropped {
        // The verdict stands; the leftover is named so an operator can remove it.
        tracing::warn!(database = %scratch_db, error = %e, "failed to drop the scratch database");
        problems.push(format!(
            "scratch database {scratch_db} was not dropped: {e}"
        ));
    }
    report.passed = problems.is_empty();
    report.message = (!problems.is_empty()).then(|| problems.join("; "));
    report
}

async fn restore_and_check(job: &Job<'_>, db: &str, report: &mut Report) -> Result<(), String> {
    let restore_started = Instant::now();
    let (restored, sha256) = restore(job, db).await;
    report.restore_ms = millis(restore_started.elapsed());
    report.checksum_ok = sha256.as_deref() == Some(job.sha256);
    if let Some(actual) = sha256.as_deref().filter(|a| *a != job.sha256) {
        let checksum = format!(
            "checksum mismatch: recorded {}, read back {actual}",
            job.sha256
        );
        return Err(match restored {
            Ok(()) => checksum,
            Err(e) => format!("{checksum}; {e}"),
        });
    }
    restored?;
    let checks_started = Instant::now();
    let mut conn =
        PgConnection::connect_with(&job.scratch.with_database(db).options(job.application))
            .await
            .map_err(|e| format!("failed to connect to the restored database: {e}"))?;
    for check in job.checks {
        report.checks.push(run_check(&mut conn, check).await);
    }
    let _ = conn.close().await;
    report.checks_ms = millis(checks_started.elapsed());
    Ok(())
}

/// Restores the backup into `db`; returns the restore result and the sha256 of every byte
/// read (`None` when reading the backup itself failed).
async fn restore(job: &Job<'_>, db: &str) -> (Result<(), String>, Option<String>) {
    let mut stream = match job.target.open(job.location).await {
        Ok(s) => s,
        Err(e) => return (Err(format!("failed to read the backup: {e}")), None),
    };
    // A backup in a directory is read by pg_restore itself, as the plain tool would (no pipe
    // in between; parallel restore needs a seekable file); the stream opened above then only
    // feeds the hash. S3 backups are piped into pg_restore's stdin.
    let file = job.target.local_path(job.location);
    let pg_restore = tool("pg_restore");
    let mut cmd = tokio::process::Command::new(&pg_restore);
    scrub_pg_env(&mut cmd);
    cmd.args([
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--no-password",
    ])
    .arg(format!("--dbname={db}"))
    .envs(job.scratch.with_database(db).env(job.application))
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    match &file {
        Some(path) => {
            if job.jobs > 1 {
                cmd.arg(format!("--jobs={}", job.jobs));
            }
            cmd.arg(path).stdin(Stdio::null());
        }
        None => {
            cmd.stdin(Stdio::piped());
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return (
                Err(format!("failed to start {}: {e}", pg_restore.display())),
                None,
            );
        }
    };
    let stderr = tokio::spawn(tail(child.stderr.take()));
    let mut stdin = child.stdin.take();
    let mut hasher = Sha256::new();
    let mut read_error = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                hasher.update(&bytes);
                // pg_restore may stop early (a corrupt archive); keep reading to finish the
                // checksum, which is then the clearer message.
                if let Some(w) = stdin.as_mut()
                    && w.write_all(&bytes).await.is_err()
                {
                    stdin = None;
                }
            }
            Err(e) => {
                read_error = Some(format!("failed to read the backup: {e}"));
                break;
            }
        }
    }
    if let Some(mut w) = stdin {
        let _ = w.shutdown().await;
    }
    let status = child.wait().await;
    let stderr = stderr.await.unwrap_or_default();
    if let Some(e) = read_error {
        return (Err(e), None);
    }
    let sha256 = hex::encode(hasher.finalize());
    match status {
        Ok(s) if s.success() => (Ok(()), Some(sha256)),
        Ok(s) => (
            Err(format!("pg_restore failed ({s}): {stderr}")),
            Some(sha256),
        ),
        Err(e) => (Err(format!("pg_restore did not finish: {e}")), Some(sha256)),
    }
}

/// Runs one check with the simple query protocol, so the value comes back as Postgres's own
/// text form (`t`, `42`), which is what `expect` is written in.
async fn run_check(conn: &mut PgConnection, check: &SqlCheck) -> CheckOutcome {
    let started = Instant::now();
    // The checks are SQL by design, written by whoever may edit the policy, and run only
    // against the scratch copy.
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(check.sql.clone()))
        .fetch_all(&mut *conn)
        .await;
    let mut out = CheckOutcome {
        name: check.name.clone(),
        passed: false,
        expected: check.expect.clone(),
        actual: None,
        duration_ms: millis(started.elapsed()),
        error: None,
    };
    match result {
        Err(e) => out.error = Some(e.to_string()),
        Ok(rows) => match rows.as_slice() {
            [row] if row.len() == 1 => match row.try_get_raw(0) {
                Ok(v) if v.is_null() => out.actual = Some("NULL".into()),
                Ok(v) => match v.as_str() {
                    Ok(s) => out.actual = Some(s.to_string()),
                    Err(e) => out.error = Some(format!("value is not text: {e}")),
                },
                Err(e) => out.error = Some(e.to_string()),
            },
            rows => {
                out.error = Some(format!(
                    "expected one row with one column, got {} row(s)",
                    rows.len()
                ));
            }
        },
    }
    out.passed = out.error.is_none() && out.actual.as_deref() == Some(check.expect.as_str());
    out
}

async fn admin(job: &Job<'_>) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect_with(&job.scratch.options(job.application)).await
}

async fn create_database(job: &Job<'_>, db: &str) -> Result<(), sqlx::Error> {
    let mut conn = admin(job).await?;
    // `db` is `berth_verify_` plus [a-z0-9]: nothing to escape.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\"")))
        .execute(&mut conn)
        .await?;
    let _ = conn.close().await;
    Ok(())
}

async fn drop_database(job: &Job<'_>, db: &str) -> Result<(), sqlx::Error> {
    let mut conn = admin(job).await?;
    // FORCE ends sessions a timed-out restore or check may have left behind.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    let _ = conn.close().await;
    Ok(())
}

/// A lower-case suffix that keeps concurrent verifications apart; only `[a-z0-9]`, so the
/// database name needs no escaping.
fn suffix() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..10)
        .map(|_| {
            let n = rng.random_range(0..36u8);
            char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
        })
        .collect()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
