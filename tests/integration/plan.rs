//! `berth plan` as a user runs it: the binary over a directory of manifests, with the
//! kubeconfig of the real API server and the sandbox as the providers. It reports creates,
//! updates, drift, unmanaged variables and the release a new commit would start, masks
//! nothing because it shows no values at all, exits 0/2/1 like `terraform plan
//! -detailed-exitcode`, and makes no provider write. For BackupPolicies it reads the backup
//! catalogue in the real Postgres and shows what retention would prune, deleting nothing.

use std::{path::Path, time::Duration};

use berth::{
    backup::{
        catalogue::{Catalogue, PolicyKey, Trigger},
        verify::Report,
    },
    sandbox::SandboxHandle,
    store::Store,
};
use chrono::{TimeZone as _, Utc};
use serde_json::Value;

use crate::{
    backup::history_store,
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
    plan_with_env(args, &[])
}

/// Runs `berth plan` with `env` set (and no history database unless it names one).
fn plan_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("plan")
        .args(args)
        .env("KUBECONFIG", &support::stack().plane.kubeconfig)
        .env_remove("BERTH_DATABASE_URL")
        .envs(env.iter().copied())
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

/// A BackupPolicy `orders` naming no namespace, with `retention` (flow YAML).
fn backup_policy(retention: &str) -> String {
    format!(
        "apiVersion: berth.dev/v1alpha1\nkind: BackupPolicy\nmetadata: {{name: orders}}\nspec:\n  database: {{connectionSecretRef: {{name: orders-db, key: uri}}}}\n  schedule: '0 3 * * *'\n  timeZone: UTC\n  destination: {{filesystem: {{path: /backups}}}}\n  retention: {retention}\n"
    )
}

/// The id of the nightly backup of `date` (`2026-02-05`).
fn nightly_id(date: chrono::NaiveDate) -> String {
    format!("{}T030000Z-plan", date.format("%Y%m%d"))
}

