//! The history store against a real Postgres: migrations, row-level security as berth's owner
//! role and as Supabase's API roles, the health probe, and password redaction.

// Helpers outside #[test] fns are not covered by clippy's allow-expect-in-tests; in a test
// crate a failed expectation is exactly the failure wanted.

use std::time::{Duration, Instant};

use berth::store::{Store, redact_url};
use sqlx::{Connection as _, Executor as _, PgConnection, Row as _};

use crate::support;

/// A non-superuser that owns berth's database, as in production (superusers bypass RLS).
const OWNER: &str = "berth_owner";
const OWNER_PASSWORD: &str = "owner-pw-not-for-logs";

/// Every table the migrations create, besides sqlx's own.
const TABLES: [&str; 9] = [
    "deployment_events",
    "rollbacks",
    "probe_samples",
    "probe_rollups",
    "backups",
    "backup_verifications",
    "platform_backups",
    "alerts",
    "audit_log",
];

async fn admin(db: &str) -> PgConnection {
    PgConnection::connect(&support::stack().postgres.url(db))
        .await
        .expect("superuser connects")
}

/// Creates the cluster-wide roles the tests use. Roles are shared by every database in the
/// cluster, so concurrent tests serialise on an advisory lock.
async fn ensure_roles() {
    let mut conn = admin("postgres").await;
    let mut tx = conn.begin().await.expect("begin");
    tx.execute("SELECT pg_advisory_xact_lock(4242)")
        .await
        .expect("lock");
    let exists = |name: &'static str| {
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(name)
    };
    if !exists(OWNER).fetch_one(&mut *tx).await.expect("query") {
        tx.execute(sqlx::AssertSqlSafe(format!(
            "CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}' \
             NOSUPERUSER NOCREATEROLE NOBYPASSRLS"
        )))
        .await
        .expect("create owner");
    }
    // Supabase's API roles, and the dashboard role berth_owner may not create itself.
    for role in ["anon", "authenticated", "service_role", "berth_readonly"] {
        if !exists(role).fetch_one(&mut *tx).await.expect("query") {
            tx.execute(sqlx::AssertSqlSafe(format!("CREATE ROLE {role} NOLOGIN")))
                .await
                .expect("create role");
        }
    }
    tx.commit().await.expect("commit");
}

/// A new database owned by `owner`; returns its name.
async fn fresh_database(owner: &str) -> String {
    let name = format!("store_{}", rand_suffix());
    admin("postgres")
        .await
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} OWNER {owner}"
        )))
        .await
        .expect("create database");
    name
}

fn rand_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..8)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

fn owner_url(port: u16, db: &str) -> String {
    format!("postgres://{OWNER}:{OWNER_PASSWORD}@127.0.0.1:{port}/{db}")
}

/// A migrated store in a fresh database, connected as the owner.
async fn owner_store() -> (Store, String) {
    ensure_roles().await;
    let db = fresh_database(OWNER).await;
    let store =
        Store::connect_lazy(&owner_url(support::stack().postgres.port, &db), 4).expect("store");
    store.migrate().await.expect("migrations apply");
    (store, db)
}

/// The newest version among the files in `migrations/`.
fn newest_migration_file() -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    std::fs::read_dir(dir)
        .expect("migrations/")
        .filter_map(|e| {
            let name = e.expect("entry").file_name().into_string().expect("utf-8");
            name.split('_').next()?.parse::<i64>().ok()
        })
        .max()
        .expect("at least one migration")
}

