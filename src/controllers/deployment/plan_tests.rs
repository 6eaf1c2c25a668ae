//! The Deployment state machine, transition by transition, from specs as users write them.

use super::*;
use crate::api::deployment::{DeploymentPhase as P, ReleaseOutcome as O};

const SPEC: &str = "environmentRef: {name: production}\nservice: {vercel: {project: web}}\nsource: {repo: acme/web, commit: bbbbbbb}\nhealthCheck: {interval: 10s, successThreshold: 2, failureThreshold: 2}\nprogressDeadline: 10m\n";

fn spec() -> DeploymentSpec {
    crate::yaml::from_str(SPEC).unwrap()
}

fn spec_with(extra: &str) -> DeploymentSpec {
    crate::yaml::from_str(&format!("{SPEC}{extra}")).unwrap()
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn dep(id: &str, state: DeployState, commit: &str, created: i64) -> ProviderDeployment {
    ProviderDeployment {
        id: id.into(),
        state,
        url: Some(format!("{id}.example.app")),
        commit: Some(commit.into()),
        created_at: Some(at(created).to_string()),
        live: false,
        message: None,
    }
}

/// A release that went live (deployment `id`, revision `rev`).
fn good(rev: &str, id: &str) -> Release {
    Release {
        revision: rev.into(),
        deployment_id: Some(id.into()),
        url: Some(format!("{id}.example.app")),
        state: Some("READY".into()),
        outcome: Some(O::Live),
        ..Release::default()
    }
}

/// Live on revision `aaaaaaa` (deployment dpl_a), with `zzzzzzz` (dpl_z) before it.
fn live_on_a() -> DeploymentStatus {
    DeploymentStatus {
        phase: Some(P::Live),
        phase_since: Some(at(0).to_string()),
        current: Some(good("aaaaaaa", "dpl_a")),
        previous: Some(good("zzzzzzz", "dpl_z")),
        history: vec![good("aaaaaaa", "dpl_a"), good("zzzzzzz", "dpl_z")],
        ..DeploymentStatus::default()
    }
}

/// `live_on_a` with revision bbbbbbb in flight as deployment dpl_b, in `phase` since t=100.
fn rolling_out(phase: P) -> DeploymentStatus {
    let mut s = live_on_a();
    s.phase = Some(phase);
    s.phase_since = Some(at(100).to_string());
    s.pending = Some(Release {
        revision: "bbbbbbb".into(),
        deployment_id: Some("dpl_b".into()),
        started_at: Some(at(100).to_string()),
        ..Release::default()
    });
    s
}

fn seen(d: ProviderDeployment) -> Observed {
    Observed {
        pending: Some(Seen::Found(d)),
        ..Observed::default()
    }
}

fn probed(d: ProviderDeployment, healthy: bool) -> Observed {
    Observed {
        pending: Some(Seen::Found(d)),
        probe: Some(ProbeResult {
            healthy,
            summary: if healthy {
                "200 in 5ms"
            } else {
                "503 in 5ms, expected 200"
            }
            .into(),
        }),
        ..Observed::default()
    }
}

fn run(spec: &DeploymentSpec, status: &DeploymentStatus, observed: &Observed, now: i64) -> Plan {
    run_gen(spec, 1, status, observed, None, now)
}

fn run_gen(
    spec: &DeploymentSpec,
    generation: i64,
    status: &DeploymentStatus,
    observed: &Observed,
    request: Option<&RollbackRequest>,
    now: i64,
) -> Plan {
    plan(Input {
        spec,
        generation,
        status,
        observed,
        request,
        now: at(now),
    })
}

fn reason(v: &Verdict) -> &'static str {
    match v {
        Verdict::Progressing { reason, .. } | Verdict::Stalled { reason, .. } => reason,
        Verdict::Ready { .. } => "Ready",
        other => panic!("unexpected verdict {other:?}"),
    }
}

