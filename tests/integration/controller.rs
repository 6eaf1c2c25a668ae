//! The controller process against the real API server: status first, honest conditions,
//! finalizers (also across a restart), leader election, and database health.

use std::time::{Duration, Instant};

use berth::sandbox::SandboxHandle;

use crate::support::{self, ControllerProcess, apply, condition, eventually, get_json};

/// An Environment bound to the sandbox's Railway with a token Railway rejects: a stable,
/// permanent verdict (Stalled, CredentialsRejected) to observe the runtime by.
fn environment(sandbox: &SandboxHandle) -> String {
    format!(
        r"
apiVersion: v1
kind: Secret
metadata: {{name: railway-token}}
stringData: {{token: {REJECTED_TOKEN}}}
---
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata: {{name: production}}
spec:
  providers:
    railway:
      projectId: p-1
      environmentId: e-1
      tokenSecretRef: {{name: railway-token, key: token}}
      endpoint: {}/graphql/v2
",
        sandbox.railway_url()
    )
}

const REJECTED_TOKEN: &str = "not-a-railway-token";

/// HTTP attempts the controller sent to Railway, from its `/metrics`.
async fn railway_requests(c: &ControllerProcess) -> f64 {
    let (_, text) = c.get("/metrics").await.expect("metrics");
    text.lines()
        .filter(|l| {
            l.starts_with("berth_provider_requests_total{") && l.contains("provider=\"railway\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn has_finalizer(obj: &serde_json::Value) -> bool {
    obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == "berth.dev/cleanup"))
}

// Protects: a reconciled object carries observedGeneration and all four conditions; a token
// the provider rejects is a permanent Stalled naming the provider and the account — never the
// token — after one provider call, not a hot retry loop.
#[tokio::test]
async fn environment_gets_status_and_honest_conditions() {
    let client = support::client().await;
    let ns = support::namespace(&client, "env_status").await;
    let controller = ControllerProcess::start(&ns, None);
    let sandbox = support::sandbox().await;
    apply(&ns, &environment(&sandbox));
    let env = eventually(Duration::from_secs(20), "Environment status", || async {
        get_json(&ns, "environment/production")
            .filter(|e| condition(e, "Stalled").is_some_and(|c| c["status"] == "True"))
    })
    .await;
    assert_eq!(
        env["status"]["observedGeneration"],
        env["metadata"]["generation"],
        "{}",
        controller.log()
    );
    for t in ["Ready", "Synced", "Reconciling", "Stalled"] {
        assert!(condition(&env, t).is_some(), "condition {t} missing: {env}");
    }
    assert_eq!(condition(&env, "Ready").unwrap()["status"], "False");
    let stalled = condition(&env, "Stalled").unwrap();
    assert_eq!(stalled["reason"], "CredentialsRejected");
    let message = stalled["message"].as_str().unwrap();
    assert!(
        message.contains("credentials rejected by Railway for project p-1"),
        "{message}"
    );
    assert!(
        !env.to_string().contains(REJECTED_TOKEN),
        "token in status: {env}"
    );
    assert!(
        !controller.log().contains(REJECTED_TOKEN),
        "token in the log"
    );
    assert!(has_finalizer(&env));
    // Not retried hot: a permanent error waits for the resync (or a change).
    let attempts = railway_requests(&controller).await;
    assert!(attempts >= 1.0, "{attempts}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        railway_requests(&controller).await,
        attempts,
        "no calls while stalled on rejected credentials"
    );
}

// Protects: a missing Secret is named in the condition, and creating it re-queues the object
// through the dependency watch (no restart, no resync wait).
#[tokio::test]
async fn missing_secret_is_named_and_its_creation_requeues() {
    let client = support::client().await;
    let ns = support::namespace(&client, "env_dependency").await;
    let _controller = ControllerProcess::start(&ns, None);
    let sandbox = support::sandbox().await;
    let manifest = environment(&sandbox);
    let env_only = manifest.split("---").nth(1).unwrap();
    apply(&ns, env_only);
    let blocked = eventually(
        Duration::from_secs(20),
        "Environment blocked on its Secret",
        || async {
            get_json(&ns, "environment/production").filter(|e| {
                condition(e, "Ready").is_some_and(|c| c["reason"] == "DependencyNotReady")
            })
        },
    )
    .await;
    let message = condition(&blocked, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains(&format!("Secret {ns}/railway-token")),
        "{message}"
    );
    assert_eq!(
        condition(&blocked, "Reconciling").unwrap()["status"],
        "True",
        "waiting is progress, not a stall"
    );

    apply(&ns, manifest.split("---").next().unwrap());
    eventually(
        Duration::from_secs(10),
        "re-queue after the Secret appears",
        || async {
            get_json(&ns, "environment/production").filter(|e| {
                condition(e, "Stalled").is_some_and(|c| c["reason"] == "CredentialsRejected")
            })
        },
    )
    .await;
}

// Protects: deleting an object runs cleanup and removes the finalizer; an object deleted while
// no controller runs is held by the finalizer and finalised once a controller starts.
#[tokio::test]
async fn finalizer_completes_deletes_also_after_a_restart() {
    let client = support::client().await;
    let ns = support::namespace(&client, "finalizer").await;
    let mut controller = ControllerProcess::start(&ns, None);
    let sandbox = support::sandbox().await;
    apply(&ns, &environment(&sandbox));
    apply(
        &ns,
        "apiVersion: berth.dev/v1alpha1\nkind: Environment\nmetadata: {name: staging}\nspec: {providers: {}}\n",
    );
    for name in ["production", "staging"] {
        eventually(Duration::from_secs(20), "finalizer added", || async {
            get_json(&ns, &format!("environment/{name}")).filter(has_finalizer)
        })
        .await;
    }

    let (ok, _, err) = support::kubectl(
        &[
            "delete",
            "-n",
            &ns,
            "environment/production",
            "--wait=true",
            "--timeout=20s",
        ],
        None,
    );
    assert!(
        ok,
        "delete with the controller up completes: {err}\n{}\n{:?}\n{:?}",
        controller.log(),
        get_json(&ns, "environment/production"),
        support::kubectl(
            &["get", "events.events.k8s.io", "-n", &ns, "-o", "wide"],
            None
        )
    );

    controller.kill();
    let (ok, _, err) = support::kubectl(
        &["delete", "-n", &ns, "environment/staging", "--wait=false"],
        None,
    );
    assert!(ok, "{err}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = get_json(&ns, "environment/staging")
        .expect("object is held by its finalizer while no controller runs");
    assert!(held["metadata"]["deletionTimestamp"].is_string());

    controller.restart();
    eventually(
        Duration::from_secs(30),
        "finalised after the controller starts",
        || async { get_json(&ns, "environment/staging").is_none().then_some(()) },
    )
    .await;
}

// Protects: with two replicas only the leader reconciles; when it dies (SIGKILL, no Lease
// release) the other takes over within 15 s and reconciles new objects.
#[tokio::test]
async fn only_the_leader_reconciles_and_the_other_takes_over() {
    let client = support::client().await;
    let ns = support::namespace(&client, "leader").await;
    let a = ControllerProcess::start(&ns, None);
    a.wait_ready().await;
    let b = ControllerProcess::start(&ns, None);
    b.wait_ready().await;
    let a_leads = eventually(Duration::from_secs(20), "one leader", || async {
        let (da, db) = (a.detailed().await?, b.detailed().await?);
        let (la, lb) = (
            da["leader"]["isLeader"].as_bool()?,
            db["leader"]["isLeader"].as_bool()?,
        );
        (la != lb).then_some(la)
    })
    .await;
    let (mut leader, follower) = if a_leads { (a, b) } else { (b, a) };

    let sandbox = support::sandbox().await;
    apply(&ns, &environment(&sandbox));
    eventually(
        Duration::from_secs(20),
        "status from the leader",
        || async {
            get_json(&ns, "environment/production")
                .filter(|e| e["status"]["observedGeneration"].is_number())
        },
    )
    .await;
    let reconciles = |d: &serde_json::Value| {
        d["controllers"].as_array().map_or(0, |cs| {
            cs.iter()
                .map(|c| c["reconciles"].as_u64().unwrap_or(0))
                .sum::<u64>()
        })
    };
    assert!(
        reconciles(&leader.detailed().await.unwrap()) > 0,
        "the leader reconciled"
    );
    assert_eq!(
        reconciles(&follower.detailed().await.unwrap()),
        0,
        "the follower made no reconcile"
    );

    leader.kill();
    let killed_at = Instant::now();
    eventually(Duration::from_secs(20), "follower takes over", || async {
        follower.detailed().await?["leader"]["isLeader"]
            .as_bool()?
            .then_some(())
    })
    .await;
    let takeover = killed_at.elapsed();
    apply(
        &ns,
        "apiVersion: berth.dev/v1alpha1\nkind: Environment\nmetadata: {name: after-failover}\nspec: {providers: {}}\n",
    );
    eventually(Duration::from_secs(15), "new leader reconciles", || async {
        get_json(&ns, "environment/after-failover")
            .filter(|e| condition(e, "Ready").is_some_and(|c| c["status"] == "True"))
    })
    .await;
    assert!(
        takeover < Duration::from_secs(15),
        "takeover took {takeover:?}"
    );
    println!("leader takeover after SIGKILL: {takeover:?}");
}

// Protects: health endpoints report the database going down (degraded, 503 on /health/database)
// and coming back (ok, migrations applied) while the controller keeps running.
#[tokio::test]
async fn health_reports_database_down_and_back() {
    let client = support::client().await;
    let ns = support::namespace(&client, "db_health").await;
    let mut pg = berth::devstack::Postgres::start()
        .await
        .expect("a Postgres of its own, to stop");
    let controller = ControllerProcess::start(&ns, Some(pg.url("postgres")));
    controller.wait_ready().await;
    // Generous: on 2 shared cores the first probe, rollup and alert passes can take a while.
    let ok = eventually(
        Duration::from_secs(45),
        "ok with the database up",
        || async { controller.detailed().await.filter(|d| d["status"] == "ok") },
    )
    .await;
    assert!(
        ok["database"]["migrationVersion"].as_i64().unwrap_or(0) > 0,
        "{ok}"
    );
    assert!(
        ok["providers"].is_array(),
        "provider circuits are reported: {ok}"
    );
    let (code, body) = controller.get("/health/database").await.unwrap();
    assert_eq!(code, 200, "{body}");

    pg.stop();
    let degraded = eventually(
        Duration::from_secs(15),
        "degraded with the database down",
        || async {
            controller
                .detailed()
                .await
                .filter(|d| d["status"] == "degraded")
        },
    )
    .await;
    assert_eq!(degraded["database"]["reachable"], false);
    let (code, _) = controller.get("/health/database").await.unwrap();
    assert_eq!(code, 503);
    assert_eq!(
        controller.get("/livez").await.unwrap().0,
        200,
        "liveness does not depend on the database"
    );
    assert_eq!(
        controller.get("/readyz").await.unwrap().0,
        200,
        "readiness does not depend on the database"
    );

    pg.resume().await.expect("postgres restarts");
    eventually(Duration::from_secs(20), "ok again", || async {
        controller.detailed().await.filter(|d| d["status"] == "ok")
    })
    .await;
    assert_eq!(controller.get("/health/database").await.unwrap().0, 200);
}

// Protects: the reconcile-now annotation is acted on and acknowledged in status; suspend stops
// work and says so; each state change is announced as a Kubernetes Event.
#[tokio::test]
async fn reconcile_request_is_acknowledged_and_suspend_is_reported() {
    let client = support::client().await;
    let ns = support::namespace(&client, "annotations").await;
    let _controller = ControllerProcess::start(&ns, None);
    let sandbox = support::sandbox().await;
    apply(&ns, &environment(&sandbox));
    eventually(Duration::from_secs(20), "first status", || async {
        get_json(&ns, "environment/production")
            .filter(|e| condition(e, "Stalled").is_some_and(|c| c["status"] == "True"))
    })
    .await;

    let (ok, _, err) = support::kubectl(
        &[
            "annotate",
            "-n",
            &ns,
            "environment/production",
            "berth.dev/reconcile-requested=2026-11-28T10:00:00Z",
        ],
        None,
    );
    assert!(ok, "{err}");
    eventually(
        Duration::from_secs(10),
        "lastHandledReconcileAt",
        || async {
            get_json(&ns, "environment/production")
                .filter(|e| e["status"]["lastHandledReconcileAt"] == "2026-11-28T10:00:00Z")
        },
    )
    .await;

    let (ok, _, err) = support::kubectl(
        &[
            "patch",
            "-n",
            &ns,
            "environment/production",
            "--type=merge",
            "-p",
            r#"{"spec":{"suspend":true}}"#,
        ],
        None,
    );
    assert!(ok, "{err}");
    let suspended = eventually(Duration::from_secs(10), "Suspended", || async {
        get_json(&ns, "environment/production")
            .filter(|e| condition(e, "Ready").is_some_and(|c| c["reason"] == "Suspended"))
    })
    .await;
    assert_eq!(
        suspended["status"]["observedGeneration"],
        suspended["metadata"]["generation"]
    );
    assert_eq!(
        condition(&suspended, "Stalled").unwrap()["status"],
        "False",
        "a suspended object is not stalled"
    );

    let events = eventually(Duration::from_secs(10), "Events", || async {
        let (ok, out, _) = support::kubectl(
            &["get", "events.events.k8s.io", "-n", &ns, "-o", "json"],
            None,
        );
        let list: serde_json::Value = serde_json::from_str(&out).ok()?;
        let reasons: Vec<String> = list["items"]
            .as_array()?
            .iter()
            .filter_map(|e| e["reason"].as_str().map(String::from))
            .collect();
        (ok && reasons.iter().any(|r| r == "CredentialsRejected")
            && reasons.iter().any(|r| r == "Suspended"))
        .then_some(reasons)
    })
    .await;
    assert!(!events.is_empty());
}

/// An Environment syncing one variable to the sandbox's Vercel project `web`.
fn vercel_environment(sandbox: &SandboxHandle) -> String {
    format!(
        r"
apiVersion: v1
kind: Secret
metadata: {{name: vercel-token}}
stringData: {{token: {}}}
---
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata: {{name: production}}
spec:
  providers:
    vercel:
      teamId: {}
      tokenSecretRef: {{name: vercel-token, key: token}}
      endpoint: {}
  variables:
    - name: API_URL
      value: https://api.example.com
      targets: [{{vercelProject: web, vercelTargets: [production]}}]
",
        sandbox.tokens().vercel,
        berth::sandbox::VERCEL_TEAM_ID,
        sandbox.vercel_url()
    )
}

/// Vercel attempts of `operation` with `outcome` (any when `None`), from `/metrics`.
async fn vercel_requests(c: &ControllerProcess, operation: &str, outcome: Option<&str>) -> f64 {
    let (_, text) = c.get("/metrics").await.expect("metrics");
    text.lines()
        .filter(|l| {
            l.starts_with("berth_provider_requests_total{")
                && l.contains("provider=\"vercel\"")
                && l.contains(&format!("operation=\"{operation}\""))
                && outcome.is_none_or(|o| l.contains(&format!("outcome=\"{o}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn stalled_on_rejection(env: &serde_json::Value) -> bool {
    condition(env, "Stalled")
        .is_some_and(|c| c["status"] == "True" && c["reason"] == "CredentialsRejected")
}

// Protects: a resync does not prove the token again while an earlier check holds (the
// steady state spends no call on it), yet a token revoked at the provider is noticed by the
// very next call — the variable listing — and stalls the Environment at once; once the token
// works again it is checked anew and the Environment recovers.
#[tokio::test]
async fn a_revoked_token_is_noticed_on_the_next_call_without_a_check_every_resync() {
    // The Vercel client's access check (`check_access`) is this one-deployment listing.
    const CHECK: &str = "list deployments";
    let client = support::client().await;
    let ns = support::namespace(&client, "env_revoked").await;
    let sandbox = support::sandbox().await;
    let controller =
        ControllerProcess::start_with_env(&ns, None, vec![("BERTH_RESYNC_SECONDS", "1".into())]);
    apply(&ns, &vercel_environment(&sandbox));
    let ready =
        |env: &serde_json::Value| condition(env, "Ready").is_some_and(|c| c["status"] == "True");
    eventually(Duration::from_secs(30), "Environment Ready", || async {
        get_json(&ns, "environment/production").filter(|e| ready(e))
    })
    .await;
    let checks = vercel_requests(&controller, CHECK, None).await;
    let listings = vercel_requests(&controller, "list variables", None).await;
    assert_eq!(
        checks,
        1.0,
        "one check for the account: {}",
        controller.log()
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        vercel_requests(&controller, "list variables", None).await >= listings + 2.0,
        "resyncs ran"
    );
    assert_eq!(
        vercel_requests(&controller, CHECK, None).await,
        checks,
        "no check again while the last one holds"
    );

    let faults = sandbox.faults(berth::sandbox::Server::Vercel).unwrap();
    faults.update(|f| f.token_revoked = true);
    let revoked_at = Instant::now();
    let env = eventually(Duration::from_secs(10), "Environment stalled", || async {
        get_json(&ns, "environment/production").filter(stalled_on_rejection)
    })
    .await;
    assert!(
        revoked_at.elapsed() < Duration::from_secs(5),
        "noticed at the next resync, not when the check expires"
    );
    assert!(
        vercel_requests(&controller, "list variables", Some("auth_error")).await >= 1.0,
        "the listing was the call that saw it"
    );
    let message = condition(&env, "Stalled").unwrap()["message"].to_string();
    assert!(
        message.contains("credentials rejected by Vercel"),
        "{message}"
    );
    assert!(!env.to_string().contains(&sandbox.tokens().vercel));

    faults.update(|f| f.token_revoked = false);
    let before = vercel_requests(&controller, CHECK, Some("ok")).await;
    eventually(
        Duration::from_secs(30),
        "Environment Ready again",
        || async { get_json(&ns, "environment/production").filter(|e| ready(e)) },
    )
    .await;
    assert!(
        vercel_requests(&controller, CHECK, Some("ok")).await > before,
        "a rejection forgets the check: the working token is proven again"
    );
}
