//! The `Alerting` condition: raised by a failed restore verification, or by a newest backup
//! older than twice the schedule's period (and when a fresh one would turn stale, to look
//! again then).

use chrono::{DateTime, Utc};

use super::{ALERTING, Observed, reason, schedules::Schedules, status::rfc3339};
use crate::{backup::catalogue::Summary, controllers::conditions::Desired};

/// The alert condition, and when a fresh backup would turn stale (to look again then).
pub(super) fn alert(
    s: &Schedules,
    summary: &Summary,
    o: &Observed,
) -> (Desired, Option<DateTime<Utc>>) {
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

#[cfg(test)]
mod tests {
    use super::super::{Start, plan, reason, test_support::*};
    use crate::{api::backup_policy::BackupPolicyStatus, backup::catalogue::VerificationRow};

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
}