fn message(v: &Verdict) -> &str {
    match v {
        Verdict::Progressing { message, .. }
        | Verdict::Stalled { message, .. }
        | Verdict::Ready { message }
        | Verdict::Retrying { message }
        | Verdict::Blocked { message } => message,
        Verdict::Suspended => "",
    }
}

// Protects (leak-safe create): a new revision is first recorded without an id and nothing is
// created in that reconcile; the create comes only after a look-up found none.
#[test]
fn a_new_revision_is_recorded_before_its_deployment_is_created() {
    let p = run(&spec(), &live_on_a(), &Observed::default(), 100);
    assert_eq!(p.action, None);
    assert_eq!(p.status.phase, Some(P::Pending));
    let pending = p.status.pending.clone().unwrap();
    assert_eq!(
        (pending.revision.as_str(), pending.deployment_id),
        ("bbbbbbb", None)
    );
    assert_eq!(look(&p.status), Look::Created);
    assert_eq!(reason(&p.verdict), reasons::CREATING);
    assert_eq!(p.requeue, Some(crate::controllers::AT_ONCE));

    let p = run(
        &spec(),
        &p.status,
        &Observed {
            pending: Some(Seen::Absent),
            ..Observed::default()
        },
        101,
    );
    assert_eq!(p.action, Some(Action::Deploy(revision(&spec()))));
    assert_eq!(p.status.pending.as_ref().unwrap().deployment_id, None);

    // The created deployment's id is folded in before anything waits on it.
    let mut s = p.status;
    deployed(
        &mut s,
        &dep("dpl_b", DeployState::Queued, "bbbbbbb", 101),
        at(101),
    );
    assert_eq!(
        s.pending.as_ref().unwrap().deployment_id.as_deref(),
        Some("dpl_b")
    );
    assert_eq!(s.phase, Some(P::Building));
    assert_eq!(look(&s), Look::ById("dpl_b".into()));
}

// Protects (restart adoption): a release recorded without an id whose create did happen is
// adopted from the provider's list, never created twice.
#[test]
fn a_release_recorded_without_an_id_adopts_the_deployment_found_by_commit() {
    let mut s = live_on_a();
    s.phase = Some(P::Pending);
    s.phase_since = Some(at(100).to_string());
    s.pending = Some(Release {
        revision: "bbbbbbb".into(),
        started_at: Some(at(100).to_string()),
        ..Release::default()
    });
    let recent = [
        dep("dpl_other", DeployState::Building, "ccccccc", 101),
        dep("dpl_b", DeployState::Building, "bbbbbbbf00d", 101),
        dep("dpl_old_b", DeployState::Ready, "bbbbbbb", -10_000),
    ];
    let found = find_created(s.pending.as_ref().unwrap(), &spec(), &recent).cloned();
    assert_eq!(found.as_ref().map(|d| d.id.as_str()), Some("dpl_b"));
    // An old deployment of the same commit is not this release's.
    assert_eq!(
        find_created(s.pending.as_ref().unwrap(), &spec(), &recent[2..]),
        None
    );

    let p = run(&spec(), &s, &seen(found.unwrap()), 110);
    assert_eq!(p.action, None, "adopted, not deployed again");
    let pending = p.status.pending.unwrap();
    assert_eq!(pending.deployment_id.as_deref(), Some("dpl_b"));
    assert_eq!(pending.commit.as_deref(), Some("bbbbbbbf00d"));
    assert_eq!(p.status.phase, Some(P::Building));
}

