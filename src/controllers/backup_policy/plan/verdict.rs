//! The verdict on a policy whose history was read: Ready with its last backup and next run,
//! Progressing while the first backup is taken, Retrying after a failed run.

use chrono::{DateTime, Utc};

use super::{Running, reason, status::rfc3339};
use crate::{
    backup::catalogue::Summary,
    controllers::{SyncResult, Verdict},
};

pub(super) fn verdict(
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

#[cfg(test)]
mod tests {
    use super::super::{plan, reason, test_support::*};
    use crate::{
        api::backup_policy::BackupPolicyStatus,
        controllers::{SyncResult, Verdict},
    };

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
}
