//! The job registry: every periodic job (probes, rollups, backups, renewal checks) registers
//! here and reports its schedule, last run, outcome and next run, which `/health/jobs` shows.
//! The jobs themselves arrive with the monitoring and backup features.

use std::sync::RwLock;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One job as `/health/jobs` reports it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    /// Job name.
    pub name: String,
    /// Human-readable schedule (cron or interval).
    pub schedule: String,
    /// When it last ran.
    pub last_run: Option<DateTime<Utc>>,
    /// `ok`, or the error of the last run.
    pub last_outcome: Option<String>,
    /// When it runs next.
    pub next_run: Option<DateTime<Utc>>,
}

/// All registered jobs.
#[derive(Debug, Default)]
pub struct Registry {
    jobs: RwLock<Vec<JobStatus>>,
}

impl Registry {
    /// Adds or replaces a job's entry.
    pub fn upsert(&self, job: JobStatus) {
        let mut jobs = self
            .jobs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match jobs.iter_mut().find(|j| j.name == job.name) {
            Some(existing) => *existing = job,
            None => jobs.push(job),
        }
    }

    /// A snapshot, sorted by name.
    #[must_use]
    pub fn snapshot(&self) -> Vec<JobStatus> {
        let mut jobs = self
            .jobs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        jobs.sort_by(|a, b| a.name.cmp(&b.name));
        jobs
    }

    /// Jobs whose last run failed.
    #[must_use]
    pub fn failing(&self) -> Vec<String> {
        self.snapshot()
            .into_iter()
            .filter(|j| j.last_outcome.as_deref().is_some_and(|o| o != "ok"))
            .map(|j| j.name)
            .collect()
    }
}
