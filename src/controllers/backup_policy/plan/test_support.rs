//! Fixtures for the plan tests: a nightly policy verified on Sundays, and catalogue
//! summaries built from rows.

use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};

use super::{History, Observed};
use crate::{
    api::backup_policy::BackupPolicySpec,
    backup::catalogue::{BackupRow, Summary, VerificationRow},
};

pub(super) const SPEC: &str = "database: {connectionSecretRef: {name: db, key: uri}}\nschedule: '0 3 * * *'\ndestination: {filesystem: {path: /backups}}\nverification: {schedule: '30 4 * * 0', checks: [{name: rows, sql: 'select 1', expect: '1'}]}\n";

pub(super) fn spec(yaml: &str) -> BackupPolicySpec {
    crate::yaml::from_str(yaml).unwrap()
}
pub(super) fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap()
}
pub(super) fn observed(now: DateTime<Utc>, summary: Summary) -> Observed {
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
pub(super) fn complete(id: &str, at: DateTime<Utc>) -> BackupRow {
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
pub(super) fn history(rows: &[BackupRow]) -> Summary {
    Summary {
        last_started: rows.first().map(|b| b.started_at),
        newest: rows.first().cloned(),
        last_complete: rows.iter().find(|b| b.status == "complete").cloned(),
        complete_count: rows.iter().filter(|b| b.status == "complete").count() as i64,
        // The first complete backup was verified right after it was taken.
        last_verification: rows
            .iter()
            .rfind(|b| b.status == "complete")
            .map(|b| VerificationRow {
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
            }),
    }
}
