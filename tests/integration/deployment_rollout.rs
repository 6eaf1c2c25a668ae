//! The Deployment reconciler end to end: a real `berth controller` process, the real API
//! server, Postgres, and the provider sandbox (Vercel simulator and apps server, whose
//! health answers the probes): rollout to Live, automatic rollback on a failed build and a
//! failed health check, Held across re-applies, adoption after a kill, and the admin API's
//! rollback with RBAC and the audit log.

use std::time::Duration;

use berth::sandbox::{BuildFault, Sandbox, SandboxConfig, SandboxHandle, Server, Steps};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::support::{self, ControllerProcess, apply, condition, eventually, get_json, kubectl};

pub(crate) async fn sandbox(build: Duration) -> SandboxHandle {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    Sandbox::start(SandboxConfig {
        seed: 11,
        steps: Steps {
            queue: Duration::from_millis(20),
            build,
            deploy: Duration::from_millis(200),
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// The Environment (bound to the sandbox's Vercel), its token Secret, and Deployment `web`
/// at `commit`.
pub(crate) fn estate(sb: &SandboxHandle, commit: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: vercel-token}}\nstringData: {{token: {token}}}\n---\n\
apiVersion: berth.dev/v1alpha1\nkind: Environment\nmetadata: {{name: production}}\nspec:\n  providers:\n    vercel:\n      tokenSecretRef: {{name: vercel-token, key: token}}\n      endpoint: {url}\n---\n{dep}",
        token = sb.tokens().vercel,
        url = sb.vercel_url(),
        dep = deployment(commit),
    )
}

fn deployment(commit: &str) -> String {
    format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  environmentRef: {{name: production}}\n  service: {{vercel: {{project: web}}}}\n  source: {{repo: acme/web, ref: main, commit: {commit}}}\n  healthCheck: {{interval: 1s, timeout: 500ms, successThreshold: 1, failureThreshold: 2}}\n  progressDeadline: 1m\n"
    )
}

fn controller(ns: &str, sb: &SandboxHandle, db: Option<String>) -> ControllerProcess {
    ControllerProcess::start_with_env(
        ns,
        db,
        vec![("BERTH_HEALTH_CHECK_VIA", sb.apps_url().to_string())],
    )
}

/// Waits for Deployment `web` to satisfy `done`, with its status in the failure message.
async fn wait_for(
    ns: &str,
    c: &ControllerProcess,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let last = std::cell::RefCell::new(Value::Null);
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Some(d) = get_json(ns, "deployment.berth.dev/web") {
                if done(&d) {
                    return d;
                }
                *last.borrow_mut() = d;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| {
        panic!(
            "timed out waiting for {what}; status: {:#}\ncontroller log:\n{}",
            last.borrow()["status"],
            c.log()
        )
    })
}

