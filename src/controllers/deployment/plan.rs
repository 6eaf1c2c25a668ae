//! Plan (pure): the Deployment state machine. From the spec, the status, the generation, what
//! observe saw at the provider, this reconcile's probe result, a pending rollback request and
//! the clock, it computes the next status, at most one provider write, and the verdict.
//!
//! ```text
//!            new revision                     provider READY          successes ≥ threshold
//!  Live/∅ ──────────────► Pending ──► Building ──► Deploying ──► Verifying ─────────────► Live
//!   (record, no id yet)     │ deploy /  adopt by commit            │ failures ≥ threshold
//!                           └───────── failed / hung past the deadline / unhealthy ─┐
//!                                                                                   ▼
//!              Held ◄── RollingBack ◄── automatic rollback and a good release   Failed
//!                ▲
//!   rollback request (admin API) from any phase
//! ```
//! `Held` and `Failed` keep the generation they were reached at: resyncs and re-syncs of the
//! same spec from Git do nothing, a new generation (any spec change) releases them.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::{
    api::{
        common::parse_duration,
        deployment::{
            DeploymentPhase, DeploymentSpec, DeploymentStatus, HealthChecks, Release,
            ReleaseOutcome, RequestAck, RequestState, RollbackRecord, RollbackRequest,
        },
    },
    controllers::Verdict,
    providers::deploys::{DeployState, ProviderDeployment, Revision},
};

pub use super::rollback::{Refusal, rollback_target, rolled_back};
use super::rollback::{begin_manual_rollback, held_verdict, rolling_back};

/// Condition reasons of a Deployment.
pub mod reasons {
    pub const CREATING: &str = "Creating";
    pub const BUILDING: &str = "Building";
    pub const DEPLOYING: &str = "Deploying";
    pub const VERIFYING: &str = "Verifying";
    pub const ROLLING_BACK: &str = "RollingBack";
    pub const ROLLED_BACK: &str = "RolledBack";
    pub const BUILD_FAILED: &str = "BuildFailed";
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    pub const DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
    pub const CANCELED: &str = "DeploymentCanceled";
    pub const GONE: &str = "DeploymentGone";
    pub const MANUAL: &str = "Manual";
}

/// Who performs automatic rollbacks, in records and the database.
pub const AUTOMATIC_ACTOR: &str = "berth";

/// How far back a provider deployment's creation time may lie before the release was
/// recorded and still be taken for it (clock skew between berth and the provider).
const ADOPTION_SKEW: SignedDuration = SignedDuration::from_secs(120);

/// The longest pause between two looks at a deployment in flight.
const MAX_POLL: Duration = Duration::from_secs(5);

/// After recording a release: its deployment is created in the same reconcile, once the
/// record is in status (leak safety without a pause; an apply reaches the provider at once).
const RECORDED: Duration = crate::controllers::AT_ONCE;

/// What observe saw of the release in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The provider's deployment: by its recorded id, or found by commit after a create
    /// whose outcome berth did not see.
    Found(ProviderDeployment),
    /// Looked for and not there (by id: deleted at the provider; by commit: never created).
    Absent,
}

/// One health probe's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    pub healthy: bool,
    /// `200 in 35ms`, `503, expected 200`, `timed out after 5s`, …
    pub summary: String,
}

/// Everything observe gathered this reconcile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The release in flight at the provider; `None` when nothing was looked at.
    pub pending: Option<Seen>,
    /// A probe of the release under verification, when one was due.
    pub probe: Option<ProbeResult>,
    /// The deployment now serving the live release, when the provider replaced the recorded
    /// one with a redeploy of the same revision (see [`successor`]).
    pub live_replaced_by: Option<ProviderDeployment>,
    /// The provider is redeploying the live revision: look again soon to follow it.
    pub live_redeploying: bool,
}

/// What observe should read at the provider for the release in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Look {
    Nothing,
    /// The deployment with this id.
    ById(String),
    /// The service's recent deployments, to find one created for the release (see
    /// [`find_created`]): the release was recorded and a create may have happened.
    Created,
}

