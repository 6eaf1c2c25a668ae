//! The spec's schedules parsed once per plan: a spec whose schedule, verification schedule,
//! verification timeout or starting deadline cannot be read stalls with the field named.

use std::time::Duration;

use crate::{
    api::backup_policy::BackupPolicySpec,
    backup::schedule::{self, Schedule},
};

/// The spec's schedules and deadline, parsed.
pub(super) struct Schedules {
    pub(super) backup: Schedule,
    pub(super) verification: Option<Schedule>,
    pub(super) deadline: Duration,
}

/// Parses them; `Err` names the field (`spec.schedule: …`).
pub(super) fn schedules(spec: &BackupPolicySpec) -> Result<Schedules, String> {
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