/// Every row of the catalogue, with its verifications, as (id, namespace, policy, status,
/// verified), for a before/after comparison.
async fn all_rows(store: &Store) -> Vec<(String, String, String, String, i64)> {
    sqlx::query_as(
        "SELECT b.id, b.namespace, b.policy, b.status, \
         (SELECT count(*) FROM backup_verifications v WHERE v.backup_id = b.id) \
         FROM backups b ORDER BY b.id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// The ids on the `    - ` lines of a text plan: the backups it would prune.
fn pruned_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.strip_prefix("    - "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect()
}

// Protects: over 40 nights of backups in the real catalogue, `berth plan --database-url`
// (and BERTH_DATABASE_URL, for -o json) lists exactly the backups keepLast 3 / keepDaily 7 /
// keepWeekly 4 would prune, with time, size and location, says which rule keeps each kept one
// (the newest verified backup kept however old), reads only the policy's own rows (the plan's
// namespace for a manifest naming none), exits 2, and leaves every catalogue row as it was.
// Without a database it says retention is not shown (exit 0); an invalid retention spec is an
// error naming the field (exit 1).
#[tokio::test]
async fn plan_shows_what_retention_would_prune_and_deletes_nothing() {
    let (store, url) = history_store().await;
    let catalogue = Catalogue::new(store.clone());
    let key = PolicyKey {
        namespace: "shop",
        policy: "orders",
    };
    let first = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
    let nights: Vec<chrono::NaiveDate> = (0..40).map(|d| first + chrono::Days::new(d)).collect();
    for (i, date) in nights.iter().enumerate() {
        let at = Utc.from_utc_datetime(&date.and_hms_opt(3, 0, 0).unwrap());
        let id = nightly_id(*date);
        let location = format!("file:///backups/shop/orders/{id}.dump");
        catalogue
            .begin(key, &id, at, &location, Trigger::Schedule)
            .await
            .unwrap();
        let size = 1_048_576 + u64::try_from(i).unwrap();
        catalogue
            .complete(
                &id,
                at + chrono::Duration::seconds(30),
                size,
                &"ab".repeat(32),
                &location,
            )
            .await
            .unwrap();
    }
    // A failed run (never decided over) and the same policy name in another namespace, whose
    // backups must not be read as this policy's.
    let failed_at = Utc.with_ymd_and_hms(2026, 3, 12, 15, 0, 0).unwrap();
    catalogue
        .begin(
            key,
            "20260312T150000Z-fail",
            failed_at,
            "file:///x",
            Trigger::Request,
        )
        .await
        .unwrap();
    catalogue
        .fail("20260312T150000Z-fail", "pg_dump failed")
        .await
        .unwrap();
    let elsewhere = PolicyKey {
        namespace: "elsewhere",
        policy: "orders",
    };
    for day in 1..=5 {
        let at = Utc.with_ymd_and_hms(2026, 1, day, 3, 0, 0).unwrap();
        let id = format!("elsewhere-{day}");
        catalogue
            .begin(elsewhere, &id, at, "file:///e", Trigger::Schedule)
            .await
            .unwrap();
        catalogue
            .complete(&id, at, 1, &"cd".repeat(32), "file:///e")
            .await
            .unwrap();
    }
    // 5 February's backup is the newest that passed a restore: retention spares it.
    let verified = nightly_id(first + chrono::Days::new(4));
    let v = catalogue
        .begin_verification(&verified, Utc::now())
        .await
        .unwrap();
    catalogue
        .finish_verification(
            v,
            Utc::now(),
            &Report {
                passed: true,
                checksum_ok: true,
                ..Report::default()
            },
        )
        .await
        .unwrap();
    let before = all_rows(&store).await;
    assert_eq!(before.len(), 46);

    let repo = tempfile::tempdir().unwrap();
    let manifest = repo.path().join("orders.yaml");
    std::fs::write(
        &manifest,
        backup_policy("{keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 0}"),
    )
    .unwrap();
    let file = manifest.display().to_string();

    // Kept: 12 March back to 6 March (keepLast 3 within keepDaily 7); the newest of each of
    // the 4 newest ISO weeks: 12 March (Thursday), Sundays 8 and 1 March and 22 February;
    // and 5 February, the newest verified. The other 30 nights are pruned, newest first.
    let d = |m: u32, day: u32| nightly_id(chrono::NaiveDate::from_ymd_opt(2026, m, day).unwrap());
    let kept = [
        d(3, 12),
        d(3, 11),
        d(3, 10),
        d(3, 9),
        d(3, 8),
        d(3, 7),
        d(3, 6),
        d(3, 1),
        d(2, 22),
        d(2, 5),
    ];
    let expected: Vec<String> = nights
        .iter()
        .rev()
        .map(|n| nightly_id(*n))
        .filter(|id| !kept.contains(id))
        .collect();
    assert_eq!(expected.len(), 30);

    let (code, out, err) = plan(&[
        "-f",
        &file,
        "-n",
        "shop",
        "--offline",
        "--database-url",
        &url,
    ]);
    println!("{out}");
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("BackupPolicy shop/orders\n  retention: kept 10, would prune 30\n"),
        "{out}"
    );
    assert_eq!(pruned_lines(&out), expected, "{out}");
    let oldest = d(2, 1);
    assert!(
        out.contains(&format!(
            "    - {oldest}  taken 2026-02-01T03:00:00Z  1.0 MiB  file:///backups/shop/orders/{oldest}.dump\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "    = {}  taken 2026-03-12T03:00:00Z  kept by keepLast, keepDaily, keepWeekly\n",
            d(3, 12)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "    = {}  taken 2026-03-01T03:00:00Z  kept by keepWeekly\n",
            d(3, 1)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "    = {verified}  taken 2026-02-05T03:00:00Z  kept by newest verified\n"
        )),
        "{out}"
    );
    assert!(!out.contains("elsewhere") && !out.contains("fail"), "{out}");
    assert!(out.contains("; 30 backup(s) to prune."), "{out}");

    // The same plan as JSON, with the database named by the controller's environment variable.
    let (code, out, err) = plan_with_env(
        &["-f", &file, "-n", "shop", "--offline", "-o", "json"],
        &[("BERTH_DATABASE_URL", &url)],
    );
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    let report: Value = serde_json::from_str(&out).expect("JSON plan");
    let policy = &report["backupPolicies"][0];
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&policy["prune"]), expected, "{policy:#}");
    assert_eq!(ids(&policy["keep"]), kept, "{policy:#}");
    assert_eq!(
        policy["keep"][9]["keptBy"],
        serde_json::json!(["newestVerified"])
    );
    assert_eq!(policy["prune"][29]["sizeBytes"], 1_048_576);
    assert_eq!(report["summary"]["prune"], 30);

    // The sessions plan opens refuse writes, so no code path of it can change history.
    let read_only = Store::connect_read_only(&url).unwrap();
    let refused = sqlx::query("DELETE FROM backups")
        .execute(read_only.pool())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("read-only transaction"),
        "{refused}"
    );

    // Nothing was pruned, marked or deleted: every row is as it was.
    assert_eq!(
        all_rows(&store).await,
        before,
        "berth plan changed the catalogue"
    );

    // Without a database: said, not an error.
    let (code, out, err) = plan(&["-f", &file, "-n", "shop", "--offline"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains(
            "BackupPolicy shop/orders\n  retention not shown: it needs the history database"
        ),
        "{out}"
    );

    // An invalid retention spec: the field is named, with or without a database.
    std::fs::write(&manifest, backup_policy("{keepLast: 3, keepDaily: -7}")).unwrap();
    for extra in [&["--database-url", url.as_str()][..], &[]] {
        let mut args = vec!["-f", file.as_str(), "-n", "shop", "--offline"];
        args.extend_from_slice(extra);
        let (code, out, _) = plan(&args);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("  error: spec.retention.keepDaily: -7 is outside 0–1000\n"),
            "{out}"
        );
    }
}
