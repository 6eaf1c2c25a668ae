//! Plan (pure): from the spec, the history in the catalogue and the clock, what to start now,
//! the status to write, the verdict, the alert condition and when to look again.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{
    api::backup_policy::{
        BackupPolicySpec, BackupPolicyStatus, BackupRecord, PlatformBackupsSummary,
        VerificationRecord,
    },
    backup::{
        catalogue::{BackupRow, Summary, Trigger, VerificationRow},
        schedule::{self, Due, Schedule},
    },
    controllers::{
        SyncResult, Verdict,
        conditions::{Desired, reasons},
        deps,
    },
};

/// The alert condition type: `True` while the newest backup is older than twice the schedule's
/// period or the newest verification failed.
pub const ALERTING: &str = "Alerting";

/// Reasons of this kind's conditions.
pub mod reason {
    /// The newest backup is older than twice its schedule.
    pub const BACKUP_STALE: &str = "BackupStale";
    /// The newest restore verification failed.
    pub const VERIFICATION_FAILED: &str = "VerificationFailed";
    /// Nothing to alert about.
    pub const NO_ALERT: &str = "NoAlert";
    /// The newest backup run failed.
    pub const BACKUP_FAILED: &str = "BackupFailed";
    /// The first backup is being taken.
    pub const BACKING_UP: &str = "BackingUp";
    /// The controller runs without a history database, where every run must be recorded.
    pub const NO_HISTORY_DATABASE: &str = "NoHistoryDatabase";
}

/// A late start by more than this counts as a missed run made up at start-up.
const MISSED_AFTER: Duration = Duration::from_secs(60);
/// Requeues land this long after a due time, so the schedule sees the time as passed.
const DUE_MARGIN: Duration = Duration::from_millis(250);

/// What runs for a policy in this process right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Running {
    Backup,
    Verification,
}

/// What was observed (all I/O done).
#[derive(Clone, Debug)]
pub struct Observed {
    pub now: DateTime<Utc>,
    /// The object's creation: schedules before it were never due.
    pub created: DateTime<Utc>,
    /// Missing Secrets and objects.
    pub missing: Vec<String>,
    /// A Secret's value cannot be used (bad URI, missing S3 key); names the field.
    pub invalid_secret: Option<String>,
    /// The catalogue, `Err` when the history database is absent or unreadable.
    pub history: History,
    /// A run of this policy in flight in this process.
    pub running: Option<Running>,
    /// A reconcile-now annotation value not handled yet.
    pub request: Option<String>,
    /// The regular resync interval.
    pub resync: Duration,
    /// The platform's own backups as last read (`None` without `supabaseEnvironmentRef`).
    pub platform: Option<PlatformBackupsSummary>,
}

/// The catalogue as observed.
#[derive(Clone, Debug)]
pub enum History {
    /// The controller has no history database.
    NoDatabase,
    /// It could not be read.
    Unreadable(String),
    /// It was read.
    Read(Box<Summary>),
}

/// What to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    Backup(Trigger),
    Verification,
}

/// The plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub start: Option<Start>,
    /// The kind-specific status (the common part is the runtime's).
    pub status: BackupPolicyStatus,
    pub verdict: Verdict,
    pub sync: SyncResult,
    /// The `Alerting` condition (absent while the spec cannot be acted on).
    pub alert: Option<Desired>,
    pub requeue: Option<Duration>,
}

struct Schedules {
    backup: Schedule,
    verification: Option<Schedule>,
    deadline: Duration,
}