/// The single provider write a reconcile makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start a deployment of the revision (not idempotent: only after [`Look::Created`]
    /// found none).
    Deploy(Revision),
    /// Make this earlier deployment serve again, unless it already does.
    EnsureLive { deployment_id: String },
}

/// The inputs of [`plan`].
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub spec: &'a DeploymentSpec,
    pub generation: i64,
    pub status: &'a DeploymentStatus,
    pub observed: &'a Observed,
    pub request: Option<&'a RollbackRequest>,
    pub now: Timestamp,
}

/// The outcome of [`plan`].
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The status to write if `action` succeeds (or when there is none).
    pub status: DeploymentStatus,
    pub action: Option<Action>,
    pub verdict: Verdict,
    /// When to look again; `None` is the regular resync.
    pub requeue: Option<Duration>,
}

/// The declared revision: the commit, or the ref when no commit is declared.
#[must_use]
pub fn wanted(spec: &DeploymentSpec) -> String {
    spec.source
        .commit
        .clone()
        .or_else(|| spec.source.git_ref.clone())
        .unwrap_or_default()
}

/// The revision to hand to the provider.
#[must_use]
pub fn revision(spec: &DeploymentSpec) -> Revision {
    Revision {
        repo: spec.source.repo.clone(),
        git_ref: spec.source.git_ref.clone(),
        commit: spec.source.commit.clone(),
    }
}

/// Whether `release` is of revision `rev`: the same declared revision, or commits of which
/// one abbreviates the other.
#[must_use]
pub fn is_revision(release: &Release, rev: &str) -> bool {
    let abbreviates = |c: &str| {
        rev.len() >= 7
            && c.len() >= 7
            && c.chars().all(|ch| ch.is_ascii_hexdigit())
            && (c.starts_with(rev) || rev.starts_with(c))
    };
    release.revision == rev
        || abbreviates(&release.revision)
        || release.commit.as_deref().is_some_and(abbreviates)
}

/// The live deployment to check is still the one serving, when nothing is in flight.
#[must_use]
pub fn live_to_check(status: &DeploymentStatus) -> Option<&str> {
    if status.pending.is_some()
        || status.rolling_back.is_some()
        || status.phase != Some(DeploymentPhase::Live)
    {
        return None;
    }
    status.current.as_ref()?.deployment_id.as_deref()
}

/// What observe should read for `status`.
#[must_use]
pub fn look(status: &DeploymentStatus) -> Look {
    match (&status.pending, status.rolling_back.is_some()) {
        (Some(p), false) => p.deployment_id.clone().map_or(Look::Created, Look::ById),
        _ => Look::Nothing,
    }
}

/// The deployment created for `pending`, among the service's recent deployments (newest
/// first): one created since the release was recorded, of its commit when one is declared.
#[must_use]
pub fn find_created<'a>(
    pending: &Release,
    spec: &DeploymentSpec,
    recent: &'a [ProviderDeployment],
) -> Option<&'a ProviderDeployment> {
    let since = pending
        .started_at
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(|t| t - ADOPTION_SKEW);
    recent.iter().find(|d| {
        let recent_enough = match (since, d.created_at.as_deref()) {
            (Some(since), Some(created)) => created.parse::<Timestamp>().is_ok_and(|c| c >= since),
            _ => true,
        };
        let same_commit = match (&spec.source.commit, &d.commit) {
            (Some(want), Some(got)) => {
                got.starts_with(want.as_str()) || want.starts_with(got.as_str())
            }
            (Some(_), None) => false,
            (None, _) => true,
        };
        recent_enough && same_commit
    })
}

/// The deployment that replaced `ours` at the provider with the same revision, if any: Railway
/// redeploys a service when its variables change (an Environment sync does that), which stops
/// the deployment berth started. The release goes on in the newest such deployment instead of
/// failing.
#[must_use]
pub fn successor<'a>(
    ours: &ProviderDeployment,
    recent: &'a [ProviderDeployment],
) -> Option<&'a ProviderDeployment> {
    let created = |d: &ProviderDeployment| {
        d.created_at
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok())
    };
    let ours_created = created(ours)?;
    recent
        .iter()
        .filter(|d| d.id != ours.id)
        .filter(|d| !matches!(d.state, DeployState::Stopped | DeployState::Canceled))
        .filter(|d| created(d).is_some_and(|c| c >= ours_created))
        .filter(|d| match (&ours.commit, &d.commit) {
            (Some(a), Some(b)) => a.starts_with(b.as_str()) || b.starts_with(a.as_str()),
            (None, None) => true,
            _ => false,
        })
        .max_by_key(|d| created(d))
}