/// The sandbox's Vercel deployments.
async fn vercel_deployments(sb: &SandboxHandle) -> Vec<Value> {
    let state: Value = reqwest::get(format!("{}/_sandbox/state", sb.vercel_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    state["state"]["deployments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn of_commit<'a>(all: &'a [Value], commit: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|d| d["gitSource"]["sha"] == commit)
        .collect()
}

/// The deployment serving project `web`'s production traffic.
async fn serving(sb: &SandboxHandle) -> String {
    let body: Value = reqwest::get(format!("{}/web.vercel.app/health", sb.apps_url()))
        .await
        .expect("apps")
        .json()
        .await
        .expect("json");
    body["deployment"].as_str().unwrap_or_default().to_string()
}

fn phase(d: &Value) -> &str {
    d["status"]["phase"].as_str().unwrap_or_default()
}

const C1: &str = "1111111aaaa";
const C2: &str = "2222222bbbb";
const C3: &str = "3333333cccc";

// Protects: a revision rolls out to Live with its provider id and URL in status; a revision
// whose build fails is rolled back automatically and Held, and re-applying the same spec (a
// GitOps re-sync) does not deploy it again; a release failing its health check is rolled
// back to the good deployment, which serves again; every release and rollback is in the
// history tables.
#[tokio::test]
async fn releases_roll_out_and_bad_ones_are_rolled_back_and_held() {
    let client = support::client().await;
    let ns = support::namespace(&client, "rollout").await;
    let sb = sandbox(Duration::from_millis(300)).await;
    let db = support::database("rollout").await;
    let c = controller(&ns, &sb, Some(db.clone()));
    c.wait_ready().await;

    apply(&ns, &estate(&sb, C1));
    let live = wait_for(&ns, &c, "C1 live", |d| phase(d) == "Live").await;
    let current = &live["status"]["current"];
    assert_eq!(current["revision"], C1, "{live:#}");
    let good_id = current["deploymentId"]
        .as_str()
        .expect("deployment id")
        .to_string();
    assert!(good_id.starts_with("dpl_"), "{current}");
    assert!(
        current["url"].as_str().unwrap().starts_with("https://web-"),
        "{current}"
    );
    assert_eq!(condition(&live, "Ready").unwrap()["status"], "True");
    assert_eq!(serving(&sb).await, good_id);

    // A build that fails: rolled back (nothing to move, the good one never stopped serving).
    sb.faults(Server::Vercel)
        .unwrap()
        .update(|f| f.build = BuildFault::Fail);
    apply(&ns, &deployment(C2));
    let held = wait_for(&ns, &c, "C2 held", |d| phase(d) == "Held").await;
    let s = &held["status"];
    assert_eq!(s["heldRevision"], C2);
    assert_eq!(s["lastRollback"]["reason"], "BuildFailed");
    assert_eq!(s["lastRollback"]["toRevision"], C1);
    assert_eq!(s["history"][0]["outcome"], "Failed");
    let ready = condition(&held, "Ready").unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("BuildFailed"))
    );
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains(&format!("revert Git to {C1}")),
        "{ready}"
    );
    assert_eq!(serving(&sb).await, good_id);
    sb.faults(Server::Vercel).unwrap().clear();

    // Re-apply the same spec and force a reconcile: still held, nothing deployed.
    let before = vercel_deployments(&sb).await.len();
    apply(&ns, &deployment(C2));
    let (ok, _, err) = kubectl(
        &[
            "annotate",
            "-n",
            &ns,
            "--overwrite",
            "deployment.berth.dev/web",
            "berth.dev/reconcile-requested=again",
        ],
        None,
    );
    assert!(ok, "{err}");
    wait_for(&ns, &c, "the reconcile request handled", |d| {
        d["status"]["lastHandledReconcileAt"] == "again"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = get_json(&ns, "deployment.berth.dev/web").unwrap();
    assert_eq!(phase(&after), "Held");
    assert_eq!(
        vercel_deployments(&sb).await.len(),
        before,
        "the held revision was not deployed again"
    );
    assert_eq!(of_commit(&vercel_deployments(&sb).await, C2).len(), 1);

    // A new spec whose release fails its health check: it goes live at Vercel, the probes
    // fail, and the good deployment is promoted back.
    sb.faults(Server::Apps).unwrap().update(|f| {
        f.error_rate = 1.0;
        f.error_status = Some(503);
    });
    apply(&ns, &deployment(C3));
    let held = wait_for(&ns, &c, "C3 rolled back", |d| {
        phase(d) == "Held" && d["status"]["heldRevision"] == C3
    })
    .await;
    sb.faults(Server::Apps).unwrap().clear();
    let s = &held["status"];
    assert_eq!(s["lastRollback"]["reason"], "HealthCheckFailed");
    assert_eq!(s["lastRollback"]["toDeploymentId"], good_id.as_str());
    assert!(
        s["history"][0]["message"].as_str().unwrap().contains("503"),
        "{s:#}"
    );
    assert_eq!(
        serving(&sb).await,
        good_id,
        "the good deployment serves again"
    );

    let mut conn = PgConnection::connect(&db).await.expect("db");
    let rollbacks: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT from_revision, to_revision, reason, actor FROM rollbacks WHERE namespace = $1 ORDER BY at",
    )
    .bind(&ns)
    .fetch_all(&mut conn)
    .await
    .expect("rollbacks");
    assert_eq!(
        rollbacks,
        vec![
            (C2.into(), C1.into(), "BuildFailed".into(), "berth".into()),
            (
                C3.into(),
                C1.into(),
                "HealthCheckFailed".into(),
                "berth".into()
            ),
        ]
    );
    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT revision, phase FROM deployment_events WHERE namespace = $1 ORDER BY started_at",
    )
    .bind(&ns)
    .fetch_all(&mut conn)
    .await
    .expect("events");
    assert_eq!(
        events,
        vec![
            (C1.into(), "Live".into()),
            (C2.into(), "Failed".into()),
            (C3.into(), "Failed".into()),
        ]
    );
}

