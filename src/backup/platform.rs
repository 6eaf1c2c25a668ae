//! The platform's own backups (Supabase) in the catalogue: the reconciler replaces a policy's
//! rows after each read of the platform, and [`super::catalogue::Catalogue::list`] shows them
//! beside berth's. Stored rather than fetched per request, so an admin listing never calls the
//! platform (its rate limit is 120 requests a minute per project).

use chrono::{DateTime, Utc};

use super::catalogue::{Catalogue, Outcome, PolicyKey};
use crate::{providers::platform_backups::PlatformBackup, store::Error};

/// berth's outcome for a platform backup status, so one `outcome` filter covers both kinds.
#[must_use]
pub fn outcome_of(status: &str) -> Outcome {
    match status {
        "COMPLETED" => Outcome::Complete,
        "PENDING" => Outcome::Running,
        // Gone from the platform's storage: like a backup retention removed.
        "REMOVED" | "ARCHIVED" => Outcome::Pruned,
        // FAILED, CANCELLED, and anything a later API version adds.
        _ => Outcome::Failed,
    }
}

impl Catalogue {
    /// Replaces the policy's rows of `provider` with `backups` (one transaction: a reader sees
    /// the old set or the new one). Backups whose time cannot be read are skipped.
    pub async fn replace_platform_backups(
        &self,
        key: PolicyKey<'_>,
        provider: &str,
        project: &str,
        backups: &[PlatformBackup],
        seen_at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let query = |action| move |source| Error::Query { action, source };
        let mut tx = self
            .store()
            .pool()
            .begin()
            .await
            .map_err(query("begin replacing platform backups"))?;
        sqlx::query(
            "DELETE FROM platform_backups WHERE namespace = $1 AND policy = $2 AND provider = $3",
        )
        .bind(key.namespace)
        .bind(key.policy)
        .bind(provider)
        .execute(&mut *tx)
        .await
        .map_err(query("clear platform backups"))?;
        for b in backups {
            let Ok(taken_at) = DateTime::parse_from_rfc3339(&b.taken_at) else {
                tracing::debug!(provider, id = %b.id, taken_at = %b.taken_at, "platform backup without a readable time");
                continue;
            };
            sqlx::query(
                "INSERT INTO platform_backups (namespace, policy, provider, id, project, taken_at, \
                 status, outcome, physical, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(key.namespace)
            .bind(key.policy)
            .bind(provider)
            .bind(&b.id)
            .bind(project)
            .bind(taken_at.with_timezone(&Utc))
            .bind(&b.status)
            .bind(outcome_of(&b.status).as_str())
            .bind(b.physical)
            .bind(seen_at)
            .execute(&mut *tx)
            .await
            .map_err(query("record a platform backup"))?;
        }
        tx.commit()
            .await
            .map_err(query("commit platform backups"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: every status Supabase documents maps to the outcome an admin filters by.
    #[test]
    fn platform_statuses_map_to_outcomes() {
        for (status, outcome) in [
            ("COMPLETED", Outcome::Complete),
            ("PENDING", Outcome::Running),
            ("FAILED", Outcome::Failed),
            ("CANCELLED", Outcome::Failed),
            ("REMOVED", Outcome::Pruned),
            ("ARCHIVED", Outcome::Pruned),
        ] {
            assert_eq!(outcome_of(status), outcome, "{status}");
        }
    }
}
