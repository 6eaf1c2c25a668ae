//! `POST /api/admin/deployment/rollback`: roll a Deployment back to its previous (or a named)
//! good release.
//!
//! Any replica answers, but only the leader reconciles, so the handler does not call the
//! provider: it writes the request into the [`ROLLBACK_REQUESTED_ANNOTATION`] (metadata, never
//! spec, so Argo CD and Flux see no drift), and waits a bounded time for the leader's
//! acknowledgement in `status.rollbackRequest`, watching its own cache. 200 with the rollback
//! record when done, 202 when still under way, 404/409/400 when there is no such Deployment,
//! nothing to roll back to, or no such revision. Every authorised attempt goes to the audit
//! log with the caller's identity before anything is changed.

use std::time::{Duration, Instant};

use axum::{
    Json,
    extract::{State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use kube::{
    Api,
    api::{Patch, PatchParams},
    runtime::reflector::ObjectRef,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    AdminState,
    auth::{Access, Caller, unavailable},
    error::ApiError,
};
use crate::{
    api::{
        Deployment,
        deployment::{
            DeploymentPhase, ROLLBACK_REQUESTED_ANNOTATION, RequestState, RollbackRecord,
            RollbackRequest,
        },
    },
    controllers::deployment::plan::{Refusal, rollback_target},
};

/// How long the handler waits for the leader to acknowledge.
const WAIT: Duration = Duration::from_secs(30);
/// How often it looks at its cache meanwhile.
const POLL: Duration = Duration::from_millis(200);
/// The audit log's action name.
const ACTION: &str = "deployment.rollback";

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackBody {
    pub namespace: String,
    pub deployment: String,
    /// A revision from the Deployment's good releases; default: the one before the live one.
    #[serde(default)]
    pub revision: Option<String>,
    /// Why, for the audit log and the rollback record.
    #[serde(default)]
    pub reason: String,
}

/// The answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackAnswer {
    pub request_id: String,
    pub namespace: String,
    pub deployment: String,
    /// `Done`, or `Accepted` when the leader has not finished within the wait.
    pub state: RequestState,
    /// What the leader did, when done.
    pub rollback: Option<RollbackRecord>,
    pub phase: Option<DeploymentPhase>,
    /// The declared revision that stays undeployed until the spec changes.
    pub held_revision: Option<String>,
    pub message: String,
}

/// The handler.
pub async fn rollback(
    State(state): State<AdminState>,
    headers: HeaderMap,
    body: Result<Json<RollbackBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let caller = state.gate.authenticate(&headers).await?;
    let Json(body) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if body.namespace.is_empty() || body.deployment.is_empty() {
        return Err(ApiError::BadRequest(
            "namespace and deployment are required".into(),
        ));
    }
    let access = Access::Resource {
        verb: "create",
        resource: "deployments",
        subresource: Some("rollback"),
        namespace: Some(body.namespace.clone()),
        name: Some(body.deployment.clone()),
    };
    state.gate.require(&caller, &access).await?;

    let api: Api<Deployment> = Api::namespaced(state.client.clone(), &body.namespace);
    let target = format!("{}/{}", body.namespace, body.deployment);
    let found = api
        .get_opt(&body.deployment)
        .await
        .map_err(|e| unavailable("read the Deployment", &e))?;
    let Some(obj) = found else {
        return Err(ApiError::NotFound(format!("Deployment {target} not found")));
    };
    let refusal = if obj.spec.suspend {
        Some(ApiError::Conflict(format!(
            "Deployment {target} is suspended (spec.suspend): berth makes no provider writes for it"
        )))
    } else {
        let status = obj.status.clone().unwrap_or_default();
        rollback_target(&status, body.revision.as_deref())
            .err()
            .map(|r| match r {
                Refusal::UnknownRevision(m) => ApiError::BadRequest(m),
                Refusal::NothingToRollBackTo(m) | Refusal::AlreadyLive(m) => ApiError::Conflict(m),
            })
    };
    let request = RollbackRequest {
        id: request_id(),
        revision: body.revision.clone(),
        reason: body.reason.clone(),
        actor: caller.user.clone(),
    };
    if let Some(refusal) = refusal {
        audit(
            &state,
            &caller,
            &target,
            &request,
            "refused",
            Some(&refusal.to_string()),
        )
        .await?;
        return Err(refusal);
    }
    // Audited before anything changes: an action that cannot be logged is not taken.
    audit(&state, &caller, &target, &request, "requested", None).await?;

    let value = serde_json::to_string(&request)
        .map_err(|e| ApiError::Internal(format!("cannot encode the request: {e}")))?;
    let patch = json!({"metadata": {"annotations": {ROLLBACK_REQUESTED_ANNOTATION: value}}});
    api.patch(
        &body.deployment,
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| unavailable("record the rollback request", &e))?;

    let answer = wait_for_ack(&state, &body, &request.id).await;
    let outcome = match &answer {
        Ok(a) if a.state == RequestState::Done => "done",
        Ok(_) => "pending",
        Err(_) => "rejected",
    };
    // The request itself is already audited; this row records how it ended.
    let _ = audit(
        &state,
        &caller,
        &target,
        &request,
        outcome,
        answer.as_ref().err().map(ToString::to_string).as_deref(),
    )
    .await;
    let answer = answer?;
    let code = if answer.state == RequestState::Done {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, Json(answer)).into_response())
}