// Protects: migrations apply on an empty database, re-apply as a no-op, and health reports the
// schema version (None before the first run).
#[tokio::test]
async fn migrations_apply_idempotently_and_health_reports_the_version() {
    ensure_roles().await;
    let db = fresh_database(OWNER).await;
    let store =
        Store::connect_lazy(&owner_url(support::stack().postgres.port, &db), 3).expect("store");

    let before = store.health().await;
    assert!(before.reachable, "{before:?}");
    assert_eq!(before.migration_version, None);

    let newest = newest_migration_file();
    assert_eq!(store.migrate().await.expect("first run"), newest);
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(store.migrate().await.expect("second run"), newest);
    let reapplied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(applied, reapplied, "a second run applies nothing");

    let health = store.health().await;
    assert!(health.reachable, "{health:?}");
    assert_eq!(health.migration_version, Some(newest));
    assert!(health.latency_ms.is_some_and(|ms| ms >= 0.0));
    assert_eq!(health.pool_max, 3);
    assert!(health.pool_size >= 1 && health.pool_idle <= health.pool_size);
    assert_eq!(health.error, None);
}

// Protects: an older replica restarting after a newer one migrated (rolling update) still
// starts instead of failing on a migration it does not know.
#[tokio::test]
async fn migrate_tolerates_migrations_from_a_newer_release() {
    let (store, _db) = owner_store().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', true, '\\x00', 0)",
    )
    .execute(store.pool())
    .await
    .expect("insert");
    assert_eq!(store.migrate().await.expect("still migrates"), 9999);
}

// Protects: RLS is on for every table, including ones a later migration adds.
#[tokio::test]
async fn every_table_has_row_level_security() {
    let (store, _db) = owner_store().await;
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .expect("tables");
    for table in TABLES.iter().chain(&["_sqlx_migrations"]) {
        assert!(
            tables.iter().any(|(name, _)| name == table),
            "{table} exists"
        );
    }
    let without: Vec<_> = tables.iter().filter(|(_, rls)| !rls).collect();
    assert!(without.is_empty(), "tables without RLS: {without:?}");
}

/// One row in each table, written as the owner.
async fn seed(store: &Store) {
    let pool = store.pool();
    for sql in [
        "INSERT INTO deployment_events (namespace, deployment, revision, provider, phase) \
         VALUES ('shop', 'api', 'abc123', 'railway', 'Live')",
        "INSERT INTO rollbacks (namespace, deployment, from_revision, to_revision, reason, actor) \
         VALUES ('shop', 'api', 'bad', 'abc123', 'health check failed', 'berth')",
        "INSERT INTO probe_samples (target, at, status_code, latency_ms, ok) \
         VALUES ('shop/api', now(), 200, 12.5, true)",
        "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
         latency_histogram) VALUES ('shop/api', 'hour', '2030-01-01T10:00:00Z', 1, 0, \
         '{0,1,0,0,0,0,0,0,0,0,0}')",
        "INSERT INTO backups (id, namespace, policy) VALUES ('b1', 'shop', 'nightly')",
        "INSERT INTO backup_verifications (backup_id) VALUES ('b1')",
        "INSERT INTO platform_backups (namespace, policy, provider, id, project, taken_at, \
         status, outcome, physical, seen_at) VALUES ('shop', 'nightly', 'supabase', '1', \
         'abcdefghijklmnopqrst', now(), 'COMPLETED', 'complete', true, now())",
        "INSERT INTO alerts (rule, resource_namespace, resource_kind, resource_name, severity) \
         VALUES ('down', 'shop', 'Deployment', 'api', 'critical')",
    ] {
        sqlx::query(sql).execute(pool).await.expect(sql);
    }
    store
        .audit(
            "alice",
            "rollback",
            "shop/api",
            serde_json::json!({"to": "abc123"}),
            "ok",
        )
        .await
        .expect("audit");
}

async fn count_as(conn: &mut PgConnection, role: &str, table: &str) -> Result<i64, sqlx::Error> {
    let mut tx = conn.begin().await?;
    tx.execute(sqlx::AssertSqlSafe(format!("SET LOCAL ROLE {role}")))
        .await?;
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut *tx)
        .await;
    tx.rollback().await?;
    n
}