/// The URL to probe now, if the release in flight is ready at the provider and its next
/// probe is due.
#[must_use]
pub fn probe_due(
    spec: &DeploymentSpec,
    status: &DeploymentStatus,
    seen: Option<&Seen>,
    now: Timestamp,
) -> Option<String> {
    let Some(Seen::Found(d)) = seen else {
        return None;
    };
    if d.state != DeployState::Ready {
        return None;
    }
    let last = status
        .pending
        .as_ref()
        .and_then(|p| p.checks.as_ref())
        .and_then(|c| c.last_probe_time.as_deref())
        .and_then(|t| t.parse::<Timestamp>().ok());
    let due = last.is_none_or(|last| since(now, last) >= interval(spec));
    due.then(|| d.url.clone()).flatten()
}

fn interval(spec: &DeploymentSpec) -> Duration {
    parse_duration(&spec.health_check.interval).unwrap_or(Duration::from_secs(30))
}

fn deadline(spec: &DeploymentSpec) -> Duration {
    parse_duration(&spec.progress_deadline).unwrap_or(Duration::from_secs(15 * 60))
}

/// How often a deployment in flight is looked at: every health check interval, at most
/// [`MAX_POLL`] apart.
fn poll(spec: &DeploymentSpec) -> Duration {
    interval(spec).clamp(Duration::from_secs(1), MAX_POLL)
}

fn since(now: Timestamp, then: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(then)).unwrap_or(Duration::ZERO)
}

/// Computes the next status, the provider write and the verdict.
#[must_use]
pub fn plan(input: Input<'_>) -> Plan {
    let mut p = plan_release(input);
    if input.observed.live_redeploying {
        let soon = poll(input.spec);
        p.requeue = Some(p.requeue.map_or(soon, |r| r.min(soon)));
    }
    p
}

fn plan_release(input: Input<'_>) -> Plan {
    let Input {
        spec,
        generation,
        status,
        observed,
        request,
        now,
    } = input;
    let mut s = status.clone();
    s.phase.get_or_insert_default();

    // The provider redeployed the live revision (Railway does on a variable change): the live
    // release is now that deployment, and its URL is the one to serve and probe.
    if let (Some(current), Some(d)) = (s.current.as_mut(), &observed.live_replaced_by) {
        record_seen(current, d);
    }

    // Any spec change releases a hold: the user changed their mind or fixed the cause.
    if s.held_generation.is_some_and(|g| g != generation) {
        s.held_generation = None;
        s.held_revision = None;
        if matches!(
            s.phase,
            Some(DeploymentPhase::Held | DeploymentPhase::Failed)
        ) {
            let next = if s.current.is_some() {
                DeploymentPhase::Live
            } else {
                DeploymentPhase::Pending
            };
            set_phase(&mut s, next, now);
        }
    }

    // A rollback recorded before its provider call: finish it.
    if let Some(rb) = &s.rolling_back {
        return rolling_back(s.clone(), rb.to_deployment_id.clone());
    }

    if let Some(req) = request.filter(|r| s.rollback_request.as_ref().is_none_or(|a| a.id != r.id))
    {
        match rollback_target(&s, req.revision.as_deref()) {
            Ok(target) => {
                let from = s
                    .current
                    .as_ref()
                    .map_or_else(|| wanted(spec), |c| c.revision.clone());
                s.rollback_request = Some(RequestAck {
                    id: req.id.clone(),
                    state: RequestState::Accepted,
                    message: None,
                });
                return begin_manual_rollback(s, spec, target, from, req, now);
            }
            Err(refusal) => {
                s.rollback_request = Some(RequestAck {
                    id: req.id.clone(),
                    state: RequestState::Rejected,
                    message: Some(refusal.message().to_string()),
                });
            }
        }
    }

    if s.held_generation == Some(generation) {
        let verdict = held_verdict(&s);
        return Plan {
            status: s,
            action: None,
            verdict,
            requeue: None,
        };
    }

    let want = wanted(spec);
    if let Some(p) = s.pending.take() {
        if is_revision(&p, &want) {
            return in_flight(s, p, input);
        }
        // A newer spec replaces the release in flight.
        let mut old = p;
        old.outcome = Some(ReleaseOutcome::Superseded);
        old.finished_at = Some(now.to_string());
        old.message = Some(format!("replaced by revision {want} before it finished"));
        push_history(&mut s, old, spec);
    }

    if s.current.as_ref().is_some_and(|c| is_revision(c, &want)) {
        set_phase(&mut s, DeploymentPhase::Live, now);
        let verdict = Verdict::Ready {
            message: live_message(s.current.as_ref()),
        };
        return Plan {
            status: s,
            action: None,
            verdict,
            requeue: None,
        };
    }

    // Record the release before anything is created, so a restart looks for it first.
    s.pending = Some(Release {
        revision: want.clone(),
        started_at: Some(now.to_string()),
        ..Release::default()
    });
    set_phase(&mut s, DeploymentPhase::Pending, now);
    Plan {
        status: s,
        action: None,
        verdict: Verdict::Progressing {
            reason: reasons::CREATING,
            message: format!("release of revision {want} recorded; creating its deployment"),
        },
        requeue: Some(RECORDED),
    }
}

