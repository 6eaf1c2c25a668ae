//! Backups on real components: `pg_dump`/`pg_restore` against the shared Postgres, a real S3
//! server (s3s-fs, SigV4-checked) on loopback, and the controller process driving BackupPolicy
//! objects through the real API server.

use std::{path::Path, time::Duration};

use berth::{
    backup::{
        self, BackupJob,
        catalogue::{Catalogue, Outcome, PolicyKey, Query, Trigger},
        connection::Connection,
        destination::{S3Config, Target},
        retention::Rules,
    },
    devstack::S3Server,
    providers::http::Secret,
    store::Store,
};
use chrono::{DateTime, TimeZone as _, Utc};
use sqlx::{Connection as _, PgConnection};

use crate::support::{self, ControllerProcess, apply, condition, eventually, get_json, kubectl};

fn suffix() -> String {
    use rand::Rng as _;
    (0..6)
        .map(|_| char::from(b'a' + rand::rng().random_range(0..26u8)))
        .collect()
}

async fn admin() -> PgConnection {
    PgConnection::connect(&support::stack().postgres.url("postgres"))
        .await
        .unwrap()
}

async fn create_db(prefix: &str) -> String {
    let name = format!("{prefix}_{}", suffix());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin().await)
        .await
        .unwrap();
    name
}

async fn db(name: &str) -> PgConnection {
    PgConnection::connect(&support::stack().postgres.url(name))
        .await
        .unwrap()
}

/// A source database with `rows` rows of about `width` bytes each.
pub(crate) async fn source_db(rows: i64, width: i32) -> String {
    let name = create_db("src").await;
    let mut c = db(&name).await;
    sqlx::raw_sql(
        "CREATE TABLE items (id bigint PRIMARY KEY, payload text NOT NULL); \
         CREATE TABLE stores (id serial PRIMARY KEY, name text)",
    )
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::query(
        // Hex of many hashes: compresses about as little as real data, so dumps have a size.
        "INSERT INTO items SELECT g, (SELECT string_agg(md5(g::text || '-' || i), '') \
         FROM generate_series(1, $2 / 32 + 1) i) FROM generate_series(1, $1) g",
    )
    .bind(rows)
    .bind(width)
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::raw_sql("INSERT INTO stores (name) VALUES ('a'), ('b')")
        .execute(&mut c)
        .await
        .unwrap();
    name
}

/// Row count and a checksum over every row: equal for a faithful restore.
pub(crate) async fn fingerprint(name: &str) -> (i64, String) {
    sqlx::query_as(
        "SELECT count(*), md5(string_agg(id::text || ':' || payload, ',' ORDER BY id)) FROM items",
    )
    .fetch_one(&mut db(name).await)
    .await
    .unwrap()
}

/// Restores a dump file into a new database with `pg_restore`; returns the database.
pub(crate) async fn restore_file(file: &Path) -> String {
    let name = create_db("restored").await;
    let out = std::process::Command::new("pg_restore")
        .args([
            "--no-owner",
            "--exit-on-error",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
        ])
        .args([
            "-p",
            &support::stack().postgres.port.to_string(),
            "-d",
            &name,
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    name
}

pub(crate) async fn history_store() -> (Store, String) {
    let name = create_db("berth").await;
    let url = support::stack().postgres.url(&name);
    let store = Store::connect_lazy(&url, 4).unwrap();
    store.migrate().await.unwrap();
    (store, url)
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

pub(crate) fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The Secret `s3` holding `s3`'s access key and secret key, as a policy's
/// `credentialsSecretName` names it.
pub(crate) fn s3_credentials(s3: &berth::devstack::S3Server) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: s3}}\nstringData: {{accessKeyId: {}, secretAccessKey: {}}}\n",
        s3.access_key, s3.secret_key
    )
}

pub(crate) fn secret(name: &str, key: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\nstringData: {{{key}: {value:?}}}\n"
    )
}

pub(crate) fn annotate_now(ns: &str, policy: &str, value: &str) {
    let (ok, _, err) = kubectl(
        &[
            "annotate",
            "-n",
            ns,
            &format!("backuppolicy/{policy}"),
            &format!("berth.dev/reconcile-requested={value}"),
            "--overwrite",
        ],
        None,
    );
    assert!(ok, "{err}");
}

pub(crate) async fn rows_of(
    store: &Store,
    ns: &str,
    policy: &str,
) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT id, status, trigger FROM backups WHERE namespace = $1 AND policy = $2 ORDER BY started_at",
    )
    .bind(ns)
    .bind(policy)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

