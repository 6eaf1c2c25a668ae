//! Environments end to end: a real `berth controller`, the real API server and the sandbox's
//! Railway and Vercel. A changed Secret reaches both platforms within seconds and rewrites
//! only what it feeds; drift made at the platform is restored and announced under
//! `driftPolicy: Correct`, and only reported under `Report`.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use berth::{
    providers::{
        http::{HttpMetrics, Secret},
        railway::RailwayClient,
        variables::{DesiredVariable, VarKind, Variables},
    },
    sandbox::{Fixtures, SandboxConfig, SandboxHandle},
};
use serde_json::Value;

use crate::support::{self, ControllerProcess, apply, condition, eventually, get_json, kubectl};

// The ids of `Fixtures::vocilia()`.
pub(crate) const PROJECT: &str = "5b3c9e1a-7d42-4f8e-9a61-2c0d8e4f7b13";
pub(crate) const ENVIRONMENT: &str = "e1f0a2b3-4c5d-4e6f-8a7b-9c0d1e2f3a4b";
pub(crate) const API: &str = "9f8e7d6c-5b4a-4321-8fed-cba987654321";
pub(crate) const TEAM: &str = "team_vocilia0prod0example";
pub(crate) const WEB: &str = "vocilia-customer";

/// A sandbox with the Vocilia accounts.
pub(crate) async fn vocilia_sandbox() -> SandboxHandle {
    support::sandbox_with(SandboxConfig {
        fixtures: Fixtures::vocilia(),
        ..SandboxConfig::default()
    })
    .await
}

/// The token Secrets and the database Secret.
pub(crate) fn secrets(sb: &SandboxHandle, database_url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: railway-token}}\nstringData: {{token: {railway}}}\n---\n\
apiVersion: v1\nkind: Secret\nmetadata: {{name: vercel-token}}\nstringData: {{token: {vercel}}}\n---\n\
{db}",
        railway = sb.tokens().railway,
        vercel = sb.tokens().vercel,
        db = database_secret(database_url),
    )
}

pub(crate) fn database_secret(database_url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: app-db}}\nstringData: {{uri: '{database_url}'}}\n"
    )
}

/// Environment `production`: DATABASE_URL (from the Secret) on the Railway API and the Vercel
/// front end, NODE_ENV on Railway, API_URL on Vercel.
pub(crate) fn environment(sb: &SandboxHandle, policy: &str, api_url: &str) -> String {
    format!(
        r"apiVersion: berth.dev/v1alpha1
kind: Environment
metadata: {{name: production}}
spec:
  driftPolicy: {policy}
  providers:
    railway:
      projectId: {PROJECT}
      environmentId: {ENVIRONMENT}
      tokenSecretRef: {{name: railway-token, key: token}}
      endpoint: {railway}/graphql/v2
    vercel:
      teamId: {TEAM}
      tokenSecretRef: {{name: vercel-token, key: token}}
      endpoint: {vercel}
  variables:
  - name: DATABASE_URL
    valueFrom: {{secretKeyRef: {{name: app-db, key: uri}}}}
    targets:
    - railwayService: {API}
    - vercelProject: {WEB}
  - name: NODE_ENV
    value: production
    targets:
    - railwayService: {API}
  - name: API_URL
    value: {api_url}
    targets:
    - vercelProject: {WEB}
",
        railway = sb.railway_url(),
        vercel = sb.vercel_url(),
    )
}

/// A Railway client of our own, as someone working next to berth would use the API.
pub(crate) fn railway(sb: &SandboxHandle) -> RailwayClient {
    RailwayClient::connect(
        &format!("{}/graphql/v2", sb.railway_url()),
        Secret::new(sb.tokens().railway.clone()),
        "test",
        Arc::new(HttpMetrics::default()),
        PROJECT,
        ENVIRONMENT,
    )
    .expect("railway client")
    .with_skip_deploys(true)
}

