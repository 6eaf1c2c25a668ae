//! Observe (I/O): the platform's own backups of a Supabase database, read through the
//! Environment's Supabase binding. Read at most every [`REFRESH`] (a minute after a failure,
//! or at once on the reconcile-now annotation), stored in the catalogue for the admin listing
//! and summarised in status; between reads the previous summary stands, so neither reconciles
//! nor admin requests spend the project's rate limit.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{
    api::{Environment, backup_policy::PlatformBackupsSummary, environment::Providers},
    backup::{
        catalogue::{Catalogue, Outcome, PolicyKey},
        platform::outcome_of,
    },
    controllers::{
        Context, Error,
        connect::{Connections, Credentials},
        deps::Dependencies,
        runtime::error_chain,
    },
    providers::platform_backups::{DatabaseBackups as _, PlatformBackups},
};

/// How long a successful read stands.
pub const REFRESH: Duration = Duration::from_secs(600);
/// How long a failed read stands before the next try.
const RETRY: Duration = Duration::from_secs(60);
/// The platform's name in the catalogue and in listings.
pub const PROVIDER: &str = "supabase";

/// The Environment's Supabase binding with its credential, ready to read from.
pub struct Source {
    providers: Providers,
    credentials: Credentials,
    pub project_ref: String,
}

