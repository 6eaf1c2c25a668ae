//! Record (I/O, best effort): what changed between the status read and the status planned,
//! as Kubernetes Events and as rows in the history store (`deployment_events`, `rollbacks`).
//! Neither may fail a reconcile: Kubernetes status is the source of truth, and the store is
//! history that berth keeps running without.

use chrono::{DateTime, Utc};
use kube::{ResourceExt, runtime::events::EventType};

use super::plan::AUTOMATIC_ACTOR;
use crate::{
    api::{
        Deployment,
        deployment::{DeploymentStatus, Release, RequestState},
    },
    controllers::{Context, runtime},
    store::{DeploymentEvent, Rollback},
};

/// Publishes Events and writes history rows for the changes from `before` to `after`.
pub async fn changes(
    ctx: &Context,
    obj: &Deployment,
    provider: &str,
    before: &DeploymentStatus,
    after: &DeploymentStatus,
) {
    if let Some(p) = after.pending.as_ref().filter(|p| {
        p.deployment_id.is_some()
            && before
                .pending
                .as_ref()
                .and_then(|b| b.deployment_id.as_ref())
                != p.deployment_id.as_ref()
    }) {
        let note = format!(
            "deployment {} of revision {} started at {provider}",
            p.deployment_id.as_deref().unwrap_or_default(),
            p.revision
        );
        runtime::publish(ctx, obj, EventType::Normal, "DeploymentStarted", &note).await;
    }
    let rolled_back = after
        .last_rollback
        .as_ref()
        .filter(|rb| before.last_rollback.as_ref() != Some(*rb));
    if let Some(rb) = rolled_back {
        let note = format!(
            "rolled back from {} to {} ({}{}); held until the spec changes",
            rb.from_revision,
            rb.to_revision,
            rb.reason,
            rb.actor
                .as_deref()
                .map_or_else(String::new, |a| format!(", by {a}"))
        );
        runtime::publish(ctx, obj, EventType::Warning, "RolledBack", &note).await;
    }
    if let Some(ack) = after.rollback_request.as_ref().filter(|a| {
        a.state == RequestState::Rejected && before.rollback_request.as_ref() != Some(*a)
    }) {
        let note = format!(
            "rollback request {} refused: {}",
            ack.id,
            ack.message.as_deref().unwrap_or_default()
        );
        runtime::publish(ctx, obj, EventType::Warning, "RollbackRefused", &note).await;
    }

    let Some(store) = &ctx.store else {
        return;
    };
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    for r in changed_releases(before, after) {
        let Some(id) = r.deployment_id.as_deref() else {
            continue;
        };
        let phase = r
            .outcome
            .map(|o| format!("{o:?}"))
            .or_else(|| r.state.clone())
            .unwrap_or_else(|| "PENDING".into());
        let row = DeploymentEvent {
            namespace: &namespace,
            deployment: &name,
            revision: r.commit.as_deref().unwrap_or(&r.revision),
            provider,
            provider_deployment_id: id,
            url: r.url.as_deref(),
            phase: &phase,
            started_at: time(r.started_at.as_deref()),
            finished_at: time(r.finished_at.as_deref()),
            message: r.message.as_deref(),
        };
        if let Err(e) = store.record_deployment(&row).await {
            tracing::warn!(%namespace, %name, error = %runtime::error_chain(&e), "deployment history not recorded");
        }
    }
    if let Some(rb) = rolled_back {
        let row = Rollback {
            namespace: &namespace,
            deployment: &name,
            from_revision: &rb.from_revision,
            to_revision: &rb.to_revision,
            reason: &rb.reason,
            actor: rb.actor.as_deref().unwrap_or(AUTOMATIC_ACTOR),
            at: time(Some(&rb.time)),
        };
        if let Err(e) = store.record_rollback(&row).await {
            tracing::warn!(%namespace, %name, error = %runtime::error_chain(&e), "rollback not recorded");
        }
    }
}

/// Releases with a provider id in `after` that are new or different from `before`.
fn changed_releases<'a>(
    before: &DeploymentStatus,
    after: &'a DeploymentStatus,
) -> Vec<&'a Release> {
    let known = |r: &Release| {
        before
            .pending
            .iter()
            .chain(before.current.iter())
            .chain(before.history.iter())
            .any(|b| {
                b.deployment_id == r.deployment_id
                    && b.state == r.state
                    && b.outcome == r.outcome
                    && b.url == r.url
            })
    };
    let mut out: Vec<&Release> = Vec::new();
    for r in after
        .pending
        .iter()
        .chain(after.current.iter())
        .chain(after.history.iter())
    {
        if r.deployment_id.is_some()
            && !known(r)
            && !out.iter().any(|o| o.deployment_id == r.deployment_id)
        {
            out.push(r);
        }
    }
    out
}

fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}