// Protects: an open alert shows on the Deployment as an `Alerting` condition (what
// `kubectl get`, `kubectl wait` and GitOps health checks read): raised within a few alert
// passes when a bad release is rolled back and held, naming the rule, and cleared when a good
// commit releases the hold and the alert resolves.
#[tokio::test]
async fn open_alerts_show_as_the_alerting_condition() {
    let client = support::client().await;
    let ns = support::namespace(&client, "alerting").await;
    let sb = sandbox(Duration::from_millis(200)).await;
    let c = ControllerProcess::start_with_env(
        &ns,
        Some(support::database("rollout").await),
        vec![
            ("BERTH_HEALTH_CHECK_VIA", sb.apps_url().to_string()),
            ("BERTH_ALERT_INTERVAL_SECONDS", "1".to_string()),
        ],
    );
    c.wait_ready().await;
    apply(&ns, &estate(&sb, C1));
    wait_for(&ns, &c, "C1 live", |d| phase(d) == "Live").await;

    sb.faults(Server::Vercel)
        .unwrap()
        .update(|f| f.build = BuildFault::Fail);
    apply(&ns, &deployment(C2));
    let alerting =
        |d: &Value, status: &str| condition(d, "Alerting").is_some_and(|c| c["status"] == status);
    let raised = wait_for(&ns, &c, "Alerting=True", |d| alerting(d, "True")).await;
    assert_eq!(phase(&raised), "Held");
    let cond = condition(&raised, "Alerting").unwrap();
    assert_eq!(cond["reason"], "AlertsOpen", "{cond}");
    let message = cond["message"].as_str().unwrap();
    assert!(
        message.starts_with("deployment-rolled-back (warning, since "),
        "{message}"
    );
    sb.faults(Server::Vercel).unwrap().clear();

    apply(&ns, &deployment(C3));
    let cleared = wait_for(&ns, &c, "Alerting=False", |d| alerting(d, "False")).await;
    assert_eq!(phase(&cleared), "Live", "{:#}", cleared["status"]);
    let cond = condition(&cleared, "Alerting").unwrap();
    assert_eq!(
        (cond["reason"].as_str(), cond["message"].as_str()),
        (Some("NoOpenAlerts"), Some("")),
        "{cond}"
    );
}

// Protects: a new commit on a Live Deployment (the everyday `kubectl apply` or Git push)
// starts exactly one provider deployment of that commit, goes Live on it with the new id and
// URL in status, serves it, and names the previous release.
#[tokio::test]
async fn a_new_commit_deploys_one_release_and_goes_live() {
    let client = support::client().await;
    let ns = support::namespace(&client, "new_commit").await;
    let sb = sandbox(Duration::from_millis(200)).await;
    let c = controller(&ns, &sb, None);
    c.wait_ready().await;
    apply(&ns, &estate(&sb, C1));
    let first = wait_for(&ns, &c, "C1 live", |d| phase(d) == "Live").await;
    let first_id = first["status"]["current"]["deploymentId"].clone();

    apply(&ns, &deployment(C2));
    let live = wait_for(&ns, &c, "C2 live", |d| {
        phase(d) == "Live" && d["status"]["current"]["revision"] == C2
    })
    .await;
    let s = &live["status"];
    let id = s["current"]["deploymentId"]
        .as_str()
        .expect("id")
        .to_string();
    assert_ne!(s["current"]["deploymentId"], first_id);
    assert_eq!(condition(&live, "Ready").unwrap()["status"], "True");
    assert_eq!(s["previous"]["revision"], C1, "{s:#}");
    assert_eq!(s["history"][0]["revision"], C2, "{s:#}");
    assert_eq!(s["history"][0]["outcome"], "Live", "{s:#}");
    assert_eq!(serving(&sb).await, id, "the new release serves");
    // Exactly one deployment per commit, also after a few more reconciles.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = vercel_deployments(&sb).await;
    assert_eq!(of_commit(&all, C1).len(), 1, "{all:#?}");
    assert_eq!(of_commit(&all, C2).len(), 1, "{all:#?}");
    assert_eq!(all.len(), 2, "{all:#?}");
}

async fn rollback(c: &ControllerProcess, token: &str, body: Value) -> (StatusCode, Value) {
    c.api(
        reqwest::Method::POST,
        "/api/admin/deployment/rollback",
        Some(token),
        Some(body),
    )
    .await
}