// Protects: the reconcile-now annotation takes a backup whose restore equals the source; the
// verification schedule restores it and passes its checks; a backup corrupted afterwards is
// caught by the next verification: status, the alert condition and the database row say failed.
#[tokio::test]
async fn requested_backup_restores_verifies_and_corruption_is_caught() {
    let client = support::client().await;
    let ns = support::namespace(&client, "backup_fs").await;
    let source = source_db(20_000, 100).await;
    let (store, url) = history_store().await;
    let dir = tempfile::tempdir().unwrap();
    let controller = ControllerProcess::start(&ns, Some(url));
    apply(
        &ns,
        &secret("db", "uri", &support::stack().postgres.url(&source)),
    );
    apply(
        &ns,
        &format!(
            "apiVersion: berth.dev/v1alpha1\nkind: BackupPolicy\nmetadata: {{name: shop}}\nspec:\n  database: {{connectionSecretRef: {{name: db, key: uri}}}}\n  schedule: '0 0 1 1 *'\n  destination: {{filesystem: {{path: {dir}}}}}\n  verification:\n    schedule: '* * * * *'\n    checks:\n      - {{name: rows, sql: 'select count(*) from items', expect: '20000'}}\n      - {{name: stores, sql: 'select count(*) > 0 from stores', expect: 't'}}\n",
            dir = dir.path().display()
        ),
    );
    annotate_now(&ns, "shop", "first");
    let obj = eventually(Duration::from_secs(60), "a requested backup", || async {
        get_json(&ns, "backuppolicy/shop")
            .filter(|o| o["status"]["lastBackup"]["sha256"].is_string())
    })
    .await;
    let last = &obj["status"]["lastBackup"];
    let id = last["id"].as_str().unwrap();
    let file = dir.path().join(format!("{id}.dump"));
    assert_eq!(
        files(dir.path()),
        vec![format!("{id}.dump")],
        "{}",
        controller.log()
    );
    assert_eq!(last["location"], format!("file://{}", file.display()));
    assert_eq!(last["sha256"].as_str().unwrap(), sha256_of(&file));
    assert_eq!(
        last["sizeBytes"].as_i64().unwrap(),
        i64::try_from(std::fs::metadata(&file).unwrap().len()).unwrap()
    );
    assert_eq!(obj["status"]["lastHandledReconcileAt"], "first");
    assert_eq!(rows_of(&store, &ns, "shop").await[0].2, "request");
    let restored = restore_file(&file).await;
    assert_eq!(fingerprint(&restored).await, fingerprint(&source).await);

    let verified = eventually(
        Duration::from_secs(90),
        "a passing verification",
        || async {
            get_json(&ns, "backuppolicy/shop")
                .filter(|o| o["status"]["lastVerification"]["passed"] == true)
        },
    )
    .await;
    assert_eq!(verified["status"]["lastVerification"]["backupId"], id);
    assert_eq!(condition(&verified, "Alerting").unwrap()["status"], "False");
    assert_eq!(condition(&verified, "Ready").unwrap()["status"], "True");

    // The admin API lists it with its verification, for a caller RBAC lets read policies here.
    let admin_token = support::stack().plane.admin().token.clone();
    let url = format!(
        "http://127.0.0.1:{}/api/admin/monitoring/backups?namespace={ns}&policy=shop&outcome=complete",
        controller.port
    );
    let http = reqwest::Client::new();
    let page: serde_json::Value = http
        .get(&url)
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["sha256"], last["sha256"]);
    assert_eq!(items[0]["verified"], true);
    let bob = support::stack().plane.user("bob").unwrap().token.clone();
    let denied = http.get(&url).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(denied.status(), reqwest::StatusCode::FORBIDDEN);
    let bad = http
        .get(format!("{url}&outcome=fine"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);

    // Flip bytes in the middle of the dump.
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&file, bytes).unwrap();
    let failed = eventually(Duration::from_secs(90), "a failed verification", || async {
        get_json(&ns, "backuppolicy/shop")
            .filter(|o| o["status"]["lastVerification"]["passed"] == false)
    })
    .await;
    let alert = condition(&failed, "Alerting").unwrap();
    assert_eq!(alert["status"], "True", "{failed}");
    assert_eq!(alert["reason"], "VerificationFailed");
    let (passed, message): (Option<bool>, Option<String>) = sqlx::query_as(
        "SELECT passed, message FROM backup_verifications WHERE backup_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(passed, Some(false));
    assert!(
        message
            .as_deref()
            .unwrap_or_default()
            .contains("checksum mismatch"),
        "{message:?}"
    );
    let leftovers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname LIKE 'berth_verify_%'")
            .fetch_one(&mut admin().await)
            .await
            .unwrap();
    assert_eq!(leftovers, 0, "scratch databases are dropped");
    let (ok, events, _) = kubectl(&["get", "events", "-n", &ns, "-o", "json"], None);
    assert!(ok);
    assert!(
        events.contains("VerificationFailed"),
        "an Event announces the alert"
    );
}

