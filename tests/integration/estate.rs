//! The Vocilia example estate under a running controller: everything gets status fast, the
//! conditions are honest, and kstatus and the Argo CD health script read them as intended.

use std::time::{Duration, Instant};

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

// Protects: the whole example estate applies and every resource has observedGeneration and
// the four conditions within 10 s; none claims Ready without a provider; kstatus says Failed
// (Stalled) and Argo CD says Degraded with our message — the tools read our statuses right.
#[tokio::test]
async fn example_estate_gets_honest_status_within_ten_seconds() {
    let client = support::client().await;
    let ns = support::namespace(&client, "estate").await;
    let controller = ControllerProcess::start(&ns, None);
    controller.wait_ready().await;

    let docs = example_in(&ns);
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

    let objects = loop {
        let objects = berth_objects(&ns);
        if objects.len() == expected && objects.iter().all(has_full_status) {
            break objects;
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
    };
    println!(
        "example estate: {expected} objects with status {:?} after apply",
        applied.elapsed()
    );

    for o in &objects {
        let name = format!(
            "{}/{}",
            o["kind"].as_str().unwrap(),
            o["metadata"]["name"].as_str().unwrap()
        );
        let ready = condition(o, "Ready").unwrap();
        assert_ne!(
            ready["status"], "True",
            "{name} claims Ready with no provider client: {ready}"
        );
        let stalled = condition(o, "Stalled").unwrap();
        // Kinds whose reconcilers have clients reach for the example's providers, which do
        // not exist here: they retry with backoff. The rest say they have no client.
        let expected: &[&str] = match o["kind"].as_str().unwrap() {
            "Environment" | "Domain" => &["Retrying", "CredentialsRejected", "ProviderError"],
            _ => &["ProviderNotConnected"],
        };
        assert!(
            expected.contains(&stalled["reason"].as_str().unwrap()),
            "{name}: {stalled}"
        );
        let stuck = stalled["status"] == "True";
        let (argo, message) = argo_health(o);
        assert_eq!(
            argo,
            if stuck { "Degraded" } else { "Progressing" },
            "{name}"
        );
        assert!(
            message.contains(stalled["message"].as_str().unwrap()),
            "{name}: Argo shows our message, got {message:?}"
        );
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
        for (name, (status, _)) in kstatus(&of_kind) {
            let o = of_kind
                .iter()
                .find(|o| o["metadata"]["name"] == name.as_str())
                .unwrap();
            let stuck = condition(o, "Stalled").unwrap()["status"] == "True";
            assert_eq!(
                status,
                if stuck { "Failed" } else { "InProgress" },
                "kstatus on {kind}/{name}"
            );
        }
    }

    let (ok, out, _) = kubectl(&["get", "berth", "-n", &ns], None);
    assert!(ok);
    assert!(
        out.contains("ProviderNotConnected") || out.contains("False"),
        "kubectl get berth shows honest conditions:\n{out}"
    );
}