/// The API service's variables at Railway.
pub(crate) async fn railway_values(sb: &SandboxHandle) -> BTreeMap<String, String> {
    railway(sb)
        .list(API)
        .await
        .expect("list Railway variables")
        .into_iter()
        .map(|v| {
            (
                v.name,
                v.value.map(|s| s.expose().to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

/// Sets a variable of the API service directly at Railway.
pub(crate) async fn railway_set(sb: &SandboxHandle, name: &str, value: &str) {
    railway(sb)
        .upsert(
            API,
            &[DesiredVariable {
                name: name.into(),
                value: Secret::new(value),
                kind: VarKind::Encrypted,
                targets: Vec::new(),
                comment: None,
            }],
        )
        .await
        .expect("write at Railway");
}

pub(crate) async fn state(url: &str) -> Value {
    reqwest::get(format!("{url}/_sandbox/state"))
        .await
        .expect("sandbox state")
        .json()
        .await
        .expect("state JSON")
}

/// How often each of the API service's variables was written at Railway.
async fn railway_writes(sb: &SandboxHandle) -> BTreeMap<String, u64> {
    let s = state(sb.railway_url()).await;
    let prefix = format!("{ENVIRONMENT}/{API}/");
    s["state"]["variableWrites"]
        .as_object()
        .expect("variableWrites")
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.as_u64()?)))
        .collect()
}

/// The Vercel project's entries by name (admin view: digests, never values).
async fn vercel_entries(sb: &SandboxHandle) -> BTreeMap<String, Value> {
    let s = state(sb.vercel_url()).await;
    let id = s["state"]["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .find(|p| p["name"] == WEB)
        .and_then(|p| p["id"].as_str())
        .expect("project")
        .to_string();
    s["state"]["envs"][&id]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e["key"].as_str().unwrap_or_default().to_string(), e))
        .collect()
}

fn sha256(value: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(value.as_bytes()))
}

