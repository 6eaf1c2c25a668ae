//! `berth plan` for a BackupPolicy: what retention would prune if it ran now (the controller
//! runs it after each successful backup), decided by the same pure function over the policy's
//! rows in the backup catalogue. The catalogue is read through a read-only session; nothing is
//! deleted, marked or written anywhere.
//!
//! ```text
//! spec ──► retention_rules (invalid: the field named) ──┐
//! catalogue (namespace/policy, SELECT only) ─────────────┴─► retention_dry_run ─► kept / to prune
//! ```

use std::collections::HashMap;

use super::report::{BackupEntry, BackupPolicyPlan};
use crate::{
    api::BackupPolicy,
    backup::{
        self,
        catalogue::{BackupRow, Catalogue, PolicyKey},
    },
    controllers::runtime::error_chain,
};

/// Why retention is not shown without the history database.
pub const NO_DATABASE: &str =
    "retention not shown: it needs the history database (--database-url or BERTH_DATABASE_URL)";

/// Plans retention for `policy` (already placed in its namespace), reading its backups from
/// `catalogue` when there is one.
pub async fn plan(policy: &BackupPolicy, catalogue: Option<&Catalogue>) -> BackupPolicyPlan {
    let namespace = policy.metadata.namespace.clone().unwrap_or_default();
    let name = policy.metadata.name.clone().unwrap_or_default();
    let mut planned = BackupPolicyPlan {
        namespace: namespace.clone(),
        name: name.clone(),
        not_applied: policy
            .spec
            .suspend
            .then(|| "suspend is true: no backup is taken, so retention does not run".into()),
        ..BackupPolicyPlan::default()
    };
    // The spec is checked first, so a bad one is reported with or without a database.
    if let Err(e) = backup::retention_rules(&policy.spec) {
        planned.error = Some(e.to_string());
        return planned;
    }
    let Some(catalogue) = catalogue else {
        planned.not_shown = Some(NO_DATABASE.into());
        return planned;
    };
    let key = PolicyKey {
        namespace: &namespace,
        policy: &name,
    };
    let rows = match catalogue.complete_backups(key).await {
        Ok(rows) => rows,
        Err(e) => {
            planned.error = Some(format!(
                "failed to read the backup catalogue: {}",
                error_chain(&e)
            ));
            return planned;
        }
    };
    match backup::retention_dry_run(&policy.spec, &rows) {
        Ok(retention) => {
            let by_id: HashMap<&str, &BackupRow> =
                rows.iter().map(|r| (r.id.as_str(), r)).collect();
            // Every id in the plan is one of `rows`; the lookup cannot miss.
            let entries = |ids: &[String]| -> Vec<BackupEntry> {
                ids.iter()
                    .filter_map(|id| by_id.get(id.as_str()))
                    .map(|row| BackupEntry {
                        id: row.id.clone(),
                        started_at: row.started_at,
                        size_bytes: row.size_bytes,
                        location: row.location.clone(),
                        kept_by: retention.kept_by.get(&row.id).cloned().unwrap_or_default(),
                    })
                    .collect()
            };
            planned.keep = entries(&retention.keep);
            planned.prune = entries(&retention.prune);
        }
        Err(e) => planned.error = Some(e.to_string()),
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(retention: &str, suspend: bool) -> BackupPolicy {
        let mut p: BackupPolicy = crate::yaml::from_str(&format!(
            "apiVersion: berth.dev/v1alpha1\nkind: BackupPolicy\nmetadata: {{name: orders, namespace: shop}}\nspec:\n  database: {{connectionSecretRef: {{name: db, key: uri}}}}\n  schedule: '0 3 * * *'\n  destination: {{filesystem: {{path: /b}}}}\n  retention: {retention}\n"
        ))
        .unwrap();
        p.spec.suspend = suspend;
        p
    }

    // Protects: without a history database the plan says retention cannot be shown (not an
    // error); a retention spec admission would refuse is an error naming the field, database
    // or not; a suspended policy says retention does not run.
    #[tokio::test]
    async fn no_database_invalid_spec_and_suspend() {
        let p = plan(&policy("{keepLast: 3}", false), None).await;
        assert_eq!(p.not_shown.as_deref(), Some(NO_DATABASE));
        assert_eq!((p.error, p.keep.len(), p.prune.len()), (None, 0, 0));
        assert_eq!((p.namespace.as_str(), p.name.as_str()), ("shop", "orders"));

        let p = plan(&policy("{keepDaily: -1}", false), None).await;
        assert_eq!(
            p.error.as_deref(),
            Some("spec.retention.keepDaily: -1 is outside 0–1000")
        );

        let p = plan(&policy("{keepLast: 3}", true), None).await;
        assert!(p.not_applied.is_some_and(|w| w.contains("suspend")));
    }
}