// Protects: an S3 destination works the same: the backup lands as an object through a
// SigV4-checking server, with the recorded size and sha256, and restores to the source.
#[tokio::test]
async fn requested_backup_goes_to_s3() {
    let client = support::client().await;
    let ns = support::namespace(&client, "backup_s3").await;
    let s3 = S3Server::start().await.unwrap();
    let bucket_dir = s3.create_bucket("backups").unwrap();
    let source = source_db(5_000, 200).await;
    let (store, url) = history_store().await;
    let controller = ControllerProcess::start(&ns, Some(url));
    apply(
        &ns,
        &secret("db", "uri", &support::stack().postgres.url(&source)),
    );
    apply(&ns, &s3_credentials(&s3));
    apply(
        &ns,
        &format!(
            "apiVersion: berth.dev/v1alpha1\nkind: BackupPolicy\nmetadata: {{name: shop}}\nspec:\n  database: {{connectionSecretRef: {{name: db, key: uri}}}}\n  schedule: '0 0 1 1 *'\n  destination: {{s3: {{bucket: backups, prefix: prod/shop, endpoint: '{}', credentialsSecretName: s3, forcePathStyle: true}}}}\n",
            s3.endpoint
        ),
    );
    annotate_now(&ns, "shop", "go");
    let obj = eventually(Duration::from_secs(60), "a backup in S3", || async {
        get_json(&ns, "backuppolicy/shop")
            .filter(|o| o["status"]["lastBackup"]["sha256"].is_string())
    })
    .await;
    let last = &obj["status"]["lastBackup"];
    let id = last["id"].as_str().unwrap();
    assert_eq!(
        last["location"],
        format!("s3://backups/prod/shop/{id}.dump"),
        "{}",
        controller.log()
    );
    let object = bucket_dir.join(format!("prod/shop/{id}.dump"));
    assert_eq!(last["sha256"].as_str().unwrap(), sha256_of(&object));
    let restored = restore_file(&object).await;
    assert_eq!(fingerprint(&restored).await, fingerprint(&source).await);
    let rows = rows_of(&store, &ns, "shop").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "complete");
}

// Protects: a schedule takes backups by itself; suspend stops scheduling and keeps history.
#[tokio::test]
async fn schedule_runs_backups_and_suspend_stops_them() {
    let client = support::client().await;
    let ns = support::namespace(&client, "backup_schedule").await;
    let source = source_db(1_000, 50).await;
    let (store, url) = history_store().await;
    let dir = tempfile::tempdir().unwrap();
    let _controller = ControllerProcess::start(&ns, Some(url));
    apply(
        &ns,
        &secret("db", "uri", &support::stack().postgres.url(&source)),
    );
    let policy = |suspend: bool| {
        format!(
            "apiVersion: berth.dev/v1alpha1\nkind: BackupPolicy\nmetadata: {{name: every-minute}}\nspec:\n  database: {{connectionSecretRef: {{name: db, key: uri}}}}\n  schedule: '* * * * *'\n  suspend: {suspend}\n  destination: {{filesystem: {{path: {}}}}}\n",
            dir.path().display()
        )
    };
    apply(&ns, &policy(false));
    let next = eventually(
        Duration::from_secs(20),
        "the next run in status",
        || async {
            get_json(&ns, "backuppolicy/every-minute")
                .and_then(|o| o["status"]["nextBackupTime"].as_str().map(str::to_string))
        },
    )
    .await;
    let next: DateTime<Utc> = next.parse().unwrap();
    assert!(
        next > Utc::now() - chrono::Duration::seconds(5)
            && next <= Utc::now() + chrono::Duration::seconds(61)
    );
    eventually(Duration::from_secs(80), "a scheduled backup", || async {
        let rows = rows_of(&store, &ns, "every-minute").await;
        rows.iter()
            .any(|r| r.1 == "complete" && r.2 == "schedule")
            .then_some(())
    })
    .await;

    apply(&ns, &policy(true));
    eventually(Duration::from_secs(20), "suspended", || async {
        get_json(&ns, "backuppolicy/every-minute")
            .filter(|o| condition(o, "Ready").is_some_and(|c| c["reason"] == "Suspended"))
    })
    .await;
    let before = rows_of(&store, &ns, "every-minute").await;
    // Wait past the next minute boundary, and some.
    let now = Utc::now();
    let boundary = Utc
        .timestamp_opt(now.timestamp() - now.timestamp() % 60 + 60, 0)
        .unwrap();
    tokio::time::sleep((boundary - now).to_std().unwrap() + Duration::from_secs(8)).await;
    let after = rows_of(&store, &ns, "every-minute").await;
    assert_eq!(
        before.len(),
        after.len(),
        "no backup while suspended: {after:?}"
    );
    assert!(!after.is_empty(), "history is kept");
}