// Protects: a controller killed while a build runs adopts that deployment on restart (one
// deployment of the commit at the provider); the admin API rolls back on request, holds the
// Deployment, writes the audit log with the caller, and refuses a user without
// `create deployments/rollback` (403) and an unknown Deployment (404).
#[tokio::test]
async fn a_restart_adopts_the_running_deployment_and_the_admin_api_rolls_back() {
    let client = support::client().await;
    let ns = support::namespace(&client, "rollout-admin").await;
    let sb = sandbox(Duration::from_secs(4)).await;
    let db = support::database("rollout").await;
    let mut c = controller(&ns, &sb, Some(db.clone()));
    c.wait_ready().await;

    apply(&ns, &estate(&sb, C1));
    let building = wait_for(&ns, &c, "C1's deployment id recorded", |d| {
        d["status"]["pending"]["deploymentId"].is_string()
    })
    .await;
    let id = building["status"]["pending"]["deploymentId"]
        .as_str()
        .unwrap()
        .to_string();
    c.kill();
    c.restart();
    let live = wait_for(&ns, &c, "C1 live after the restart", |d| phase(d) == "Live").await;
    assert_eq!(live["status"]["current"]["deploymentId"], id.as_str());
    assert_eq!(
        of_commit(&vercel_deployments(&sb).await, C1).len(),
        1,
        "adopted, not deployed twice"
    );

    apply(&ns, &deployment(C2));
    let live = wait_for(&ns, &c, "C2 live", |d| {
        phase(d) == "Live" && d["status"]["current"]["revision"] == C2
    })
    .await;
    let c2_id = live["status"]["current"]["deploymentId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(serving(&sb).await, c2_id);

    let role = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: rollbacker, namespace: {ns}}}\nrules:\n- apiGroups: [berth.dev]\n  resources: [deployments/rollback]\n  verbs: [create]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: alice-rolls-back, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: rollbacker}}\nsubjects:\n- {{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}}\n"
    );
    let (ok, _, err) = kubectl(&["apply", "-f", "-"], Some(&role));
    assert!(ok, "{err}");

    let body = json!({"namespace": ns, "deployment": "web", "reason": "checkout errors"});
    let (status, answer) = rollback(&c, &support::token("bob"), body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("create deployments/rollback.berth.dev"),
        "{answer}"
    );

    let (status, answer) = rollback(
        &c,
        &support::token("alice"),
        json!({"namespace": ns, "deployment": "nope"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

    let (status, answer) = eventually(Duration::from_secs(15), "alice's rollback allowed", || {
        let (c, body) = (&c, body.clone());
        async move {
            let (status, answer) = rollback(c, &support::token("alice"), body).await;
            (status != StatusCode::FORBIDDEN).then_some((status, answer))
        }
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["state"], "Done");
    assert_eq!(answer["rollback"]["toRevision"], C1);
    assert_eq!(answer["rollback"]["actor"], "alice");
    assert_eq!(answer["heldRevision"], C2);
    assert_eq!(serving(&sb).await, id, "C1's deployment serves again");
    let held = get_json(&ns, "deployment.berth.dev/web").unwrap();
    assert_eq!(phase(&held), "Held");
    assert_eq!(held["spec"]["source"]["commit"], C2, "spec untouched");

    // Held: a re-sync of the same spec does not redeploy C2.
    apply(&ns, &deployment(C2));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        phase(&get_json(&ns, "deployment.berth.dev/web").unwrap()),
        "Held"
    );
    assert_eq!(serving(&sb).await, id);

    // A revision that is not among the good releases is a bad request.
    let (status, answer) = rollback(
        &c,
        &support::token("alice"),
        json!({"namespace": ns, "deployment": "web", "revision": "9999999"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    let mut conn = PgConnection::connect(&db).await.expect("db");
    let audited: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT actor, target, outcome FROM audit_log WHERE action = 'deployment.rollback' ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("audit");
    let target = format!("{ns}/web");
    assert!(
        audited.contains(&("alice".into(), target.clone(), "requested".into()))
            && audited.contains(&("alice".into(), target.clone(), "done".into())),
        "{audited:?}"
    );
    assert!(
        !audited.iter().any(|(actor, ..)| actor == "bob"),
        "a forbidden call changes nothing: {audited:?}"
    );
    let rollbacks: Vec<(String, String)> =
        sqlx::query_as("SELECT reason, actor FROM rollbacks WHERE namespace = $1")
            .bind(&ns)
            .fetch_all(&mut conn)
            .await
            .expect("rollbacks");
    assert_eq!(rollbacks, vec![("Manual".into(), "alice".into())]);
}