// Protects: a release whose deployment the provider replaced with a redeploy of the same
// revision (Railway does that when an Environment sync changes variables) follows the new
// deployment instead of failing; an older deployment, another revision or a stopped one is
// never taken for it.
#[test]
fn a_release_replaced_by_a_redeploy_of_its_revision_follows_the_new_deployment() {
    let ours = dep("dpl_ours", DeployState::Stopped, "bbbbbbb", 100);
    let recent = [
        dep("dpl_other_rev", DeployState::Ready, "ccccccc", 105),
        dep("dpl_redeploy", DeployState::Building, "bbbbbbb", 101),
        dep("dpl_also_stopped", DeployState::Stopped, "bbbbbbb", 103),
        dep("dpl_older", DeployState::Ready, "bbbbbbb", 50),
        ours.clone(),
    ];
    let next = successor(&ours, &recent).cloned().unwrap();
    assert_eq!(next.id, "dpl_redeploy");
    assert_eq!(successor(&ours, &recent[2..]), None);

    let mut s = rolling_out(P::Building);
    s.pending.as_mut().unwrap().deployment_id = Some("dpl_ours".into());
    let p = run(&spec(), &s, &seen(next), 110);
    assert_eq!(p.action, None, "followed, not deployed again");
    let pending = p.status.pending.unwrap();
    assert_eq!(pending.deployment_id.as_deref(), Some("dpl_redeploy"));
    assert_eq!(p.status.phase, Some(P::Building));
}

// Protects: a live release whose deployment the provider replaced with a redeploy of the same
// revision points at the new deployment and its URL (so it is what gets probed), and stays Live.
#[test]
fn a_live_release_follows_a_redeploy_of_its_revision() {
    let s = live_on_a();
    let live_id = live_to_check(&s).unwrap().to_string();
    let mut next = dep("dpl_redeployed", DeployState::Ready, "aaaaaaa", 200);
    next.url = Some("https://redeployed.example".into());
    let at_a =
        crate::yaml::from_str::<DeploymentSpec>(&SPEC.replace("bbbbbbb", "aaaaaaa")).unwrap();
    let p = run(
        &at_a,
        &s,
        &Observed {
            live_replaced_by: Some(next),
            ..Observed::default()
        },
        210,
    );
    let current = p.status.current.unwrap();
    assert_ne!(current.deployment_id.as_deref(), Some(live_id.as_str()));
    assert_eq!(current.deployment_id.as_deref(), Some("dpl_redeployed"));
    assert_eq!(current.url.as_deref(), Some("https://redeployed.example"));
    assert_eq!(p.status.phase, Some(P::Live));
    assert_eq!(p.action, None);
}

// Protects: the provider's states drive the phase, and each in-flight phase polls again soon.
#[test]
fn provider_states_move_the_phase_forward() {
    let table = [
        (DeployState::Queued, P::Building, reasons::BUILDING),
        (DeployState::Building, P::Building, reasons::BUILDING),
        (DeployState::Deploying, P::Deploying, reasons::DEPLOYING),
        (DeployState::Ready, P::Verifying, reasons::VERIFYING),
    ];
    for (state, phase, why) in table {
        let p = run(
            &spec(),
            &rolling_out(P::Building),
            &seen(dep("dpl_b", state.clone(), "bbbbbbb", 100)),
            120,
        );
        assert_eq!(p.status.phase, Some(phase), "{state:?}");
        assert_eq!(reason(&p.verdict), why, "{state:?}");
        assert_eq!(p.action, None);
        assert!(
            p.requeue.is_some_and(|r| r <= Duration::from_secs(10)),
            "{state:?}"
        );
        assert_eq!(
            p.status.current.as_ref().unwrap().revision,
            "aaaaaaa",
            "live one untouched"
        );
    }
}