fn fs_job<'a>(key: PolicyKey<'a>, source: &'a Connection, target: &'a Target) -> BackupJob<'a> {
    BackupJob {
        key,
        source,
        target,
        trigger: Trigger::Request,
        rules: Rules {
            last: 100,
            daily: 0,
            weekly: 0,
            monthly: 0,
        },
        tz: chrono_tz::UTC,
    }
}

/// Runs a backup of a large database and ends its `pg_dump` session from the server side once
/// bytes are flowing (as a failover or a killed process would); returns the backup's result.
async fn interrupted_backup(
    target: &Target,
    catalogue: &Catalogue,
    policy: &str,
    flowing: impl Fn() -> bool,
) -> Result<backup::Taken, backup::Error> {
    let source = source_db(200_000, 200).await;
    let conn = Connection::parse(&support::stack().postgres.url(&source)).unwrap();
    let key = PolicyKey {
        namespace: "lib",
        policy,
    };
    let app = backup::application_name(key);
    let job = fs_job(key, &conn, target);
    let run = backup::backup(catalogue, &job);
    let kill = async {
        eventually(Duration::from_secs(60), "pg_dump's session", || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(&app)
            .fetch_one(&mut admin().await)
            .await
            .unwrap();
            (n > 0).then_some(())
        })
        .await;
        eventually(Duration::from_secs(60), "the dump under way", || async {
            flowing().then_some(())
        })
        .await;
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&app)
        .fetch_all(&mut admin().await)
        .await
        .unwrap();
        assert!(
            ended.contains(&true),
            "pg_dump's session was found and ended"
        );
    };
    let (result, ()) = tokio::join!(run, kill);
    result
}

// Protects: a dump that dies mid-way leaves no file that looks like a backup, no `.partial`,
// and a `failed` row, never a `complete` one; on a directory and on S3 alike.
#[tokio::test]
async fn interrupted_backup_leaves_nothing_that_looks_valid() {
    let (store, _) = history_store().await;
    let catalogue = Catalogue::new(store.clone());

    let dir = tempfile::tempdir().unwrap();
    let target = Target::filesystem(dir.path());
    let d = dir.path().to_path_buf();
    let result = interrupted_backup(&target, &catalogue, "fs", || {
        files(&d).iter().any(|f| f.ends_with(".partial"))
            && std::fs::read_dir(&d)
                .unwrap()
                .any(|e| e.unwrap().metadata().unwrap().len() > 0)
    })
    .await;
    assert!(result.is_err(), "{result:?}");
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));

    let s3 = S3Server::start().await.unwrap();
    let bucket = s3.create_bucket("backups").unwrap();
    let target = Target::s3(&S3Config {
        bucket: "backups".into(),
        prefix: "lib/s3".into(),
        endpoint: Some(s3.endpoint.clone()),
        region: "us-east-1".into(),
        access_key_id: s3.access_key.clone(),
        secret_access_key: Secret::new(s3.secret_key.clone()),
        force_path_style: true,
    })
    .unwrap();
    let result = interrupted_backup(&target, &catalogue, "s3", || true).await;
    assert!(result.is_err(), "{result:?}");
    let objects: Vec<_> = walk(&bucket)
        .into_iter()
        .filter(|p| p.ends_with(".dump"))
        .collect();
    assert!(objects.is_empty(), "{objects:?}");

    let statuses: Vec<(String, String)> =
        sqlx::query_as("SELECT policy, status FROM backups ORDER BY policy")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        statuses,
        vec![
            ("fs".into(), "failed".into()),
            ("s3".into(), "failed".into())
        ]
    );
}

pub(crate) fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out
}