fn schedules(spec: &BackupPolicySpec) -> Result<Schedules, String> {
    let err = |field: &str, e: schedule::Error| format!("spec.{field}: {e}");
    let backup =
        Schedule::parse(&spec.schedule, &spec.time_zone).map_err(|e| err("schedule", e))?;
    let verification = spec
        .verification
        .as_ref()
        .map(|v| {
            schedule::parse_duration(&v.timeout).map_err(|e| err("verification.timeout", e))?;
            Schedule::parse(&v.schedule, &spec.time_zone)
                .map_err(|e| err("verification.schedule", e))
        })
        .transpose()?;
    let deadline = schedule::parse_duration(&spec.starting_deadline)
        .map_err(|e| err("startingDeadline", e))?;
    Ok(Schedules {
        backup,
        verification,
        deadline,
    })
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn unchanged(previous: &BackupPolicyStatus, (verdict, sync): (Verdict, SyncResult)) -> Plan {
    Plan {
        start: None,
        status: previous.clone(),
        verdict,
        sync,
        alert: None,
        requeue: None,
    }
}

/// Decides.
#[must_use]
pub fn plan(spec: &BackupPolicySpec, previous: &BackupPolicyStatus, o: &Observed) -> Plan {
    if !o.missing.is_empty() {
        return unchanged(previous, Verdict::blocked(deps::waiting_for(&o.missing)));
    }
    let s = match schedules(spec) {
        Ok(s) => s,
        Err(message) => {
            return unchanged(previous, Verdict::stalled(reasons::INVALID_SPEC, message));
        }
    };
    if let Some(message) = &o.invalid_secret {
        return unchanged(
            previous,
            Verdict::stalled(reasons::INVALID_SPEC, message.clone()),
        );
    }
    let summary = match &o.history {
        History::NoDatabase => {
            return unchanged(
                previous,
                Verdict::stalled(
                    reason::NO_HISTORY_DATABASE,
                    "berth runs without --database-url: backups are not taken because they could not be recorded".into(),
                ),
            );
        }
        History::Unreadable(e) => {
            let message = format!("the backup catalogue is unreadable: {e}");
            return Plan {
                requeue: Some(Duration::from_secs(30).min(o.resync)),
                ..unchanged(
                    previous,
                    (
                        Verdict::Retrying {
                            message: message.clone(),
                        },
                        SyncResult::Failed {
                            reason: reasons::RETRYING,
                            message,
                        },
                    ),
                )
            };
        }
        History::Read(summary) => summary,
    };

    let start = decide(spec, &s, summary, o);
    let running = o.running.or(match start {
        Some(Start::Backup(_)) => Some(Running::Backup),
        Some(Start::Verification) => Some(Running::Verification),
        None => None,
    });

    let next_backup = s.backup.next_after(o.now);
    let next_verification = s.verification.as_ref().and_then(|v| v.next_after(o.now));
    let status = BackupPolicyStatus {
        common: previous.common.clone(),
        last_backup: summary.last_complete.as_ref().map(backup_record),
        last_verification: summary
            .last_verification
            .as_ref()
            .and_then(verification_record),
        next_backup_time: next_backup.map(rfc3339),
        next_verification_time: next_verification.map(rfc3339),
        backup_count: Some(i32::try_from(summary.complete_count).unwrap_or(i32::MAX)),
        platform_backups: o.platform.clone(),
    };

    let (verdict, sync) = verdict(summary, running, next_backup);
    let (alert, stale_at) = alert(&s, summary, o);
    let platform_read = o.platform.as_ref().and_then(super::platform::stale_at);
    let requeue = [next_backup, next_verification, stale_at, platform_read]
        .into_iter()
        .flatten()
        .filter_map(|t| (t - o.now).to_std().ok())
        .map(|d| d + DUE_MARGIN)
        .chain([o.resync])
        .min();
    Plan {
        start,
        status,
        verdict,
        sync,
        alert: Some(alert),
        requeue,
    }
}

/// One run at a time: a requested or due backup first, then a due verification.
fn decide(
    spec: &BackupPolicySpec,
    s: &Schedules,
    summary: &Summary,
    o: &Observed,
) -> Option<Start> {
    if o.running.is_some() {
        return None;
    }
    if o.request.is_some() {
        return Some(Start::Backup(Trigger::Request));
    }
    if let Due::Now { scheduled } = s
        .backup
        .due(o.now, summary.last_started, o.created, s.deadline)
    {
        let late = (o.now - scheduled).to_std().unwrap_or_default();
        return Some(Start::Backup(if late > MISSED_AFTER {
            Trigger::Missed
        } else {
            Trigger::Schedule
        }));
    }
    let verification = s.verification.as_ref()?;
    spec.verification.as_ref()?;
    summary.last_complete.as_ref()?;
    // The first backup is proved at once rather than at the next verification slot, which may
    // be a week away: until then nobody knows whether these backups restore.
    let Some(last) = summary.last_verification.as_ref().map(|v| v.started_at) else {
        return Some(Start::Verification);
    };
    matches!(
        verification.due(o.now, Some(last), o.created, s.deadline),
        Due::Now { .. }
    )
    .then_some(Start::Verification)
}

fn verdict(
    summary: &Summary,
    running: Option<Running>,
    next: Option<DateTime<Utc>>,
) -> (Verdict, SyncResult) {
    let next = next.map_or_else(|| "never".to_string(), rfc3339);
    if let Some(failed) = summary
        .newest
        .as_ref()
        .filter(|b| b.status == "failed" && running != Some(Running::Backup))
    {
        let message = format!(
            "backup {} failed: {}; next attempt at {next}",
            failed.id,
            failed.error.as_deref().unwrap_or("unknown error")
        );
        return (
            Verdict::Retrying {
                message: message.clone(),
            },
            SyncResult::Failed {
                reason: reason::BACKUP_FAILED,
                message,
            },
        );
    }
    match (&summary.last_complete, running) {
        (None, Some(Running::Backup)) => (
            Verdict::Progressing {
                reason: reason::BACKING_UP,
                message: "taking the first backup".into(),
            },
            SyncResult::Succeeded,
        ),
        (None, _) => (
            Verdict::Ready {
                message: format!("scheduled: the first backup is due at {next}"),
            },
            SyncResult::Succeeded,
        ),
        (Some(b), running) => {
            let mut message = format!(
                "last backup {} at {} ({} bytes); next at {next}",
                b.id,
                b.completed_at.map_or_else(String::new, rfc3339),
                b.size_bytes.unwrap_or_default()
            );
            match running {
                Some(Running::Backup) => message.push_str("; a backup is running"),
                Some(Running::Verification) => message.push_str("; a verification is running"),
                None => {}
            }
            (Verdict::Ready { message }, SyncResult::Succeeded)
        }
    }
}

/// The alert condition, and when a fresh backup would turn stale (to look again then).
fn alert(s: &Schedules, summary: &Summary, o: &Observed) -> (Desired, Option<DateTime<Utc>>) {
    let desired = |status, reason, message: String| Desired {
        type_: ALERTING,
        status,
        reason,
        message,
    };
    if let Some(v) = summary
        .last_verification
        .as_ref()
        .filter(|v| v.passed == Some(false))
    {
        let mut message = format!("restore verification of backup {} failed", v.backup_id);
        if let Some(m) = &v.message {
            message.push_str(": ");
            message.push_str(m);
        }
        return (desired("True", reason::VERIFICATION_FAILED, message), None);
    }
    let reference = summary
        .last_complete
        .as_ref()
        .and_then(|b| b.completed_at)
        .unwrap_or(o.created);
    let stale_at = s
        .backup
        .period_at(o.now)
        .and_then(|p| chrono::Duration::from_std(p * 2).ok())
        .map(|p| reference + p);
    match stale_at {
        Some(at) if at <= o.now => (
            desired(
                "True",
                reason::BACKUP_STALE,
                match &summary.last_complete {
                    Some(b) => format!(
                        "the newest backup ({}) is older than twice the schedule",
                        b.completed_at.map_or_else(String::new, rfc3339)
                    ),
                    None => "no backup was taken within twice the schedule".into(),
                },
            ),
            None,
        ),
        at => (desired("False", reason::NO_ALERT, String::new()), at),
    }
}

fn backup_record(b: &BackupRow) -> BackupRecord {
    BackupRecord {
        id: b.id.clone(),
        started_at: Some(rfc3339(b.started_at)),
        completed_at: b.completed_at.map(rfc3339),
        size_bytes: b.size_bytes,
        sha256: b.sha256.clone(),
        location: b.location.clone(),
    }
}

fn verification_record(v: &VerificationRow) -> Option<VerificationRecord> {
    Some(VerificationRecord {
        backup_id: v.backup_id.clone(),
        time: rfc3339(v.finished_at?),
        passed: v.passed?,
        duration_ms: v.duration_ms,
        failed_checks: v.failed_checks.clone(),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    const SPEC: &str = "database: {connectionSecretRef: {name: db, key: uri}}\nschedule: '0 3 * * *'\ndestination: {filesystem: {path: /backups}}\nverification: {schedule: '30 4 * * 0', checks: [{name: rows, sql: 'select 1', expect: '1'}]}\n";

    fn spec(yaml: &str) -> BackupPolicySpec {
        crate::yaml::from_str(yaml).unwrap()
    }
    fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap()
    }
    fn observed(now: DateTime<Utc>, summary: Summary) -> Observed {
        Observed {
            now,
            created: utc(1, 0, 0),
            missing: vec![],
            invalid_secret: None,
            history: History::Read(Box::new(summary)),
            running: None,
            request: None,
            resync: Duration::from_secs(300),
            platform: None,
        }
    }
    fn complete(id: &str, at: DateTime<Utc>) -> BackupRow {
        BackupRow {
            id: id.into(),
            namespace: "shop".into(),
            policy: "db".into(),
            started_at: at,
            completed_at: Some(at + chrono::Duration::seconds(5)),
            size_bytes: Some(1000),
            sha256: Some("ab".repeat(32)),
            location: Some(format!("file:///backups/{id}.dump")),
            status: "complete".into(),
            error: None,
            trigger: "schedule".into(),
            verified: None,
            verified_at: None,
        }
    }
    fn history(rows: &[BackupRow]) -> Summary {
        Summary {
            last_started: rows.first().map(|b| b.started_at),
            newest: rows.first().cloned(),
            last_complete: rows.iter().find(|b| b.status == "complete").cloned(),
            complete_count: rows.iter().filter(|b| b.status == "complete").count() as i64,
            // The first complete backup was verified right after it was taken.
            last_verification: rows.iter().rfind(|b| b.status == "complete").map(|b| {
                VerificationRow {
                    id: 1,
                    backup_id: b.id.clone(),
                    started_at: b.started_at + chrono::Duration::minutes(1),
                    finished_at: Some(b.started_at + chrono::Duration::minutes(2)),
                    passed: Some(true),
                    duration_ms: Some(900),
                    restore_ms: Some(800),
                    failed_checks: Vec::new(),
                    message: None,
                    checks: serde_json::json!([]),
                }
            }),
        }
    }

    // Protects: a policy's first complete backup is verified at once, not at the next
    // verification slot days away; later ones wait for the schedule.
    #[test]
    fn the_first_backup_is_verified_at_once() {
        let mut h = history(&[complete("b1", utc(10, 3, 0))]);
        let o = observed(utc(10, 3, 5), h.clone());
        assert_eq!(
            plan(&spec(SPEC), &BackupPolicyStatus::default(), &o).start,
            None,
            "verified once already: wait for Sunday"
        );
        h.last_verification = None;
        let o = observed(utc(10, 3, 5), h);
        assert_eq!(
            plan(&spec(SPEC), &BackupPolicyStatus::default(), &o).start,
            Some(Start::Verification)
        );
    }

    // Protects: at the scheduled time a backup starts; a minute before, nothing starts and the
    // requeue lands just after 03:00.
    #[test]
    fn a_due_backup_starts_and_requeue_aims_at_the_next_run() {
        let prev = complete("b1", utc(9, 3, 0));
        let p = plan(
            &spec(SPEC),
            &BackupPolicyStatus::default(),
            &observed(utc(10, 2, 59), history(std::slice::from_ref(&prev))),
        );
        assert_eq!(p.start, None);
        assert_eq!(p.requeue, Some(Duration::from_secs(60) + DUE_MARGIN));
        assert_eq!(
            p.status.next_backup_time.as_deref(),
            Some("2026-03-10T03:00:00Z")
        );
        assert_eq!(p.status.last_backup.as_ref().unwrap().id, "b1");

        let p = plan(
            &spec(SPEC),
            &BackupPolicyStatus::default(),
            &observed(utc(10, 3, 0), history(&[prev])),
        );
        assert_eq!(p.start, Some(Start::Backup(Trigger::Schedule)));
        assert!(
            matches!(&p.verdict, Verdict::Ready { message } if message.contains("a backup is running"))
        );
    }

    // Protects: no overlapping runs: nothing starts while a run of the policy is in flight.
    #[test]
    fn nothing_starts_while_a_run_is_in_flight() {
        let mut o = observed(utc(10, 3, 0), history(&[complete("b1", utc(9, 3, 0))]));
        o.running = Some(Running::Verification);
        o.request = Some("now".into());
        assert_eq!(
            plan(&spec(SPEC), &BackupPolicyStatus::default(), &o).start,
            None
        );
    }

    // Protects: the reconcile-now annotation takes a backup now; a run missed while the
    // controller was down is made up once inside startingDeadline (1h), not after it.
    #[test]
    fn requests_and_missed_runs() {
        let h = history(&[complete("b1", utc(9, 3, 0))]);
        let mut o = observed(utc(10, 12, 0), h.clone());
        o.request = Some("2026-03-10T12:00:00Z".into());
        assert_eq!(
            plan(&spec(SPEC), &BackupPolicyStatus::default(), &o).start,
            Some(Start::Backup(Trigger::Request))
        );
        let o = observed(utc(10, 3, 40), h.clone());
        assert_eq!(
            plan(&spec(SPEC), &BackupPolicyStatus::default(), &o).start,
            Some(Start::Backup(Trigger::Missed))
        );
        let o = observed(utc(10, 4, 10), h);
        assert_eq!(
            plan(&spec(SPEC), &BackupPolicyStatus::default(), &o).start,
            None
        );
    }

    // Protects: verification runs on its own schedule once a complete backup exists, and a
    // failed one raises the alert condition with the failed backup named.
    #[test]
    fn verification_is_scheduled_and_failure_alerts() {
        // 2026-03-08 is a Sunday.
        let h = history(&[complete("b1", utc(8, 3, 0))]);
        let o = observed(utc(8, 4, 30), h.clone());
        let p = plan(&spec(SPEC), &BackupPolicyStatus::default(), &o);
        assert_eq!(p.start, Some(Start::Verification));

        let mut failed = h;
        failed.last_verification = Some(VerificationRow {
            id: 1,
            backup_id: "b1".into(),
            started_at: utc(8, 4, 30),
            finished_at: Some(utc(8, 4, 31)),
            passed: Some(false),
            duration_ms: Some(900),
            restore_ms: Some(800),
            failed_checks: vec!["rows".into()],
            message: Some("failed checks: rows".into()),
            checks: serde_json::json!([]),
        });
        let p = plan(
            &spec(SPEC),
            &BackupPolicyStatus::default(),
            &observed(utc(8, 5, 0), failed),
        );
        assert_eq!(p.start, None);
        let alert = p.alert.unwrap();
        assert_eq!(
            (alert.status, alert.reason),
            ("True", reason::VERIFICATION_FAILED)
        );
        assert!(alert.message.contains("b1"));
        let v = p.status.last_verification.unwrap();
        assert!(!v.passed);
        assert_eq!(v.failed_checks, vec!["rows"]);
    }

    // Protects: a backup older than twice its schedule raises the alert; a fresh one does not,
    // and the requeue lands when it would turn stale if nothing else comes first.
    #[test]
    fn stale_backup_alerts() {
        let h = history(&[complete("b1", utc(5, 3, 0))]);
        let p = plan(
            &spec(SPEC),
            &BackupPolicyStatus::default(),
            &observed(utc(7, 12, 0), h),
        );
        let alert = p.alert.unwrap();
        assert_eq!((alert.status, alert.reason), ("True", reason::BACKUP_STALE));

        let h = history(&[complete("b1", utc(7, 3, 0))]);
        let p = plan(
            &spec(SPEC),
            &BackupPolicyStatus::default(),
            &observed(utc(7, 12, 0), h),
        );
        assert_eq!(p.alert.unwrap().status, "False");
    }

    // Protects: a failed newest run is reported as retrying with its error, not as Ready.
    #[test]
    fn failed_backup_is_not_ready() {
        let mut failed = complete("b2", utc(10, 3, 0));
        failed.status = "failed".into();
        failed.error = Some("pg_dump failed: connection refused".into());
        let rows = [failed, complete("b1", utc(9, 3, 0))];
        let p = plan(
            &spec(SPEC),
            &BackupPolicyStatus::default(),
            &observed(utc(10, 3, 5), history(&rows)),
        );
        let Verdict::Retrying { message } = &p.verdict else {
            panic!("{:?}", p.verdict)
        };
        assert!(message.contains("connection refused"), "{message}");
        assert!(matches!(
            p.sync,
            SyncResult::Failed {
                reason: reason::BACKUP_FAILED,
                ..
            }
        ));
    }

    // Protects: missing Secrets are named; bad specs and no database stall with a reason.
    #[test]
    fn blocked_invalid_and_no_database() {
        let mut o = observed(utc(10, 3, 0), Summary::default());
        o.missing = vec!["Secret shop/db".into()];
        let p = plan(&spec(SPEC), &BackupPolicyStatus::default(), &o);
        assert_eq!(
            p.verdict,
            Verdict::Blocked {
                message: "waiting for Secret shop/db".into()
            }
        );
        let bad = SPEC.replace("'0 3 * * *'", "'0 3 * * *'\ntimeZone: Mars/Olympus");
        let p = plan(
            &spec(&bad),
            &BackupPolicyStatus::default(),
            &observed(utc(10, 3, 0), Summary::default()),
        );
        assert!(
            matches!(&p.verdict, Verdict::Stalled { reason: reasons::INVALID_SPEC, message } if message.contains("Mars/Olympus"))
        );
        let mut o = observed(utc(10, 3, 0), Summary::default());
        o.history = History::NoDatabase;
        let p = plan(&spec(SPEC), &BackupPolicyStatus::default(), &o);
        assert!(matches!(
            p.verdict,
            Verdict::Stalled {
                reason: reason::NO_HISTORY_DATABASE,
                ..
            }
        ));
        assert_eq!(p.start, None);
    }
}
