//! Plan (pure), rollbacks: which release a request restores, recording a rollback before
//! its provider call, completing it into `Held`, and what a held Deployment says.

use k8s_openapi::jiff::Timestamp;

use super::plan::{Action, Plan, good_revision, is_revision, push_history, reasons, set_phase};
use crate::{
    api::deployment::{
        DeploymentPhase, DeploymentSpec, DeploymentStatus, Release, ReleaseOutcome, RequestState,
        RollbackRecord, RollbackRequest,
    },
    controllers::Verdict,
};

/// Why a rollback request cannot be honoured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No earlier good release is recorded.
    NothingToRollBackTo(String),
    /// The named revision is not among the good releases in status.
    UnknownRevision(String),
    /// The named (or default) release is the one already serving.
    AlreadyLive(String),
}

impl Refusal {
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            Self::NothingToRollBackTo(m) | Self::UnknownRevision(m) | Self::AlreadyLive(m) => m,
        }
    }
}

/// The release a rollback request (or `revision`, when named) would restore.
pub fn rollback_target(
    status: &DeploymentStatus,
    revision: Option<&str>,
) -> Result<Release, Refusal> {
    // After a failed release the current one may no longer be serving (a health check
    // failure without automatic rollback): restoring it is a rollback too.
    let failed = status.phase == Some(DeploymentPhase::Failed);
    let current_id = status
        .current
        .as_ref()
        .and_then(|c| c.deployment_id.clone());
    let good = |r: &&Release| {
        r.deployment_id.is_some()
            && matches!(
                r.outcome,
                Some(ReleaseOutcome::Live | ReleaseOutcome::RolledBack)
            )
    };
    let candidates: Vec<&Release> = status
        .current
        .iter()
        .filter(|_| failed)
        .chain(status.previous.iter())
        .chain(status.history.iter())
        .filter(good)
        .collect();
    let live_label = || {
        status
            .current
            .as_ref()
            .map_or_else(String::new, |c| c.revision.clone())
    };
    match revision {
        Some(rev) => {
            if !failed
                && status.current.as_ref().is_some_and(|c| is_revision(c, rev))
            {
                return Err(Refusal::AlreadyLive(format!(
                    "revision {rev} is already live"
                )));
            }
            candidates
                .into_iter()
                .find(|r| is_revision(r, rev))
                .cloned()
                .ok_or_else(|| {
                    Refusal::UnknownRevision(format!(
                        "revision {rev} is not among this deployment's good releases in status"
                    ))
                })
        }
        None => candidates
            .into_iter()
            .find(|r| failed || r.deployment_id != current_id)
            .cloned()
            .ok_or_else(|| {
                if status.current.is_some() && !failed {
                    Refusal::NothingToRollBackTo(format!(
                        "nothing to roll back to: {} is live and no earlier good release is recorded",
                        live_label()
                    ))
                } else {
                    Refusal::NothingToRollBackTo(
                        "nothing to roll back to: no good release is recorded".into(),
                    )
                }
            }),
    }
}

pub(super) fn begin_manual_rollback(
    mut s: DeploymentStatus,
    spec: &DeploymentSpec,
    target: Release,
    from: String,
    req: &RollbackRequest,
    now: Timestamp,
) -> Plan {
    if let Some(mut p) = s.pending.take() {
        p.outcome = Some(ReleaseOutcome::Superseded);
        p.finished_at = Some(now.to_string());
        p.message = Some(format!(
            "abandoned for a rollback requested by {}",
            req.actor
        ));
        push_history(&mut s, p, spec);
    }
    let restoring_current =
        s.current.as_ref().map(|c| &c.deployment_id) == Some(&target.deployment_id);
    if !restoring_current {
        if let Some(mut old) = s.current.take() {
            old.outcome = Some(ReleaseOutcome::RolledBack);
            old.message = Some(format!("rolled back by {}", req.actor));
            push_history(&mut s, old.clone(), spec);
            s.previous = Some(old);
        }
        let mut restored = target.clone();
        restored.outcome = Some(ReleaseOutcome::Live);
        restored.checks = None;
        s.current = Some(restored);
    }
    s.rolling_back = Some(RollbackRecord {
        from_revision: from,
        to_revision: good_revision(&target),
        to_deployment_id: target.deployment_id.clone(),
        reason: reasons::MANUAL.into(),
        actor: Some(req.actor.clone()),
        request_id: Some(req.id.clone()),
        message: (!req.reason.is_empty()).then(|| req.reason.clone()),
        time: now.to_string(),
    });
    set_phase(&mut s, DeploymentPhase::RollingBack, now);
    rolling_back(s, target.deployment_id)
}