/// The Supabase binding of `env` and its token (a missing token Secret is noted in `deps`).
/// `Ok(Err(message))` when the Environment binds no Supabase project.
pub async fn source(
    env: &Environment,
    deps: &mut Dependencies,
) -> Result<Result<Source, String>, Error> {
    let Some(binding) = env.spec.providers.supabase.clone() else {
        return Ok(Err(format!(
            "Environment {} binds no Supabase project (spec.providers.supabase)",
            env.metadata.name.as_deref().unwrap_or_default()
        )));
    };
    let project_ref = binding.project_ref.clone();
    // Only the Supabase binding: the Environment's other providers are not this policy's
    // dependencies.
    let providers = Providers {
        supabase: Some(binding),
        ..Providers::default()
    };
    let credentials = Credentials::resolve(&providers, deps).await?;
    Ok(Ok(Source {
        providers,
        credentials,
        project_ref,
    }))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// When the summary's read stops standing: [`REFRESH`] after a success, a minute after a
/// failure.
#[must_use]
pub fn stale_at(summary: &PlatformBackupsSummary) -> Option<DateTime<Utc>> {
    let checked = DateTime::parse_from_rfc3339(&summary.checked_at).ok()?;
    let wait = if summary.error.is_some() {
        RETRY
    } else {
        REFRESH
    };
    Some(checked.with_timezone(&Utc) + chrono::Duration::from_std(wait).ok()?)
}

/// Whether to read the platform now (pure): never read, another project, a reconcile-now
/// request, or the last read no longer stands.
#[must_use]
pub fn due(
    previous: Option<&PlatformBackupsSummary>,
    project_ref: &str,
    now: DateTime<Utc>,
    requested: bool,
) -> bool {
    let Some(p) = previous else {
        return true;
    };
    requested || p.project_ref != project_ref || stale_at(p).is_none_or(|at| at <= now)
}

/// The status summary of one read (pure).
#[must_use]
pub fn summarize(
    project_ref: &str,
    listed: &PlatformBackups,
    now: DateTime<Utc>,
) -> PlatformBackupsSummary {
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let completed: Vec<DateTime<Utc>> = listed
        .backups
        .iter()
        .filter(|b| outcome_of(&b.status) == Outcome::Complete)
        .filter_map(|b| DateTime::parse_from_rfc3339(&b.taken_at).ok())
        .map(|t| t.with_timezone(&Utc))
        .collect();
    let unix = |s: i64| DateTime::from_timestamp(s, 0).map(rfc3339);
    PlatformBackupsSummary {
        provider: PROVIDER.into(),
        project_ref: project_ref.into(),
        count: count(listed.backups.len()),
        completed: count(completed.len()),
        newest: completed.iter().max().copied().map(rfc3339),
        pitr_earliest: listed.pitr_window.and_then(|(e, _)| unix(e)),
        pitr_latest: listed.pitr_window.and_then(|(_, l)| unix(l)),
        checked_at: rfc3339(now),
        error: None,
    }
}

/// Reads the platform's backups and records them in the catalogue (when there is one). A
/// failed read keeps the previous values and says why in `error`.
pub async fn refresh(
    ctx: &Context,
    source: &Source,
    key: PolicyKey<'_>,
    catalogue: Option<&Catalogue>,
    previous: Option<&PlatformBackupsSummary>,
    now: DateTime<Utc>,
) -> PlatformBackupsSummary {
    let read = async {
        let connections = Connections::new(&ctx.providers, &source.providers, &source.credentials)
            .map_err(|e| error_chain(&e))?;
        let supabase = connections
            .supabase()
            .ok_or_else(|| "no Supabase client (its token is missing)".to_string())?;
        let listed = supabase.backups().await.map_err(|e| error_chain(&e))?;
        if let Some(c) = catalogue {
            c.replace_platform_backups(key, PROVIDER, &source.project_ref, &listed.backups, now)
                .await
                .map_err(|e| error_chain(&e))?;
        }
        Ok::<_, String>(listed)
    };
    match read.await {
        Ok(listed) => summarize(&source.project_ref, &listed, now),
        Err(message) => {
            tracing::warn!(namespace = key.namespace, policy = key.policy, error = %message, "failed to read the platform's backups");
            failed(previous, &source.project_ref, message, now)
        }
    }
}

/// A summary saying the read failed, keeping what the previous read of the same project found.
#[must_use]
pub fn failed(
    previous: Option<&PlatformBackupsSummary>,
    project_ref: &str,
    message: String,
    now: DateTime<Utc>,
) -> PlatformBackupsSummary {
    let kept = previous
        .filter(|p| p.project_ref == project_ref)
        .cloned()
        .unwrap_or_else(|| PlatformBackupsSummary {
            provider: PROVIDER.into(),
            project_ref: project_ref.into(),
            ..PlatformBackupsSummary::default()
        });
    PlatformBackupsSummary {
        checked_at: rfc3339(now),
        error: Some(message),
        ..kept
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::providers::platform_backups::PlatformBackup;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap()
    }

    fn backup(id: &str, taken_at: &str, status: &str) -> PlatformBackup {
        PlatformBackup {
            id: id.into(),
            taken_at: taken_at.into(),
            status: status.into(),
            physical: true,
        }
    }

    // Protects: the summary counts what the platform lists, names the newest *completed*
    // backup (not a newer failed one) and gives the PITR window as times.
    #[test]
    fn summary_of_a_read() {
        let listed = PlatformBackups {
            backups: vec![
                backup("1", "2026-03-08T02:00:00Z", "COMPLETED"),
                backup("2", "2026-03-09T02:00:00Z", "COMPLETED"),
                backup("3", "2026-03-10T02:00:00Z", "FAILED"),
            ],
            pitr_window: Some((1_772_935_200, 1_773_136_800)),
        };
        let s = summarize("abcdefghijklmnopqrst", &listed, at(12, 0));
        assert_eq!((s.count, s.completed), (3, 2));
        assert_eq!(s.newest.as_deref(), Some("2026-03-09T02:00:00Z"));
        assert_eq!(s.pitr_earliest.as_deref(), Some("2026-03-08T02:00:00Z"));
        assert_eq!(s.pitr_latest.as_deref(), Some("2026-03-10T10:00:00Z"));
        assert_eq!(s.checked_at, "2026-03-10T12:00:00Z");
        assert_eq!(s.error, None);
    }

    // Protects: the platform is read once per REFRESH, a minute after a failure, at once for
    // a new project or a reconcile-now request; a failure keeps the last good numbers.
    #[test]
    fn reads_are_rate_limited() {
        let project = "abcdefghijklmnopqrst";
        let listed = PlatformBackups {
            backups: vec![backup("1", "2026-03-09T02:00:00Z", "COMPLETED")],
            pitr_window: None,
        };
        let good = summarize(project, &listed, at(12, 0));
        assert!(due(None, project, at(12, 0), false));
        assert!(!due(Some(&good), project, at(12, 9), false));
        assert!(due(Some(&good), project, at(12, 10), false));
        assert!(due(Some(&good), project, at(12, 1), true));
        assert!(due(Some(&good), "zzzzzzzzzzzzzzzzzzzz", at(12, 1), false));

        let bad = failed(Some(&good), project, "Supabase: 503".into(), at(12, 10));
        assert_eq!((bad.count, bad.newest.clone()), (1, good.newest.clone()));
        assert_eq!(bad.error.as_deref(), Some("Supabase: 503"));
        assert!(!due(Some(&bad), project, at(12, 10), false));
        assert!(due(Some(&bad), project, at(12, 11), false));
    }
}