/// Waits (bounded) for the leader to acknowledge request `id`, reading this replica's cache.
async fn wait_for_ack(
    state: &AdminState,
    body: &RollbackBody,
    id: &str,
) -> Result<RollbackAnswer, ApiError> {
    let key = ObjectRef::<Deployment>::new(&body.deployment).within(&body.namespace);
    let started = Instant::now();
    loop {
        let status = state
            .caches
            .deployments
            .get(&key)
            .and_then(|d| d.status.clone())
            .unwrap_or_default();
        let ack = status.rollback_request.clone().filter(|a| a.id == id);
        let answer = |state: RequestState, message: String| RollbackAnswer {
            request_id: id.to_string(),
            namespace: body.namespace.clone(),
            deployment: body.deployment.clone(),
            state,
            rollback: status
                .last_rollback
                .clone()
                .filter(|r| r.request_id.as_deref() == Some(id)),
            phase: status.phase,
            held_revision: status.held_revision.clone(),
            message,
        };
        match ack {
            Some(a) if a.state == RequestState::Done => {
                return Ok(answer(
                    RequestState::Done,
                    a.message.unwrap_or_else(|| "rolled back".into()),
                ));
            }
            Some(a) if a.state == RequestState::Rejected => {
                return Err(ApiError::Conflict(
                    a.message
                        .unwrap_or_else(|| "the rollback was refused".into()),
                ));
            }
            _ if started.elapsed() >= WAIT => {
                return Ok(answer(
                    RequestState::Accepted,
                    format!(
                        "the rollback was requested and is not finished after {}s; follow status.rollbackRequest of the Deployment",
                        WAIT.as_secs()
                    ),
                ));
            }
            _ => tokio::time::sleep(POLL).await,
        }
    }
}

/// Appends to the audit log; fails the request only when a configured store cannot be written.
async fn audit(
    state: &AdminState,
    caller: &Caller,
    target: &str,
    request: &RollbackRequest,
    outcome: &str,
    error: Option<&str>,
) -> Result<(), ApiError> {
    let Some(store) = &state.store else {
        tracing::warn!(actor = %caller.user, target, outcome, "no history store configured: rollback not audited");
        return Ok(());
    };
    let detail = json!({
        "requestId": request.id,
        "revision": request.revision,
        "reason": request.reason,
        "error": error,
    });
    super::audit::record(
        store,
        caller,
        (ACTION, target),
        detail,
        outcome,
        "the rollback was not made",
    )
    .await
}

/// A random request id (128 bits, hex).
fn request_id() -> String {
    use rand::Rng as _;
    let bits: u128 = rand::rng().random();
    format!("{bits:032x}")
}