pub(super) fn rolling_back(s: DeploymentStatus, to: Option<String>) -> Plan {
    let to_revision = s
        .rolling_back
        .as_ref()
        .map(|r| r.to_revision.clone())
        .unwrap_or_default();
    Plan {
        action: to.map(|deployment_id| Action::EnsureLive { deployment_id }),
        status: s,
        verdict: Verdict::Progressing {
            reason: reasons::ROLLING_BACK,
            message: format!("rolling back to revision {to_revision}"),
        },
        requeue: None,
    }
}

/// Completes the rollback recorded in `status` once the provider serves its target.
/// Returns the verdict: `Held` on the good revision.
pub fn rolled_back(status: &mut DeploymentStatus, generation: i64, now: Timestamp) -> Verdict {
    let Some(mut rb) = status.rolling_back.take() else {
        return held_verdict(status);
    };
    rb.time = now.to_string();
    status.held_revision = Some(rb.from_revision.clone());
    status.held_generation = Some(generation);
    if let (Some(ack), Some(id)) = (status.rollback_request.as_mut(), &rb.request_id)
        && ack.id == *id
    {
        ack.state = RequestState::Done;
        ack.message = Some(format!(
            "rolled back from {} to {}",
            rb.from_revision, rb.to_revision
        ));
    }
    status.last_rollback = Some(rb);
    set_phase(status, DeploymentPhase::Held, now);
    held_verdict(status)
}

pub(super) fn held_verdict(s: &DeploymentStatus) -> Verdict {
    if s.phase == Some(DeploymentPhase::Held)
        && let Some(rb) = &s.last_rollback
    {
        let why = rb
            .message
            .as_deref()
            .filter(|_| rb.reason != reasons::MANUAL)
            .map_or_else(
                || format!("rolled back by {}", rb.actor.as_deref().unwrap_or("a user")),
                str::to_string,
            );
        return Verdict::Stalled {
            reason: cause(&rb.reason),
            message: format!(
                "{why}; revision {} is live again{}. Held: {} is not deployed again until the spec changes; revert Git to {} to make this permanent",
                rb.to_revision,
                rb.to_deployment_id
                    .as_deref()
                    .map_or_else(String::new, |id| format!(" (deployment {id})")),
                rb.from_revision,
                rb.to_revision,
            ),
        };
    }
    let last = s
        .history
        .iter()
        .find(|r| r.outcome == Some(ReleaseOutcome::Failed));
    Verdict::Stalled {
        reason: reasons::BUILD_FAILED,
        message: format!(
            "{}; revision {} is not deployed again until the spec changes",
            last.and_then(|r| r.message.as_deref())
                .unwrap_or("the release failed"),
            s.held_revision.as_deref().unwrap_or("?")
        ),
    }
}

/// The condition reason for a rollback's recorded cause.
fn cause(reason: &str) -> &'static str {
    [
        reasons::BUILD_FAILED,
        reasons::HEALTH_CHECK_FAILED,
        reasons::DEADLINE_EXCEEDED,
        reasons::CANCELED,
        reasons::GONE,
    ]
    .into_iter()
    .find(|r| *r == reason)
    .unwrap_or(reasons::ROLLED_BACK)
}