// Protects (hysteresis up): a release goes live only after successThreshold consecutive good
// probes, one probe a reconcile; then it is current, the old one previous, and in history.
#[test]
fn a_release_goes_live_after_consecutive_successful_probes() {
    let ready = dep("dpl_b", DeployState::Ready, "bbbbbbb", 100);
    let p1 = run(
        &spec(),
        &rolling_out(P::Deploying),
        &probed(ready.clone(), true),
        130,
    );
    assert_eq!(p1.status.phase, Some(P::Verifying));
    let checks = p1.status.pending.as_ref().unwrap().checks.clone().unwrap();
    assert_eq!((checks.successes, checks.failures), (1, 0));
    assert_eq!(checks.last_result.as_deref(), Some("200 in 5ms"));
    assert_eq!(p1.requeue, Some(Duration::from_secs(10)));
    // Not due again before the interval, whatever triggers the reconcile.
    assert_eq!(
        probe_due(
            &spec(),
            &p1.status,
            Some(&Seen::Found(ready.clone())),
            at(135)
        ),
        None
    );
    assert_eq!(
        probe_due(
            &spec(),
            &p1.status,
            Some(&Seen::Found(ready.clone())),
            at(140)
        )
        .as_deref(),
        Some("dpl_b.example.app")
    );

    let p2 = run(&spec(), &p1.status, &probed(ready.clone(), true), 140);
    assert_eq!(p2.status.phase, Some(P::Live));
    assert_eq!(reason(&p2.verdict), "Ready");
    assert!(message(&p2.verdict).contains("bbbbbbb is live at dpl_b.example.app"));
    let s = p2.status;
    assert_eq!(s.pending, None);
    assert_eq!(
        s.current.as_ref().unwrap().deployment_id.as_deref(),
        Some("dpl_b")
    );
    assert_eq!(s.current.as_ref().unwrap().outcome, Some(O::Live));
    assert_eq!(s.previous.as_ref().unwrap().revision, "aaaaaaa");
    assert_eq!(s.history[0].revision, "bbbbbbb");

    // Steady state: nothing to do, no provider call, regular resync.
    let p3 = run(&spec(), &s, &Observed::default(), 500);
    assert_eq!((p3.action, p3.requeue), (None, None));
    assert_eq!(p3.status, s);
}

// Protects (hysteresis down, automatic rollback): failureThreshold consecutive bad probes fail
// the release and restore the live one; a good probe in between resets the count.
#[test]
fn failing_health_checks_roll_back_to_the_last_good_release_and_hold() {
    let ready = dep("dpl_b", DeployState::Ready, "bbbbbbb", 100);
    let p = run(
        &spec(),
        &rolling_out(P::Deploying),
        &probed(ready.clone(), false),
        130,
    );
    let p = run(&spec(), &p.status, &probed(ready.clone(), true), 140);
    let p = run(&spec(), &p.status, &probed(ready.clone(), false), 150);
    assert_eq!(
        p.status.phase,
        Some(P::Verifying),
        "the good probe reset the failures"
    );
    let p = run(&spec(), &p.status, &probed(ready, false), 160);
    assert_eq!(p.status.phase, Some(P::RollingBack));
    assert_eq!(
        p.action,
        Some(Action::EnsureLive {
            deployment_id: "dpl_a".into()
        })
    );
    let rb = p.status.rolling_back.clone().unwrap();
    assert_eq!(
        (rb.from_revision.as_str(), rb.to_revision.as_str()),
        ("bbbbbbb", "aaaaaaa")
    );
    assert_eq!(rb.reason, reasons::HEALTH_CHECK_FAILED);
    assert_eq!(p.status.history[0].outcome, Some(O::Failed));
    assert!(
        p.status.history[0]
            .message
            .as_deref()
            .unwrap()
            .contains("503")
    );

    let mut s = p.status;
    let v = rolled_back(&mut s, 1, at(161));
    assert_eq!(s.phase, Some(P::Held));
    assert_eq!(
        (s.held_revision.as_deref(), s.held_generation),
        (Some("bbbbbbb"), Some(1))
    );
    assert_eq!(s.rolling_back, None);
    assert_eq!(
        s.last_rollback
            .as_ref()
            .unwrap()
            .to_deployment_id
            .as_deref(),
        Some("dpl_a")
    );
    assert_eq!(s.current.as_ref().unwrap().revision, "aaaaaaa");
    assert_eq!(reason(&v), reasons::HEALTH_CHECK_FAILED);
    assert!(message(&v).contains("revert Git to aaaaaaa"), "{v:?}");
}