/// The release in flight, `p`, is of the declared revision: follow it.
fn in_flight(mut s: DeploymentStatus, mut p: Release, input: Input<'_>) -> Plan {
    let Input {
        spec,
        generation,
        observed,
        now,
        ..
    } = input;
    let phase = s.phase.unwrap_or_default();
    let phase_since = s
        .phase_since
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .unwrap_or(now);
    let limit = deadline(spec);
    if since(now, phase_since) > limit {
        let message = format!(
            "phase {phase:?} took longer than spec.progressDeadline ({})",
            spec.progress_deadline
        );
        return failed(
            s,
            p,
            spec,
            generation,
            reasons::DEADLINE_EXCEEDED,
            message,
            now,
        );
    }

    let d = match (&p.deployment_id, &observed.pending) {
        (None, Some(Seen::Absent)) => {
            let action = Action::Deploy(revision(spec));
            let message = format!("creating the deployment of revision {}", p.revision);
            s.pending = Some(p);
            return Plan {
                status: s,
                action: Some(action),
                verdict: Verdict::Progressing {
                    reason: reasons::CREATING,
                    message,
                },
                requeue: Some(poll(spec)),
            };
        }
        (Some(id), Some(Seen::Absent)) => {
            let message = format!("deployment {id} no longer exists at the provider");
            return failed(s, p, spec, generation, reasons::GONE, message, now);
        }
        (_, Some(Seen::Found(d))) => d.clone(),
        (_, None) => {
            let message = format!(
                "waiting to look at the deployment of revision {}",
                p.revision
            );
            s.pending = Some(p);
            return Plan {
                status: s,
                action: None,
                verdict: Verdict::Progressing {
                    reason: reasons::CREATING,
                    message,
                },
                requeue: Some(poll(spec)),
            };
        }
    };
    record_seen(&mut p, &d);

    let progressing =
        |mut s: DeploymentStatus, p: Release, phase, reason, message: String, requeue| {
            set_phase(&mut s, phase, now);
            s.pending = Some(p);
            Plan {
                status: s,
                action: None,
                verdict: Verdict::Progressing { reason, message },
                requeue: Some(requeue),
            }
        };
    match &d.state {
        DeployState::Queued | DeployState::Building | DeployState::Unknown(_) => {
            let message = format!("{} is building deployment {}", provider_words(&d), d.id);
            progressing(
                s,
                p,
                DeploymentPhase::Building,
                reasons::BUILDING,
                message,
                poll(spec),
            )
        }
        DeployState::Deploying => {
            let message = format!("deployment {} is rolling out", d.id);
            progressing(
                s,
                p,
                DeploymentPhase::Deploying,
                reasons::DEPLOYING,
                message,
                poll(spec),
            )
        }
        DeployState::Failed => {
            let message = format!(
                "the build of revision {} failed: {}",
                p.revision,
                d.message
                    .as_deref()
                    .unwrap_or("the provider gave no reason")
            );
            failed(s, p, spec, generation, reasons::BUILD_FAILED, message, now)
        }
        DeployState::Canceled | DeployState::Stopped => {
            let message = format!(
                "deployment {} was {:?} at the provider before it went live",
                d.id, d.state
            );
            failed(s, p, spec, generation, reasons::CANCELED, message, now)
        }
        DeployState::Ready => verify(s, p, input),
    }
}

