//! `berth plan` as a user runs it: the binary over a directory of manifests, with the
//! kubeconfig of the real API server and the sandbox as the providers. It reports creates,
//! updates, drift, unmanaged variables and the release a new commit would start, masks
//! nothing because it shows no values at all, exits 0/2/1 like `terraform plan
//! -detailed-exitcode`, and makes no provider write.

use std::{path::Path, time::Duration};

use berth::sandbox::SandboxHandle;
use serde_json::Value;

use crate::{
    environment_sync::{WEB, environment, railway_set, secrets, state, vocilia_sandbox},
    support::{self, ControllerProcess, apply, condition, eventually, get_json},
};

fn deployment(commit: &str) -> String {
    format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  environmentRef: {{name: production}}\n  service: {{vercel: {{project: {WEB}}}}}\n  source: {{repo: vocilia/web, ref: main, commit: {commit}}}\n  healthCheck: {{interval: 1s, timeout: 500ms, successThreshold: 1, failureThreshold: 2}}\n"
    )
}

/// Writes the estate as a GitOps repository would hold it: one file per concern.
fn write_repo(dir: &Path, sb: &SandboxHandle, api_url: &str, commit: &str) {
    std::fs::create_dir_all(dir.join("apps")).unwrap();
    std::fs::write(
        dir.join("secrets.yaml"),
        secrets(sb, "postgres://plan-secret/app"),
    )
    .unwrap();
    std::fs::write(
        dir.join("environment.yaml"),
        environment(sb, "Correct", api_url),
    )
    .unwrap();
    std::fs::write(dir.join("apps/web.yaml"), deployment(commit)).unwrap();
    std::fs::write(dir.join("kustomization.yaml"), "resources: []\n").unwrap();
}

/// Runs `berth plan`; (exit code, stdout, stderr).
fn plan(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("plan")
        .args(args)
        .env("KUBECONFIG", &support::stack().plane.kubeconfig)
        .output()
        .expect("berth plan runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes each platform received (reads are fine).
async fn writes(sb: &SandboxHandle) -> (u64, u64) {
    let r = state(sb.railway_url()).await;
    let v = state(sb.vercel_url()).await;
    (
        r["requests"]["writes"].as_u64().unwrap(),
        v["requests"]["writes"].as_u64().unwrap(),
    )
}

fn target<'a>(env: &'a Value, label: &str) -> &'a Value {
    env["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == label)
        .unwrap_or_else(|| panic!("no target {label}: {env:#}"))
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect()
}

const C1: &str = "a1a1a1a1a1a1";
const C2: &str = "b2b2b2b2b2b2";

// Protects: on a fresh estate the plan lists every variable to create (Secret-sourced ones
// marked sensitive) and the release to start, exits 2, shows no value, and writes nothing
// at either platform. After berth has applied it, the same manifests plan as no changes (exit
// 0). A new commit, a changed literal, drift made at Railway and a hand-made variable show as
// a deploy, updates, drift and unmanaged; still nothing is written. A missing Secret exits 1.
#[tokio::test]
async fn plan_shows_what_berth_would_change_and_changes_nothing() {
    let client = support::client().await;
    let ns = support::namespace(&client, "plan").await;
    let sb = vocilia_sandbox().await;
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path().to_str().unwrap().to_string();
    write_repo(repo.path(), &sb, "https://api.one", C1);

    // 1. Nothing applied yet.
    let before = writes(&sb).await;
    let (code, out, err) = plan(&["-f", &dir, "-n", &ns]);
    println!("{out}");
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("+ DATABASE_URL (sensitive)"), "{out}");
    assert!(out.contains("+ NODE_ENV\n"), "{out}");
    assert!(out.contains("+ API_URL [production]"), "{out}");
    assert!(out.contains(&format!("deploy revision {C1}")), "{out}");
    assert!(
        out.contains("4 variable(s) to create, 0 to update, 0 to delete; 1 deployment(s) to start"),
        "{out}"
    );
    assert!(
        !out.contains("plan-secret") && !err.contains("plan-secret"),
        "a value shown"
    );
    assert_eq!(writes(&sb).await, before, "berth plan wrote to a provider");

    // 2. Applied and converged: nothing to do.
    let c = ControllerProcess::start_with_env(
        &ns,
        None,
        vec![("BERTH_HEALTH_CHECK_VIA", sb.apps_url().to_string())],
    );
    c.wait_ready().await;
    let stream: String = ["secrets.yaml", "environment.yaml", "apps/web.yaml"]
        .iter()
        .map(|f| {
            format!(
                "---\n{}",
                std::fs::read_to_string(repo.path().join(f)).unwrap()
            )
        })
        .collect();
    apply(&ns, &stream);
    eventually(
        Duration::from_secs(60),
        "Environment Ready and web Live",
        || async {
            let env = get_json(&ns, "environment/production")?;
            let web = get_json(&ns, "deployment.berth.dev/web")?;
            (condition(&env, "Ready").is_some_and(|c| c["status"] == "True")
                && web["status"]["phase"] == "Live")
                .then_some(())
        },
    )
    .await;
    let (code, out, err) = plan(&["-f", &dir, "-n", &ns]);
    println!("{out}");
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}\n{}", c.log());
    assert!(out.contains(&format!("revision {C1} is live")), "{out}");
    assert!(out.contains(&format!("live now: {C1}")), "{out}");
    let mut c = c;
    c.kill();

    // 3. A new commit, a changed literal, drift and a hand-made variable.
    railway_set(&sb, "NODE_ENV", "tampered-by-hand").await;
    railway_set(&sb, "HAND_MADE", "x").await;
    write_repo(repo.path(), &sb, "https://api.two", C2);
    let before = writes(&sb).await;
    let (code, out, err) = plan(&["-f", &dir, "-n", &ns, "-o", "json"]);
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    println!("{out}");
    let report: Value = serde_json::from_str(&out).expect("JSON plan");
    let env = &report["environments"][0];
    let railway = target(env, &format!("railway:{}", crate::environment_sync::API));
    assert_eq!(names(&railway["update"]), ["NODE_ENV"], "{railway:#}");
    assert_eq!(railway["drifted"], serde_json::json!(["NODE_ENV"]));
    assert_eq!(railway["unmanaged"], serde_json::json!(["HAND_MADE"]));
    let vercel = target(env, &format!("vercel:{WEB}"));
    // The write-only DATABASE_URL is rewritten with the target's changed declaration: berth
    // cannot read it back to compare.
    assert_eq!(
        names(&vercel["update"]),
        ["DATABASE_URL", "API_URL"],
        "{vercel:#}"
    );
    assert!(names(&vercel["create"]).is_empty(), "{vercel:#}");
    let web = &report["deployments"][0];
    assert_eq!(web["action"], "deploy", "{web:#}");
    assert_eq!(web["revision"], C2);
    assert_eq!(web["live"]["commit"], C1);
    assert_eq!(
        (
            report["summary"]["update"].as_u64(),
            report["summary"]["deploy"].as_u64()
        ),
        (Some(3), Some(1))
    );
    assert!(
        !out.contains("tampered") && !out.contains("api.two"),
        "a value shown: {out}"
    );
    assert_eq!(writes(&sb).await, before, "berth plan wrote to a provider");

    // 4. A Secret in neither the manifests nor the cluster: the plan cannot be made.
    let (code, out, _) = plan(&[
        "-f",
        &repo.path().join("environment.yaml").display().to_string(),
        "--offline",
        "-n",
        &ns,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("waiting for Secret {ns}/railway-token")),
        "{out}"
    );
}