// Protects: a failed build rolls back (automatic) or stops at Failed (not automatic, or
// nothing good to return to), and says why in the condition message.
#[test]
fn a_failed_build_rolls_back_or_fails_as_the_policy_says() {
    let mut failed_build = dep("dpl_b", DeployState::Failed, "bbbbbbb", 100);
    failed_build.message = Some("Command \"npm run build\" exited with 1".into());

    let p = run(
        &spec(),
        &rolling_out(P::Building),
        &seen(failed_build.clone()),
        130,
    );
    assert_eq!(
        p.action,
        Some(Action::EnsureLive {
            deployment_id: "dpl_a".into()
        })
    );
    assert_eq!(
        p.status.rolling_back.as_ref().unwrap().reason,
        reasons::BUILD_FAILED
    );

    let manual = spec_with("rollback: {automatic: false}\n");
    let p = run(
        &manual,
        &rolling_out(P::Building),
        &seen(failed_build.clone()),
        130,
    );
    assert_eq!(p.action, None);
    assert_eq!(p.status.phase, Some(P::Failed));
    assert_eq!(p.status.held_generation, Some(1));
    assert_eq!(reason(&p.verdict), reasons::BUILD_FAILED);
    let m = message(&p.verdict);
    assert!(
        m.contains("npm run build") && m.contains("spec.rollback.automatic is false"),
        "{m}"
    );

    let mut first = rolling_out(P::Building);
    first.current = None;
    let p = run(&spec(), &first, &seen(failed_build), 130);
    assert_eq!(p.status.phase, Some(P::Failed));
    assert!(message(&p.verdict).contains("no earlier good release"));
}

// Protects: spec.progressDeadline bounds every phase: a hung build fails the release.
#[test]
fn a_phase_past_the_progress_deadline_fails_the_release() {
    let hung = seen(dep("dpl_b", DeployState::Building, "bbbbbbb", 100));
    let p = run(&spec(), &rolling_out(P::Building), &hung, 100 + 599);
    assert_eq!(p.status.phase, Some(P::Building));
    let p = run(&spec(), &rolling_out(P::Building), &hung, 100 + 601);
    assert_eq!(p.status.phase, Some(P::RollingBack));
    assert_eq!(
        p.status.rolling_back.unwrap().reason,
        reasons::DEADLINE_EXCEEDED
    );
    assert!(
        p.status.history[0]
            .message
            .as_deref()
            .unwrap()
            .contains("Building took longer than spec.progressDeadline (10m)")
    );
}

// Protects (rule 7): a Held deployment does not redeploy the bad revision on resync or on a
// re-sync of the same spec; a new generation releases the hold, and reverting Git to the
// good revision makes it Live without a deploy.
#[test]
fn held_stays_held_until_the_spec_changes() {
    let mut held = live_on_a();
    held.phase = Some(P::Held);
    held.held_revision = Some("bbbbbbb".into());
    held.held_generation = Some(3);
    held.last_rollback = Some(RollbackRecord {
        from_revision: "bbbbbbb".into(),
        to_revision: "aaaaaaa".into(),
        reason: reasons::BUILD_FAILED.into(),
        time: at(50).to_string(),
        ..RollbackRecord::default()
    });
    let p = run_gen(&spec(), 3, &held, &Observed::default(), None, 1000);
    assert_eq!((p.action, p.status.pending.clone()), (None, None));
    assert_eq!(p.status.phase, Some(P::Held));
    assert_eq!(reason(&p.verdict), reasons::BUILD_FAILED);

    // Any spec change (here generation 4, same revision) retries.
    let p = run_gen(&spec(), 4, &held, &Observed::default(), None, 1000);
    assert_eq!(p.status.pending.as_ref().unwrap().revision, "bbbbbbb");
    assert_eq!(
        (p.status.held_revision.clone(), p.status.held_generation),
        (None, None)
    );

    // Git reverted to the good revision: live again, nothing deployed.
    let reverted =
        crate::yaml::from_str::<DeploymentSpec>(&SPEC.replace("bbbbbbb", "aaaaaaa")).unwrap();
    let p = run_gen(&reverted, 4, &held, &Observed::default(), None, 1000);
    assert_eq!((p.action, p.status.phase), (None, Some(P::Live)));
    assert_eq!(reason(&p.verdict), "Ready");
}

