//! Cleanup on deletion (I/O). `deletionPolicy: Delete` removes every backup file or object the
//! catalogue lists for the policy, stray `.partial` files, and then its catalogue rows;
//! `Orphan` (the default) keeps both.
//!
//! Waits for a run in flight to end (retried through the finalizer), so a backup finishing
//! after the cleanup cannot leave a file behind. Rows are only removed once every file that is
//! the destination's could be deleted; a destination that cannot be reached any more (its
//! credentials Secret deleted with the namespace) is reported and orphaned rather than
//! holding the object forever.

use kube::{ResourceExt as _, runtime::events::EventType};

use super::observe;
use crate::{
    api::{BackupPolicy, common::DeletionPolicy},
    backup::{catalogue::PolicyKey, destination},
    controllers::{Context, Error, runtime::error_chain, runtime::publish},
};

/// Removes the policy's backups and history when its `deletionPolicy` is `Delete`.
pub async fn cleanup(obj: &BackupPolicy, ctx: &Context) -> Result<(), Error> {
    if obj.spec.deletion_policy == DeletionPolicy::Orphan {
        return Ok(());
    }
    // Without a history database no backup was ever taken.
    let Some(runner) = &ctx.backups else {
        return Ok(());
    };
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let what = format!("the backups of BackupPolicy {namespace}/{name}");
    let failed = |message: String| Error::Cleanup {
        what: what.clone(),
        message,
    };
    if let Some(running) = runner.running(&namespace, &name) {
        return Err(failed(format!(
            "a {running:?} run is in flight; deleting once it ends"
        )));
    }
    let key = PolicyKey {
        namespace: &namespace,
        policy: &name,
    };
    let target = match observe::target(&ctx.client, obj, &namespace).await? {
        Ok(t) => t,
        Err(message) => {
            let note = format!("backup files were left in place: {message}");
            tracing::warn!(namespace = %namespace, policy = %name, "{note}");
            publish(ctx, obj, EventType::Warning, "BackupsOrphaned", &note).await;
            return Ok(());
        }
    };
    let catalogue = runner.catalogue();
    let locations = catalogue
        .locations(key)
        .await
        .map_err(|e| failed(error_chain(&e)))?;
    let mut foreign = 0;
    for location in &locations {
        match target.delete(location).await {
            Ok(()) => {}
            // Written to an earlier destination of the spec: not ours to reach now.
            Err(destination::Error::Foreign(_)) => foreign += 1,
            Err(e) => return Err(failed(error_chain(&e))),
        }
    }
    target
        .remove_partials()
        .await
        .map_err(|e| failed(error_chain(&e)))?;
    let rows = catalogue
        .forget(key)
        .await
        .map_err(|e| failed(error_chain(&e)))?;
    if foreign > 0 {
        let note =
            format!("{foreign} backup(s) written to an earlier destination were left in place");
        publish(ctx, obj, EventType::Warning, "BackupsOrphaned", &note).await;
    }
    tracing::info!(namespace = %namespace, policy = %name, files = locations.len() - foreign, rows, "deleted the policy's backups");
    Ok(())
}