/// The release is up at the provider: count this reconcile's probe, if any.
fn verify(mut s: DeploymentStatus, mut p: Release, input: Input<'_>) -> Plan {
    let Input {
        spec,
        generation,
        observed,
        now,
        ..
    } = input;
    let hc = &spec.health_check;
    if s.phase != Some(DeploymentPhase::Verifying) {
        set_phase(&mut s, DeploymentPhase::Verifying, now);
        p.checks = Some(HealthChecks::default());
    }
    let mut checks = p.checks.clone().unwrap_or_default();
    if let Some(probe) = &observed.probe {
        if probe.healthy {
            checks.successes = checks.successes.saturating_add(1);
            checks.failures = 0;
        } else {
            checks.failures = checks.failures.saturating_add(1);
            checks.successes = 0;
        }
        checks.last_result = Some(probe.summary.clone());
        checks.last_probe_time = Some(now.to_string());
    }
    p.checks = Some(checks.clone());
    let url = p.url.clone().unwrap_or_default();
    if checks.successes >= hc.success_threshold {
        return went_live(s, p, spec, now);
    }
    if checks.failures >= hc.failure_threshold {
        let message = format!(
            "revision {} failed its health check {} times in a row at {url}{}: {}",
            p.revision,
            checks.failures,
            hc.path,
            checks.last_result.as_deref().unwrap_or("")
        );
        return failed(
            s,
            p,
            spec,
            generation,
            reasons::HEALTH_CHECK_FAILED,
            message,
            now,
        );
    }
    let message = if p.url.is_none() {
        "waiting for the provider to report the deployment's URL to check".to_string()
    } else {
        format!(
            "checking {url}{}: {} of {} successes needed{}",
            hc.path,
            checks.successes,
            hc.success_threshold,
            checks
                .last_result
                .as_deref()
                .map_or_else(String::new, |r| format!("; last: {r}"))
        )
    };
    let last = checks
        .last_probe_time
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok());
    let requeue = last.map_or(Duration::from_secs(1), |last| {
        interval(spec)
            .saturating_sub(since(now, last))
            .max(Duration::from_millis(200))
    });
    s.pending = Some(p);
    Plan {
        status: s,
        action: None,
        verdict: Verdict::Progressing {
            reason: reasons::VERIFYING,
            message,
        },
        requeue: Some(requeue),
    }
}

fn went_live(
    mut s: DeploymentStatus,
    mut p: Release,
    spec: &DeploymentSpec,
    now: Timestamp,
) -> Plan {
    p.outcome = Some(ReleaseOutcome::Live);
    p.finished_at = Some(now.to_string());
    push_history(&mut s, p.clone(), spec);
    s.previous = s.current.take();
    s.current = Some(p);
    s.pending = None;
    set_phase(&mut s, DeploymentPhase::Live, now);
    let verdict = Verdict::Ready {
        message: live_message(s.current.as_ref()),
    };
    Plan {
        status: s,
        action: None,
        verdict,
        requeue: None,
    }
}