fn request(id: &str, revision: Option<&str>) -> RollbackRequest {
    RollbackRequest {
        id: id.into(),
        revision: revision.map(Into::into),
        reason: "checkout is broken".into(),
        actor: "alice".into(),
    }
}

// Protects: a manual rollback request restores the release before the live one, holds the
// deployment (so a GitOps sync does not undo it) and is acknowledged with its id, once.
#[test]
fn a_manual_rollback_request_restores_the_previous_release_and_holds() {
    let mut live_b = live_on_a();
    live_b.previous = live_b.current.take();
    live_b.current = Some(good("bbbbbbb", "dpl_b"));
    let req = request("r1", None);
    let p = run_gen(&spec(), 2, &live_b, &Observed::default(), Some(&req), 300);
    assert_eq!(
        p.action,
        Some(Action::EnsureLive {
            deployment_id: "dpl_a".into()
        })
    );
    assert_eq!(
        p.status.rollback_request.as_ref().unwrap().state,
        RequestState::Accepted
    );
    assert_eq!(p.status.current.as_ref().unwrap().revision, "aaaaaaa");
    assert_eq!(p.status.previous.as_ref().unwrap().revision, "bbbbbbb");
    assert_eq!(p.status.history[0].outcome, Some(O::RolledBack));

    let mut s = p.status;
    let v = rolled_back(&mut s, 2, at(301));
    let ack = s.rollback_request.clone().unwrap();
    assert_eq!((ack.id.as_str(), ack.state), ("r1", RequestState::Done));
    let rb = s.last_rollback.clone().unwrap();
    assert_eq!(
        (
            rb.reason.as_str(),
            rb.actor.as_deref(),
            rb.request_id.as_deref(),
            rb.message.as_deref()
        ),
        (
            "Manual",
            Some("alice"),
            Some("r1"),
            Some("checkout is broken")
        )
    );
    assert_eq!((s.phase, s.held_generation), (Some(P::Held), Some(2)));
    assert_eq!(reason(&v), reasons::ROLLED_BACK);

    // The same request seen again (annotation still there) does nothing more.
    let p = run_gen(&spec(), 2, &s, &Observed::default(), Some(&req), 400);
    assert_eq!((p.action, p.status.phase), (None, Some(P::Held)));
    assert_eq!(p.status, s);
}

// Protects: requests that cannot be honoured are refused with a reason, and nothing moves.
#[test]
fn impossible_rollback_requests_are_refused() {
    let mut only_one = live_on_a();
    only_one.previous = None;
    only_one.history = vec![good("aaaaaaa", "dpl_a")];
    type Case<'a> = (&'a DeploymentStatus, Option<&'a str>, fn(&Refusal) -> bool);
    let cases: [Case<'_>; 3] = [
        (&only_one, None, |r| {
            matches!(r, Refusal::NothingToRollBackTo(_))
        }),
        (&live_on_a(), Some("1234567"), |r| {
            matches!(r, Refusal::UnknownRevision(_))
        }),
        (&live_on_a(), Some("aaaaaaa"), |r| {
            matches!(r, Refusal::AlreadyLive(_))
        }),
    ];
    for (status, rev, expected) in cases {
        let refusal = rollback_target(status, rev).unwrap_err();
        assert!(expected(&refusal), "{rev:?}: {refusal:?}");
        let p = run_gen(
            &spec(),
            1,
            status,
            &Observed::default(),
            Some(&request("rx", rev)),
            10,
        );
        assert_eq!(p.action, None, "{rev:?}");
        assert_eq!(p.status.rolling_back, None, "{rev:?}");
        let ack = p.status.rollback_request.unwrap();
        assert_eq!(
            (ack.id.as_str(), ack.state),
            ("rx", RequestState::Rejected),
            "{rev:?}"
        );
        assert_eq!(ack.message.as_deref(), Some(refusal.message()));
    }
    // A named good revision, by abbreviation of its commit, is found.
    let mut s = live_on_a();
    s.previous.as_mut().unwrap().commit = Some("fedcba90123".into());
    assert_eq!(
        rollback_target(&s, Some("fedcba90"))
            .unwrap()
            .deployment_id
            .as_deref(),
        Some("dpl_z")
    );
}

