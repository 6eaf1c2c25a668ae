//! The Vocilia example estate under a running controller: everything gets status fast, the
//! conditions are honest, and kstatus and the Argo CD health script read them as intended.

use std::time::{Duration, Instant};

use berth::{
    devstack::estate::{LocalDns, LocalEndpoints, localize},
    sandbox::{Fixtures, SandboxConfig, SandboxHandle},
};
use serde_json::Value;

use crate::{
    health_scripts::{argo_health, kstatus},
    support::{self, ControllerProcess, condition, kubectl},
};

/// The example, rendered by kustomize, moved into `namespace` (the Namespace object dropped).
pub(crate) fn example_in(namespace: &str) -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/examples/vocilia");
    let (ok, out, err) = kubectl(&["kustomize", dir.to_str().unwrap()], None);
    assert!(ok, "{err}");
    berth::yaml::documents::<Value>(&out)
        .unwrap()
        .into_iter()
        .filter(|o| o["kind"] != "Namespace")
        .map(|mut o| {
            o["metadata"]["namespace"] = namespace.into();
            o
        })
        .collect()
}

fn berth_objects(namespace: &str) -> Vec<Value> {
    let (ok, out, err) = kubectl(&["get", "berth", "-n", namespace, "-o", "json"], None);
    assert!(ok, "{err}");
    serde_json::from_str::<Value>(&out).unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn has_full_status(o: &Value) -> bool {
    o["status"]["observedGeneration"] == o["metadata"]["generation"]
        && ["Ready", "Synced", "Reconciling", "Stalled"]
            .iter()
            .all(|t| condition(o, t).is_some())
}

/// The sandbox serving the example's accounts, a PowerDNS for its zones, and the example
/// pointed at both.
pub(crate) async fn local_example(
    namespace: &str,
) -> (SandboxHandle, berth::devstack::PowerDns, Vec<Value>) {
    let sandbox = crate::support::sandbox_with(SandboxConfig {
        fixtures: Fixtures::vocilia(),
        ..SandboxConfig::default()
    })
    .await;
    let powerdns = crate::support::own_powerdns();
    let mut docs = example_in(namespace);
    localize(
        &mut docs,
        &LocalEndpoints {
            railway: format!("{}/graphql/v2", sandbox.railway_url()),
            vercel: sandbox.vercel_url().into(),
            supabase: sandbox.supabase_url().into(),
            cloudflare: sandbox.cloudflare_url().into(),
            powerdns: Some(LocalDns {
                api_url: powerdns.api_url.clone(),
                api_key: powerdns.api_key.clone(),
                dns: powerdns.dns,
            }),
            acme: None,
            database_url: None,
            s3: None,
        },
    );
    (sandbox, powerdns, docs)
}

/// What a kind's Ready/Stalled conditions should read as in kstatus and Argo CD.
fn expected_tools_view(o: &Value) -> (&'static str, &'static str) {
    let is = |t: &str| condition(o, t).is_some_and(|c| c["status"] == "True");
    if is("Stalled") {
        ("Failed", "Degraded")
    } else if is("Ready") && !is("Reconciling") {
        ("Current", "Healthy")
    } else {
        ("InProgress", "Progressing")
    }
}

// Protects: the whole example estate, pointed at the sandbox, applies and every resource has
// observedGeneration and the four conditions within 10 s; the Environments sync their
// variables to the sandbox and say Ready; kstatus and Argo CD read every status as we mean it
// (Ready → Current/Healthy, Stalled → Failed/Degraded with our message).
#[tokio::test]
async fn example_estate_gets_honest_status_within_ten_seconds() {
    let client = support::client().await;
    let ns = support::namespace(&client, "estate").await;
    let (sandbox, _powerdns, docs) = local_example(&ns).await;
    let controller = ControllerProcess::start_with_env(
        &ns,
        None,
        vec![("BERTH_HEALTH_CHECK_VIA", sandbox.apps_url().to_string())],
    );
    controller.wait_ready().await;
    let expected = docs
        .iter()
        .filter(|d| {
            d["apiVersion"]
                .as_str()
                .is_some_and(|a| a.starts_with("berth.dev/"))
        })
        .count();
    assert_eq!(
        expected, 17,
        "2 Environments, 6 Deployments, 4 Domains, 4 Certificates, 1 BackupPolicy"
    );
    let stream: String = docs
        .iter()
        .map(|d| format!("---\n{}", berth::yaml::to_string(d).unwrap()))
        .collect();
    let applied = Instant::now();
    let (ok, _, err) = kubectl(&["apply", "-f", "-"], Some(&stream));
    assert!(ok, "{err}");

    loop {
        let objects = berth_objects(&ns);
        if objects.len() == expected && objects.iter().all(has_full_status) {
            break;
        }
        let pending: Vec<_> = objects
            .iter()
            .filter(|o| !has_full_status(o))
            .map(|o| o["metadata"]["name"].to_string())
            .collect();
        assert!(
            applied.elapsed() < Duration::from_secs(10),
            "after 10 s, {} of {expected} objects lack status: {pending:?}\n{}",
            pending.len(),
            controller.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "example estate: {expected} objects with status {:?} after apply",
        applied.elapsed()
    );

    // Both Environments write their variables to the sandbox and say so.
    let started = Instant::now();
    let objects = loop {
        let objects = berth_objects(&ns);
        let environments: Vec<&Value> = objects
            .iter()
            .filter(|o| o["kind"] == "Environment")
            .collect();
        if environments
            .iter()
            .all(|o| condition(o, "Ready").is_some_and(|c| c["status"] == "True"))
        {
            break objects;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Environments not Ready after 30 s: {:?}\n{}",
            environments
                .iter()
                .map(|e| (
                    e["metadata"]["name"].clone(),
                    condition(e, "Ready").cloned()
                ))
                .collect::<Vec<_>>(),
            controller.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let production = objects
        .iter()
        .find(|o| o["kind"] == "Environment" && o["metadata"]["name"] == "production")
        .unwrap();
    // In sync is quiet: no status churn that would re-trigger the controller on its own write.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let version = crate::support::get_json(&ns, "environment/production").unwrap()["metadata"]
        ["resourceVersion"]
        .clone();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let again = crate::support::get_json(&ns, "environment/production").unwrap();
    assert_eq!(
        again["metadata"]["resourceVersion"], version,
        "an Environment in sync keeps rewriting its status"
    );
    let targets: Vec<&str> = production["status"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets.len(),
        4,
        "the Railway service and three Vercel projects: {targets:?}"
    );
    let state: Value = reqwest::get(format!("{}/_sandbox/state", sandbox.vercel_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        state["state"]["envCount"], 6,
        "production: the API URL on three projects and the support e-mail on two; staging: one"
    );

    for o in &objects {
        let name = format!(
            "{}/{}",
            o["kind"].as_str().unwrap(),
            o["metadata"]["name"].as_str().unwrap()
        );
        let (_, argo_expected) = expected_tools_view(o);
        let (argo, message) = argo_health(o);
        assert_eq!(argo, argo_expected, "{name}: {o}");
        if argo == "Degraded" {
            let stalled = condition(o, "Stalled").unwrap();
            assert!(
                message.contains(stalled["message"].as_str().unwrap()),
                "{name}: Argo shows our message, got {message:?}"
            );
        }
    }
    for kind in [
        "Environment",
        "Deployment",
        "Domain",
        "Certificate",
        "BackupPolicy",
    ] {
        let of_kind: Vec<Value> = objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .cloned()
            .collect();
        let views = kstatus(&of_kind);
        for o in &of_kind {
            let name = o["metadata"]["name"].as_str().unwrap();
            let (expected, _) = expected_tools_view(o);
            assert_eq!(views[name].0, expected, "kstatus on {kind}/{name}: {o}");
        }
    }
}