/// The release failed: roll back to the live one when allowed, otherwise stop at `Failed`.
fn failed(
    mut s: DeploymentStatus,
    mut p: Release,
    spec: &DeploymentSpec,
    generation: i64,
    reason: &'static str,
    message: String,
    now: Timestamp,
) -> Plan {
    p.outcome = Some(ReleaseOutcome::Failed);
    p.finished_at = Some(now.to_string());
    p.message = Some(message.clone());
    let bad = p.revision.clone();
    push_history(&mut s, p, spec);
    s.pending = None;
    let good = s.current.clone().filter(|c| c.deployment_id.is_some());
    match good {
        Some(good) if spec.rollback.automatic => {
            s.rolling_back = Some(RollbackRecord {
                from_revision: bad,
                to_revision: good_revision(&good),
                to_deployment_id: good.deployment_id.clone(),
                reason: reason.to_string(),
                actor: Some(AUTOMATIC_ACTOR.into()),
                request_id: None,
                message: Some(message),
                time: now.to_string(),
            });
            set_phase(&mut s, DeploymentPhase::RollingBack, now);
            rolling_back(s, good.deployment_id)
        }
        _ => {
            let why = if spec.rollback.automatic {
                "no earlier good release to roll back to"
            } else {
                "spec.rollback.automatic is false"
            };
            s.held_revision = Some(bad.clone());
            s.held_generation = Some(generation);
            set_phase(&mut s, DeploymentPhase::Failed, now);
            Plan {
                status: s,
                action: None,
                verdict: Verdict::Stalled {
                    reason,
                    message: format!(
                        "{message}; not rolled back ({why}); revision {bad} is not deployed again until the spec changes"
                    ),
                },
                requeue: None,
            }
        }
    }
}

/// Folds a created deployment into the status: its id is recorded before anything waits on it.
pub fn deployed(status: &mut DeploymentStatus, d: &ProviderDeployment, now: Timestamp) {
    if let Some(p) = status.pending.as_mut() {
        record_seen(p, d);
    }
    set_phase(status, DeploymentPhase::Building, now);
}

fn record_seen(p: &mut Release, d: &ProviderDeployment) {
    p.deployment_id = Some(d.id.clone());
    if d.url.is_some() {
        p.url.clone_from(&d.url);
    }
    if d.commit.is_some() {
        p.commit.clone_from(&d.commit);
    }
    p.state = Some(state_word(&d.state));
    if p.started_at.is_none() {
        p.started_at.clone_from(&d.created_at);
    }
}

/// The provider-neutral state as status spells it.
#[must_use]
pub fn state_word(s: &DeployState) -> String {
    match s {
        DeployState::Queued => "QUEUED".into(),
        DeployState::Building => "BUILDING".into(),
        DeployState::Deploying => "DEPLOYING".into(),
        DeployState::Ready => "READY".into(),
        DeployState::Failed => "FAILED".into(),
        DeployState::Canceled => "CANCELED".into(),
        DeployState::Stopped => "STOPPED".into(),
        DeployState::Unknown(s) => s.clone(),
    }
}

fn provider_words(d: &ProviderDeployment) -> &'static str {
    match d.state {
        DeployState::Queued => "the provider has queued and",
        _ => "the provider",
    }
}

/// The revision to name for Git: the built commit when known.
pub(super) fn good_revision(r: &Release) -> String {
    r.commit.clone().unwrap_or_else(|| r.revision.clone())
}

fn live_message(current: Option<&Release>) -> String {
    current.map_or_else(String::new, |c| {
        format!(
            "revision {} is live{}",
            c.revision,
            c.url
                .as_deref()
                .map_or_else(String::new, |u| format!(" at {u}"))
        )
    })
}

pub(super) fn set_phase(s: &mut DeploymentStatus, phase: DeploymentPhase, now: Timestamp) {
    if s.phase != Some(phase) || s.phase_since.is_none() {
        s.phase = Some(phase);
        s.phase_since = Some(now.to_string());
    }
}

pub(super) fn push_history(s: &mut DeploymentStatus, r: Release, spec: &DeploymentSpec) {
    s.history.insert(0, r);
    let limit = usize::try_from(spec.revision_history_limit.max(1)).unwrap_or(10);
    s.history.truncate(limit);
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