// Protects (restart mid-rollback): a rollback recorded in status is carried out again, and
// the target's "already serving" check makes that safe.
#[test]
fn a_recorded_rollback_is_finished_after_a_restart() {
    let ready = dep("dpl_b", DeployState::Ready, "bbbbbbb", 100);
    let p = run(
        &spec(),
        &rolling_out(P::Verifying),
        &probed(ready.clone(), false),
        130,
    );
    let p = run(&spec(), &p.status, &probed(ready, false), 140);
    assert_eq!(p.status.phase, Some(P::RollingBack));
    assert_eq!(look(&p.status), Look::Nothing);
    let again = run(&spec(), &p.status, &Observed::default(), 900);
    assert_eq!(
        again.action,
        Some(Action::EnsureLive {
            deployment_id: "dpl_a".into()
        })
    );
    assert_eq!(again.status, p.status);
}

// Protects: a newer spec replaces a release in flight; the old one is recorded as superseded.
#[test]
fn a_new_revision_supersedes_the_release_in_flight() {
    let newer =
        crate::yaml::from_str::<DeploymentSpec>(&SPEC.replace("bbbbbbb", "ccccccc")).unwrap();
    let p = run(
        &newer,
        &rolling_out(P::Building),
        &seen(dep("dpl_b", DeployState::Building, "bbbbbbb", 100)),
        130,
    );
    assert_eq!(p.status.history[0].outcome, Some(O::Superseded));
    assert_eq!(p.status.pending.as_ref().unwrap().revision, "ccccccc");
    assert_eq!(p.status.pending.as_ref().unwrap().deployment_id, None);
    assert_eq!(p.action, None);
}

// Protects: a deployment deleted at the provider while in flight fails the release instead of
// waiting forever.
#[test]
fn a_vanished_deployment_fails_the_release() {
    let p = run(
        &spec(),
        &rolling_out(P::Deploying),
        &Observed {
            pending: Some(Seen::Absent),
            ..Observed::default()
        },
        130,
    );
    assert_eq!(p.status.rolling_back.unwrap().reason, reasons::GONE);
}

// Protects: status history is bounded by revisionHistoryLimit.
#[test]
fn history_is_bounded() {
    let limited = spec_with("revisionHistoryLimit: 2\n");
    let mut s = live_on_a();
    s.history = vec![good("a1", "d1"), good("a2", "d2"), good("a3", "d3")];
    let p = run(
        &limited,
        &rolling_out(P::Building),
        &seen(dep("dpl_b", DeployState::Failed, "bbbbbbb", 100)),
        130,
    );
    assert_eq!(p.status.history.len(), 2);
    assert_eq!(p.status.history[0].revision, "bbbbbbb");
}

// Protects: a ref-only source is matched by time, not commit, when adopting.
#[test]
fn a_ref_release_adopts_the_newest_deployment_since_it_was_recorded() {
    let by_ref: DeploymentSpec =
        crate::yaml::from_str(&SPEC.replace("commit: bbbbbbb", "ref: main")).unwrap();
    assert_eq!(wanted(&by_ref), "main");
    let pending = Release {
        revision: "main".into(),
        started_at: Some(at(100).to_string()),
        ..Release::default()
    };
    let recent = [dep("dpl_new", DeployState::Building, "ddddddd", 101)];
    assert_eq!(
        find_created(&pending, &by_ref, &recent).map(|d| d.id.as_str()),
        Some("dpl_new")
    );
}
