//! The status records a plan writes: the newest complete backup and the newest finished
//! verification, times in RFC 3339 to the second.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{
    api::backup_policy::{BackupRecord, VerificationRecord},
    backup::catalogue::{BackupRow, VerificationRow},
};

pub(super) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn backup_record(b: &BackupRow) -> BackupRecord {
    BackupRecord {
        id: b.id.clone(),
        started_at: Some(rfc3339(b.started_at)),
        completed_at: b.completed_at.map(rfc3339),
        size_bytes: b.size_bytes,
        sha256: b.sha256.clone(),
        location: b.location.clone(),
    }
}

pub(super) fn verification_record(v: &VerificationRow) -> Option<VerificationRecord> {
    Some(VerificationRecord {
        backup_id: v.backup_id.clone(),
        time: rfc3339(v.finished_at?),
        passed: v.passed?,
        duration_ms: v.duration_ms,
        failed_checks: v.failed_checks.clone(),
    })
}
