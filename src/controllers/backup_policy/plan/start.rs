//! What to start now: a requested or due backup (scheduled, or missed while the controller
//! was down), else a due verification; never two runs of a policy at once.

use std::time::Duration;

use super::{Observed, Start, schedules::Schedules};
use crate::{
    api::backup_policy::BackupPolicySpec,
    backup::{
        catalogue::{Summary, Trigger},
        schedule::Due,
    },
};

/// A late start by more than this counts as a missed run made up at start-up.
const MISSED_AFTER: Duration = Duration::from_secs(60);

/// One run at a time: a requested or due backup first, then a due verification.
pub(super) fn decide(
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

#[cfg(test)]
mod tests {
    use super::super::{Running, Start, plan, test_support::*};
    use crate::{api::backup_policy::BackupPolicyStatus, backup::catalogue::Trigger};

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
}
