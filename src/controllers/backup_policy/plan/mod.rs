//! Plan (pure): from the spec, the history in the catalogue and the clock, what to start now,
//! the status to write, the verdict, the alert condition and when to look again.
//!
//! ```text
//! spec ─► schedules (parse) ─┐
//! catalogue summary ─────────┼─► start (what runs now) ─► verdict (Ready/Retrying/…)
//! clock, running, request ───┘   alert (stale/failed verification) ─► status, requeue
//! ```

mod alert;
mod schedules;
mod start;
mod status;
#[cfg(test)]
mod test_support;
mod verdict;

use std::time::Duration;

use chrono::{DateTime, Utc};

use self::{
    schedules::schedules,
    status::{backup_record, rfc3339, verification_record},
};
use crate::{
    api::backup_policy::{BackupPolicySpec, BackupPolicyStatus, PlatformBackupsSummary},
    backup::catalogue::{Summary, Trigger},
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

    let start = start::decide(spec, &s, summary, o);
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

    let (verdict, sync) = verdict::verdict(summary, running, next_backup);
    let (alert, stale_at) = alert::alert(&s, summary, o);
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

#[cfg(test)]
mod tests {
    use super::{test_support::*, *};

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