// Protects: on Supabase the Data API roles read and write nothing even when granted table
// privileges (RLS, not grants, denies), while service_role and berth_readonly may read.
#[tokio::test]
async fn supabase_api_roles_see_nothing_and_readers_read() {
    let (store, db) = owner_store().await;
    seed(&store).await;
    let mut conn = admin(&db).await;
    // Supabase grants its API roles everything in `public` by default; so do we, after the
    // migration revoked it, to show that RLS alone still denies.
    conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO anon, authenticated")
        .await
        .expect("grant");
    for role in ["anon", "authenticated"] {
        for table in TABLES {
            let n = count_as(&mut conn, role, table).await.expect("select runs");
            assert_eq!(n, 0, "{role} sees rows of {table}");
        }
        let mut tx = conn.begin().await.expect("begin");
        tx.execute(sqlx::AssertSqlSafe(format!("SET LOCAL ROLE {role}")))
            .await
            .expect("set role");
        let insert = tx
            .execute("INSERT INTO alerts (rule, resource_namespace, resource_kind, resource_name, severity) VALUES ('x', 'n', 'k', 'r', 'info')")
            .await;
        let refused = insert.expect_err("insert is refused").to_string();
        assert!(
            refused.contains("violates row-level security policy"),
            "{role}: {refused}"
        );
        tx.rollback().await.expect("rollback");
    }
    for role in ["service_role", "berth_readonly"] {
        for table in TABLES {
            let n = count_as(&mut conn, role, table).await.expect("select runs");
            assert_eq!(n, 1, "{role} reads {table}");
        }
    }
    // The owner keeps full access outside the audit log.
    let deleted = sqlx::query("DELETE FROM probe_samples")
        .execute(store.pool())
        .await
        .expect("owner deletes samples");
    assert_eq!(deleted.rows_affected(), 1);
    let updated = sqlx::query("UPDATE alerts SET state = 'resolved', resolved_at = now()")
        .execute(store.pool())
        .await
        .expect("owner updates alerts");
    assert_eq!(updated.rows_affected(), 1);
}

fn sqlstate(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>) -> Option<String> {
    result
        .err()
        .and_then(|e| e.into_database_error())
        .and_then(|e| e.code().map(|c| c.into_owned()))
}

// Protects: the audit log is append-only for berth's own (non-superuser) role: UPDATE, DELETE
// and TRUNCATE fail, and with the trigger out of the way RLS alone still hides every row from
// UPDATE and DELETE.
#[tokio::test]
async fn audit_log_is_append_only_for_its_owner() {
    let (store, _db) = owner_store().await;
    let pool = store.pool();
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(pool)
            .await
            .expect("role");
    assert!(
        !superuser && !bypass,
        "the test must run as an RLS-bound role"
    );

    let first = store
        .audit(
            "alice",
            "rollback",
            "shop/api",
            serde_json::json!({"to": "abc"}),
            "ok",
        )
        .await
        .expect("append");
    let second = store
        .audit(
            "bob",
            "acknowledge",
            "alert/7",
            serde_json::json!({}),
            "denied",
        )
        .await
        .expect("append");
    assert!(second > first);

    for sql in [
        "UPDATE audit_log SET outcome = 'forged'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        assert_eq!(
            sqlstate(sqlx::query(sql).execute(pool).await),
            Some("42501".into()),
            "{sql} is refused"
        );
    }

    let mut tx = pool.begin().await.expect("begin");
    tx.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .await
        .expect("the owner may disable its trigger");
    for sql in [
        "UPDATE audit_log SET outcome = 'forged'",
        "DELETE FROM audit_log",
    ] {
        let done = sqlx::query(sql).execute(&mut *tx).await.expect(sql);
        assert_eq!(done.rows_affected(), 0, "RLS hides every row from {sql}");
    }
    tx.rollback().await.expect("rollback");

    let rows = sqlx::query("SELECT actor, outcome, detail FROM audit_log ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("read back");
    let rows: Vec<(String, String, serde_json::Value)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "alice".into(),
                "ok".into(),
                serde_json::json!({"to": "abc"})
            ),
            ("bob".into(), "denied".into(), serde_json::json!({})),
        ]
    );
}