async fn ready_environment(ns: &str, c: &ControllerProcess) -> Value {
    let start = Instant::now();
    loop {
        if let Some(e) = get_json(ns, "environment/production") {
            if condition(&e, "Ready").is_some_and(|c| c["status"] == "True")
                && e["status"]["observedGeneration"] == e["metadata"]["generation"]
            {
                return e;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Environment not Ready after 30 s: {:#}\n{}",
                e["status"],
                c.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// Protects: changing a Secret an Environment reads reaches Railway and Vercel within seconds,
// without a restart or a resync wait (the resync is 5 minutes here); the sensitive value
// arrives intact on both; the variables the Secret does not feed are not written again.
#[tokio::test]
async fn a_changed_secret_reaches_railway_and_vercel_within_seconds() {
    let client = support::client().await;
    let ns = support::namespace(&client, "secret_change").await;
    let sb = vocilia_sandbox().await;
    let c = ControllerProcess::start(&ns, None);
    c.wait_ready().await;
    apply(
        &ns,
        &format!(
            "{}---\n{}",
            secrets(&sb, "postgres://db-one/app"),
            environment(&sb, "Correct", "https://api.one")
        ),
    );
    ready_environment(&ns, &c).await;
    assert_eq!(
        railway_values(&sb)
            .await
            .get("DATABASE_URL")
            .map(String::as_str),
        Some("postgres://db-one/app")
    );
    let writes_before = railway_writes(&sb).await;
    let entries_before = vercel_entries(&sb).await;
    assert_eq!(entries_before["DATABASE_URL"]["type"], "sensitive");
    assert_eq!(
        entries_before["DATABASE_URL"]["valueSha256"],
        sha256("postgres://db-one/app")
    );

    let changed = Instant::now();
    apply(&ns, &database_secret("postgres://db-two/app"));
    let new_digest = sha256("postgres://db-two/app");
    eventually(
        Duration::from_secs(10),
        "the new value at Railway and Vercel",
        || async {
            let railway = railway_values(&sb).await;
            let vercel = vercel_entries(&sb).await;
            (railway.get("DATABASE_URL").map(String::as_str) == Some("postgres://db-two/app")
                && vercel["DATABASE_URL"]["valueSha256"] == new_digest.as_str())
            .then_some(())
        },
    )
    .await;
    let took = changed.elapsed();
    println!("secret change reached Railway and Vercel in {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}\n{}", c.log());

    // Only the changed value was written, once per platform.
    let writes_after = railway_writes(&sb).await;
    assert_eq!(
        writes_after["NODE_ENV"], writes_before["NODE_ENV"],
        "NODE_ENV rewritten"
    );
    assert_eq!(
        writes_after["DATABASE_URL"],
        writes_before["DATABASE_URL"] + 1,
        "{writes_after:?}"
    );
    let entries_after = vercel_entries(&sb).await;
    assert_eq!(
        entries_after["API_URL"]["updatedAt"], entries_before["API_URL"]["updatedAt"],
        "API_URL rewritten at Vercel"
    );
    assert_eq!(entries_after["DATABASE_URL"]["type"], "sensitive");
    assert_eq!(
        entries_after.len(),
        entries_before.len(),
        "an entry too many"
    );
    let env = get_json(&ns, "environment/production").unwrap();
    assert!(
        !env.to_string().contains("db-two"),
        "a secret value in the Environment: {env}"
    );
    assert!(!c.log().contains("db-two"), "a secret value in the log");
}

fn drifted_events(ns: &str) -> Vec<String> {
    let (ok, out, err) = kubectl(
        &[
            "get",
            "events",
            "-n",
            ns,
            "--field-selector",
            "reason=Drifted",
            "-o",
            "json",
        ],
        None,
    );
    assert!(ok, "{err}");
    serde_json::from_str::<Value>(&out).unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// An Environment with `driftPolicy: policy` synced to the sandbox by a controller that
/// resyncs every 2 s (so drift is found quickly), then `NODE_ENV` changed at Railway behind
/// berth's back.
async fn tampered(prefix: &str, policy: &str) -> (String, SandboxHandle, ControllerProcess) {
    let client = support::client().await;
    let ns = support::namespace(&client, prefix).await;
    let sb = vocilia_sandbox().await;
    let c =
        ControllerProcess::start_with_env(&ns, None, vec![("BERTH_RESYNC_SECONDS", "2".into())]);
    c.wait_ready().await;
    apply(
        &ns,
        &format!(
            "{}---\n{}",
            secrets(&sb, "postgres://db/app"),
            environment(&sb, policy, "https://api.one")
        ),
    );
    ready_environment(&ns, &c).await;
    railway_set(&sb, "NODE_ENV", "tampered-by-hand").await;
    (ns, sb, c)
}

// Protects: a value changed at the platform behind berth's back is restored on the next
// resync under `driftPolicy: Correct`, with a Drifted Event naming the variable (never the
// value).
#[tokio::test]
async fn drift_is_corrected_and_announced_under_correct() {
    let (ns, sb, _c) = tampered("drift_correct", "Correct").await;
    eventually(Duration::from_secs(15), "NODE_ENV restored", || async {
        (railway_values(&sb)
            .await
            .get("NODE_ENV")
            .map(String::as_str)
            == Some("production"))
        .then_some(())
    })
    .await;
    let events = eventually(Duration::from_secs(10), "a Drifted Event", || async {
        let events = drifted_events(&ns);
        (!events.is_empty()).then_some(events)
    })
    .await;
    assert!(
        events[0].contains(&format!("railway:{API}/NODE_ENV")) && events[0].contains("restored"),
        "{events:?}"
    );
    assert!(
        !events[0].contains("tampered"),
        "a value in an Event: {events:?}"
    );
    // Restored, so the next pass finds nothing drifted.
    eventually(Duration::from_secs(10), "driftCount back to 0", || async {
        get_json(&ns, "environment/production")
            .filter(|e| e["status"]["driftCount"] == 0)
            .map(|_| ())
    })
    .await;
}

// Protects: under `driftPolicy: Report` a value changed at the platform is listed in status
// (`targets[].drifted`, `driftCount`) and the Ready message, and left as it is across resyncs.
#[tokio::test]
async fn drift_is_reported_and_left_alone_under_report() {
    let (ns, sb, _c) = tampered("drift_report", "Report").await;
    let writes = railway_writes(&sb).await;
    let env = eventually(Duration::from_secs(15), "drift in status", || async {
        get_json(&ns, "environment/production").filter(|e| e["status"]["driftCount"] == 1)
    })
    .await;
    let target = env["status"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == format!("railway:{API}"))
        .cloned()
        .unwrap();
    assert_eq!(
        target["drifted"],
        serde_json::json!(["NODE_ENV"]),
        "{env:#}"
    );
    let ready = condition(&env, "Ready").unwrap();
    assert_eq!(ready["status"], "True", "drift reported is not an outage");
    assert!(
        ready["message"].as_str().unwrap().contains("reported only"),
        "{ready}"
    );
    // Several resyncs later the hand-made value is still there, and nothing was written.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        railway_values(&sb)
            .await
            .get("NODE_ENV")
            .map(String::as_str),
        Some("tampered-by-hand")
    );
    assert_eq!(
        railway_writes(&sb).await,
        writes,
        "berth wrote under Report"
    );
    assert_eq!(
        get_json(&ns, "environment/production").unwrap()["status"]["driftCount"],
        1
    );
}
