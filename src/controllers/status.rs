//! Status writes: forced server-side apply of the whole status on the status subresource,
//! under one field manager, skipped when nothing changed, and bounded in time.

use std::time::Duration;

use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
};

use super::{Context, Error, FIELD_MANAGER, Managed};

/// A status patch that takes longer than this is abandoned and retried with backoff.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes `next` as the status of `obj` unless it equals the current one.
/// Returns whether a write was made.
pub async fn write<K: Managed>(ctx: &Context, obj: &K, next: &K::Status) -> Result<bool, Error> {
    if obj.status() == Some(next) {
        return Ok(false);
    }
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": next,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let patch = Patch::Apply(&patch);
    let call = api.patch_status(&name, &params, &patch);
    match tokio::time::timeout(WRITE_TIMEOUT, call).await {
        Ok(Ok(_)) => {
            ctx.metrics.status_written(K::KIND);
            Ok(true)
        }
        Ok(Err(source)) => Err(Error::WriteStatus {
            kind: K::KIND,
            namespace,
            name,
            source,
        }),
        Err(_) => Err(Error::StatusTimeout {
            kind: K::KIND,
            namespace,
            name,
        }),
    }
}