// Protects: the same migrations run on a plain Postgres cluster with none of Supabase's roles,
// as an owner without CREATEROLE (berth_readonly is then skipped, not an error).
#[tokio::test]
async fn migrations_run_on_plain_postgres_without_createrole() {
    let pg = berth::devstack::Postgres::start()
        .await
        .expect("a second, pristine cluster");
    let mut conn = PgConnection::connect(&pg.url("postgres"))
        .await
        .expect("connect");
    let present: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_roles \
         WHERE rolname IN ('anon', 'authenticated', 'service_role', 'berth_readonly')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("roles");
    assert_eq!(present, 0, "the cluster is plain Postgres");
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}' NOCREATEROLE"
    )))
    .await
    .expect("owner");
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE berth OWNER {OWNER}"
    )))
    .await
    .expect("database");

    let store = Store::connect_lazy(&owner_url(pg.port, "berth"), 2).expect("store");
    assert_eq!(
        store.migrate().await.expect("migrations apply"),
        newest_migration_file()
    );
    let readonly: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'berth_readonly')",
    )
    .fetch_one(store.pool())
    .await
    .expect("query");
    assert!(!readonly, "no CREATEROLE, so no berth_readonly");
    let policies: Vec<String> =
        sqlx::query_scalar("SELECT policyname::text FROM pg_policies ORDER BY 1")
            .fetch_all(store.pool())
            .await
            .expect("policies");
    assert_eq!(policies, ["audit_log_owner_append", "audit_log_owner_read"]);
    store.pool().close().await;
}

// Protects: a database that is down makes health answer quickly, say why, and leak no password.
#[tokio::test]
async fn health_of_an_unreachable_database_is_fast_and_redacted() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let password = "hunter2-Secret";
    let store = Store::connect_lazy(
        &format!("postgres://berth:{password}@127.0.0.1:{port}/berth"),
        2,
    )
    .expect("a lazy pool needs no server");

    let started = Instant::now();
    let health = store.health().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(!health.reachable);
    assert_eq!(health.latency_ms, None);
    let error = health.error.clone().expect("an error");
    assert!(error.contains("refused"), "says why: {error}");
    let shown = format!(
        "{health:?} {}",
        serde_json::to_string(&health).expect("json")
    );
    assert!(!shown.contains(password), "{shown}");

    let err = Store::connect_lazy(
        &format!("postgres://berth:{password}@127.0.0.1:notaport/x"),
        1,
    )
    .expect_err("a bad port is rejected");
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    assert!(chain.contains("berth:***@"), "{chain}");
    assert!(!chain.contains(password), "{chain}");
}

// Protects: `redact_url` hides every password, however awkward, wherever it sits in a message,
// and leaves credential-free text alone.
#[test]
fn redaction_never_leaks_the_password() {
    assert_eq!(
        redact_url("failed to connect to postgres://berth:s3cret@db:5432/berth?sslmode=require"),
        "failed to connect to postgres://berth:***@db:5432/berth?sslmode=require"
    );
    for clean in [
        "postgres://berth@db/berth",
        "postgres://db.internal:5432/berth",
        "no url here: user@example.com",
        "",
    ] {
        assert_eq!(redact_url(clean), clean);
    }

    let passwords = [
        "s3cret",
        "p@ss",
        "p:ss",
        "p/ss",
        "p?ss#x",
        "p%40ss",
        "with space",
        "trailing@",
        "@lead",
        "://odd",
        "ünïcødé",
    ];
    let templates = [
        "{url}",
        "failed to connect to {url}: connection refused",
        "two: {url} and {url}",
        "{url} (user bob@example.com)",
        "postgres://db:5432/x, then {url}",
    ];
    for password in passwords {
        for scheme in ["postgres", "postgresql"] {
            let url = format!("{scheme}://berth:{password}@db.internal:5432/berth");
            for template in templates {
                let text = template.replace("{url}", &url);
                let out = redact_url(&text);
                assert!(!out.contains(password), "{text:?} -> {out:?}");
                assert!(out.contains("***"), "{text:?} -> {out:?}");
            }
        }
    }
}