// Protects: retention after a backup prunes exactly the GFS set's complement: files deleted,
// rows kept as `pruned`, the newest verified backup spared; the catalogue lists by policy,
// outcome and time range, a page at a time.
#[tokio::test]
async fn retention_prunes_exactly_and_the_catalogue_pages() {
    let (store, _) = history_store().await;
    let catalogue = Catalogue::new(store.clone());
    let dir = tempfile::tempdir().unwrap();
    let target = Target::filesystem(dir.path());
    let key = PolicyKey {
        namespace: "lib",
        policy: "gfs",
    };
    // Twenty nightly backups, 1–20 March 2026, as files and complete rows.
    let mut ids = Vec::new();
    for day in 1..=20u32 {
        let at = Utc.with_ymd_and_hms(2026, 3, day, 3, 0, 0).unwrap();
        let id = format!("202603{day:02}T030000Z-test");
        let mut up = target.create(&id).await.unwrap();
        up.write(format!("dump {day}").as_bytes()).await.unwrap();
        let location = up.commit().await.unwrap();
        catalogue
            .begin(key, &id, at, &location, Trigger::Schedule)
            .await
            .unwrap();
        catalogue
            .complete(
                &id,
                at + chrono::Duration::seconds(5),
                6,
                &"ab".repeat(32),
                &location,
            )
            .await
            .unwrap();
        ids.push(id);
    }
    // The 2 March backup is the newest that passed verification: retention must spare it.
    let v = catalogue
        .begin_verification(&ids[1], Utc::now())
        .await
        .unwrap();
    catalogue
        .finish_verification(
            v,
            Utc::now(),
            &backup::verify::Report {
                passed: true,
                checksum_ok: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rules = Rules {
        last: 2,
        daily: 3,
        weekly: 2,
        monthly: 1,
    };
    let dry = backup::prune_plan(&catalogue, key, rules, chrono_tz::UTC)
        .await
        .unwrap();
    // Last 2 / daily 3: 20, 19, 18. Weekly 2: 20 (Fri, week of 16th) and 15 (Sun). Monthly: 20.
    let id = |d: u32| format!("202603{d:02}T030000Z-test");
    assert_eq!(dry.keep, vec![id(20), id(19), id(18), id(15), id(2)]);
    assert_eq!(files(dir.path()).len(), 20, "a dry run deletes nothing");
    // The pure dry run over the catalogue's rows (what `berth plan` calls) decides the same.
    let spec: berth::api::backup_policy::BackupPolicySpec =
        serde_json::from_value(serde_json::json!({
            "database": {"connectionSecretRef": {"name": "db", "key": "uri"}},
            "schedule": "0 3 * * *",
            "destination": {"filesystem": {"path": "/b"}},
            "retention": {"keepLast": 2, "keepDaily": 3, "keepWeekly": 2, "keepMonthly": 1},
        }))
        .unwrap();
    let rows = catalogue.complete_backups(key).await.unwrap();
    assert_eq!(backup::retention_dry_run(&spec, &rows).unwrap(), dry);
    let pruned = backup::prune(&catalogue, &target, key, rules, chrono_tz::UTC)
        .await
        .unwrap();
    assert_eq!(pruned.len(), 15);
    let expected: Vec<String> = [2, 15, 18, 19, 20]
        .iter()
        .map(|d| format!("{}.dump", id(*d)))
        .collect();
    assert_eq!(files(dir.path()), expected);

    let complete = catalogue
        .list(&Query {
            policy: Some("gfs".into()),
            outcome: Some(Outcome::Complete),
            ..Query::default()
        })
        .await
        .unwrap();
    assert_eq!(complete.items.len(), 5);
    assert_eq!(complete.items[4].backup.verified, Some(true));
    let mut seen = Vec::new();
    let mut q = Query {
        namespace: Some("lib".into()),
        policy: Some("gfs".into()),
        outcome: Some(Outcome::Pruned),
        source: None,
        from: Some(Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap()),
        to: Some(Utc.with_ymd_and_hms(2026, 3, 15, 0, 0, 0).unwrap()),
        limit: Some(4),
        after: None,
    };
    loop {
        let page = catalogue.list(&q).await.unwrap();
        seen.extend(page.items.iter().map(|b| b.backup.id.clone()));
        match page.next {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    // Pruned and started in [3 March, 15 March): 3–14, newest first, over 3 pages.
    let expected: Vec<String> = (3..=14).rev().map(id).collect();
    assert_eq!(seen, expected);
}
