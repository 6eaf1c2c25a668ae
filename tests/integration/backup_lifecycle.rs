//! BackupPolicy beyond a single backup, through the controller process: Supabase's own backups
//! listed beside berth's (the in-process sandbox as Supabase), and what deleting a policy does
//! to its files, objects and catalogue rows (real files, the real S3 server).

use std::time::Duration;

use berth::{
    devstack::S3Server,
    sandbox::{Sandbox, SandboxConfig},
};

use crate::{
    backup::{
        annotate_now, files, history_store, rows_of, s3_credentials, secret, source_db, walk,
    },
    support::{self, ControllerProcess, apply, eventually, get_json, kubectl},
};

async fn admin_get(c: &ControllerProcess, query: &str) -> serde_json::Value {
    let admin = &support::stack().plane.admin().token;
    let path = format!("/api/admin/monitoring/backups?{query}");
    let (status, page) = c.api_get(&path, Some(admin)).await;
    assert!(status.is_success(), "{query}: {status}");
    page
}

fn ids(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

// Protects: for a policy bound to a Supabase project, status sums up the platform's backups
// (count, newest, PITR window) and the admin listing shows each of them beside berth's own,
// newest first, with the source, outcome and paging filters covering both; admin requests are
// answered from what the reconciler stored, never by calling Supabase.
#[tokio::test]
async fn supabase_backups_are_listed_beside_berths() {
    let client = support::client().await;
    let ns = support::namespace(&client, "backup_supabase").await;
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let project = support::supabase_project_ref(&sb).await;
    let source = source_db(500, 50).await;
    let (_store, url) = history_store().await;
    let dir = tempfile::tempdir().unwrap();
    let controller = ControllerProcess::start(&ns, Some(url));
    apply(
        &ns,
        &secret("db", "uri", &support::stack().postgres.url(&source)),
    );
    apply(&ns, &secret("supabase", "token", &sb.tokens().supabase));
    apply(
        &ns,
        &format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Environment\nmetadata: {{name: prod}}\nspec:\n  providers:\n    supabase: {{projectRef: {project}, tokenSecretRef: {{name: supabase, key: token}}, endpoint: '{}'}}\n",
            sb.supabase_url()
        ),
    );
    apply(
        &ns,
        &format!(
            "apiVersion: berth.dev/v1alpha1\nkind: BackupPolicy\nmetadata: {{name: db}}\nspec:\n  database: {{connectionSecretRef: {{name: db, key: uri}}, supabaseEnvironmentRef: {{name: prod}}}}\n  schedule: '0 0 1 1 *'\n  destination: {{filesystem: {{path: {}}}}}\n",
            dir.path().display()
        ),
    );
    annotate_now(&ns, "db", "now");
    let obj = eventually(
        Duration::from_secs(60),
        "a backup and the platform's",
        || async {
            get_json(&ns, "backuppolicy/db").filter(|o| {
                o["status"]["lastBackup"]["sha256"].is_string()
                    && o["status"]["platformBackups"]["count"] == 7
            })
        },
    )
    .await;
    let summary = &obj["status"]["platformBackups"];
    assert_eq!(summary["provider"], "supabase", "{}", controller.log());
    assert_eq!(summary["projectRef"], project.as_str());
    assert_eq!(summary["completed"], 7);
    assert!(summary["error"].is_null(), "{summary}");
    let time = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default()).unwrap()
    };
    let (earliest, latest) = (time(&summary["pitrEarliest"]), time(&summary["pitrLatest"]));
    assert!(earliest < latest, "{summary}");
    assert!(time(&summary["newest"]) <= latest, "{summary}");

    let scope = format!("namespace={ns}&policy=db");
    let all = admin_get(&controller, &scope).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 8, "{all}");
    let sources: Vec<&str> = items
        .iter()
        .map(|i| i["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources.iter().filter(|s| **s == "supabase").count(), 7);
    assert_eq!(sources.iter().filter(|s| **s == "berth").count(), 1);
    let started: Vec<_> = items.iter().map(|i| time(&i["startedAt"])).collect();
    assert!(
        started.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {started:?}"
    );
    let platform_row = items.iter().find(|i| i["source"] == "supabase").unwrap();
    assert_eq!(platform_row["status"], "complete");
    assert_eq!(platform_row["platformStatus"], "COMPLETED");
    assert_eq!(platform_row["trigger"], "platform");
    assert!(
        platform_row["location"]
            .as_str()
            .unwrap()
            .starts_with(&format!("supabase://{project}/backups/")),
        "{platform_row}"
    );
    let platforms = all["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 1, "{all}");
    assert_eq!(platforms[0]["policy"], "db");
    assert_eq!(platforms[0]["pitrLatest"], summary["pitrLatest"]);

    // Pages of 3 walk the same rows in the same order as one page.
    let mut paged = Vec::new();
    let mut after = String::new();
    loop {
        let page = admin_get(&controller, &format!("{scope}&limit=3{after}")).await;
        paged.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(paged, ids(&all));
    let supabase_only = admin_get(
        &controller,
        &format!("{scope}&source=supabase&outcome=complete"),
    )
    .await;
    assert_eq!(ids(&supabase_only).len(), 7);
    let berth_only = admin_get(&controller, &format!("{scope}&source=berth")).await;
    assert_eq!(ids(&berth_only).len(), 1);
    assert_eq!(berth_only["platforms"], serde_json::json!([]));

    // Many admin reads later, Supabase was still asked only by the reconciler.
    let before = controller
        .provider_requests("supabase", "list backups")
        .await;
    assert!(
        (1..=3).contains(&before),
        "{before} reads of Supabase's backups"
    );
    for _ in 0..10 {
        admin_get(&controller, &scope).await;
    }
    assert_eq!(
        controller
            .provider_requests("supabase", "list backups")
            .await,
        before
    );
}

fn policy(name: &str, destination: &str, deletion: &str) -> String {
    format!(
        "apiVersion: berth.dev/v1alpha1\nkind: BackupPolicy\nmetadata: {{name: {name}}}\nspec:\n  database: {{connectionSecretRef: {{name: db, key: uri}}}}\n  schedule: '0 0 1 1 *'\n  deletionPolicy: {deletion}\n  destination: {destination}\n"
    )
}

// Protects: deleting a policy with `deletionPolicy: Delete` removes its backup files (and a
// stray `.partial`), its S3 objects and its catalogue rows; `Orphan` keeps files and rows.
#[tokio::test]
async fn deleting_a_policy_deletes_or_keeps_its_backups() {
    let client = support::client().await;
    let ns = support::namespace(&client, "backup_delete").await;
    let s3 = S3Server::start().await.unwrap();
    let bucket = s3.create_bucket("backups").unwrap();
    let source = source_db(2_000, 50).await;
    let (store, url) = history_store().await;
    let (gone_dir, kept_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let controller = ControllerProcess::start(&ns, Some(url));
    apply(
        &ns,
        &secret("db", "uri", &support::stack().postgres.url(&source)),
    );
    apply(&ns, &s3_credentials(&s3));
    let fs =
        |dir: &tempfile::TempDir| format!("{{filesystem: {{path: {}}}}}", dir.path().display());
    let on_s3 = format!(
        "{{s3: {{bucket: backups, prefix: del/s3, endpoint: '{}', credentialsSecretName: s3, forcePathStyle: true}}}}",
        s3.endpoint
    );
    apply(&ns, &policy("gone", &fs(&gone_dir), "Delete"));
    apply(&ns, &policy("gone-s3", &on_s3, "Delete"));
    apply(&ns, &policy("kept", &fs(&kept_dir), "Orphan"));
    for (name, runs) in [("gone", 2), ("gone-s3", 2), ("kept", 1)] {
        for run in 0..runs {
            annotate_now(&ns, name, &format!("run-{run}"));
            eventually(Duration::from_secs(60), "a backup", || async {
                get_json(&ns, &format!("backuppolicy/{name}")).filter(|o| {
                    o["status"]["backupCount"] == run + 1
                        && o["status"]["lastHandledReconcileAt"] == format!("run-{run}").as_str()
                })
            })
            .await;
        }
    }
    let dumps_in_bucket = || {
        walk(&bucket)
            .into_iter()
            .filter(|p| p.ends_with(".dump"))
            .count()
    };
    assert_eq!(files(gone_dir.path()).len(), 2, "{}", controller.log());
    assert_eq!(dumps_in_bucket(), 2);
    // A leftover of an interrupted run goes too.
    std::fs::write(gone_dir.path().join("x.dump.partial"), b"half").unwrap();

    for name in ["gone", "gone-s3", "kept"] {
        let (ok, _, err) = kubectl(
            &[
                "delete",
                "-n",
                &ns,
                &format!("backuppolicy/{name}"),
                "--wait=true",
                "--timeout=60s",
            ],
            None,
        );
        assert!(ok, "{name}: {err}\n{}", controller.log());
    }
    assert!(
        files(gone_dir.path()).is_empty(),
        "{:?}",
        files(gone_dir.path())
    );
    assert_eq!(dumps_in_bucket(), 0);
    assert!(rows_of(&store, &ns, "gone").await.is_empty());
    assert!(rows_of(&store, &ns, "gone-s3").await.is_empty());
    assert_eq!(files(kept_dir.path()).len(), 1, "Orphan keeps the file");
    assert_eq!(rows_of(&store, &ns, "kept").await.len(), 1, "and its row");
}

// Protects: verification by parallel restore (`restoreJobs: 2`, pg_restore reading the file
// itself) restores a streamed dump, passes its checks, and still catches flipped bytes through
// the sha256 computed alongside.
#[tokio::test]
async fn parallel_restore_verifies_and_catches_corruption() {
    use berth::{
        api::backup_policy::SqlCheck,
        backup::{
            self, BackupJob, VerifyJob,
            catalogue::{Catalogue, PolicyKey, Trigger},
            connection::Connection,
            destination::Target,
            retention::Rules,
        },
    };
    let source = source_db(3_000, 100).await;
    let (store, _) = history_store().await;
    let catalogue = Catalogue::new(store);
    let dir = tempfile::tempdir().unwrap();
    let target = Target::filesystem(dir.path());
    let conn = Connection::parse(&support::stack().postgres.url(&source)).unwrap();
    let key = PolicyKey {
        namespace: "lib",
        policy: "jobs",
    };
    let taken = backup::backup(
        &catalogue,
        &BackupJob {
            key,
            source: &conn,
            target: &target,
            trigger: Trigger::Request,
            rules: Rules {
                last: 5,
                daily: 0,
                weekly: 0,
                monthly: 0,
            },
            tz: chrono_tz::UTC,
        },
    )
    .await
    .unwrap();
    let checks = [SqlCheck {
        name: "rows".into(),
        sql: "select count(*) from items".into(),
        expect: "3000".into(),
    }];
    let scratch = conn.with_database("postgres");
    let job = VerifyJob {
        key,
        target: &target,
        scratch: &scratch,
        checks: &checks,
        timeout: Duration::from_secs(120),
        jobs: 2,
    };
    let (_, report) = backup::verify_newest(&catalogue, &job)
        .await
        .unwrap()
        .unwrap();
    assert!(report.passed, "{:?}", report.message);
    assert_eq!(report.checks[0].actual.as_deref(), Some("3000"));

    let file = dir.path().join(format!("{}.dump", taken.id));
    let mut bytes = std::fs::read(&file).unwrap();
    let end = bytes.len() - 16;
    for b in &mut bytes[end - 64..end] {
        *b ^= 0xff;
    }
    std::fs::write(&file, bytes).unwrap();
    let (_, report) = backup::verify_newest(&catalogue, &job)
        .await
        .unwrap()
        .unwrap();
    assert!(!report.passed);
    assert!(
        report
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("checksum"),
        "{:?}",
        report.message
    );
}
