//! Monitoring end to end: a real `berth controller` probing a real HTTP server that degrades on
//! cue, samples and rollups in a real Postgres, reports through the admin API behind the real
//! API server's RBAC; and the rollup maths against Postgres on a fixed clock.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::Request, http::StatusCode};
use berth::{
    monitoring::{ErrorKind, Sample, ingest, report, rollup, seed},
    store::{LATENCY_BUCKETS_MS, Store},
};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode as Status;
use serde_json::Value;
use sqlx::PgPool;

use crate::{
    deployment_rollout::{estate, sandbox},
    support::{self, ControllerProcess, apply, eventually, kubectl},
};

/// What the degrading server answered to one probe.
#[derive(Clone, Copy, Debug)]
struct Answer {
    status: u16,
    delay: Duration,
}

#[derive(Default)]
struct Served {
    /// How many probes were answered before the server degraded.
    degraded_after: Option<usize>,
    probes: Vec<Answer>,
}

/// Answers berth's monitoring probes (by their User-Agent) healthy and fast, or, once
/// degraded, with a 500 for every fourth probe and 300 ms late for the next one; anything else
/// (the Deployment's release check) always gets a quick 200.
async fn degrading(served: Arc<Mutex<Served>>, req: Request) -> StatusCode {
    let probe = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("berth-probe/"));
    if !probe {
        return StatusCode::OK;
    }
    let answer = {
        let mut s = served.lock().unwrap();
        let degraded = s.degraded_after.map(|before| s.probes.len() - before);
        let answer = match degraded.map(|n| n % 4) {
            Some(0) => Answer {
                status: 500,
                delay: Duration::ZERO,
            },
            Some(1) => Answer {
                status: 200,
                delay: Duration::from_millis(300),
            },
            _ => Answer {
                status: 200,
                delay: Duration::ZERO,
            },
        };
        s.probes.push(answer);
        answer
    };
    tokio::time::sleep(answer.delay).await;
    StatusCode::from_u16(answer.status).unwrap()
}

/// Serves `app` from a runtime of its own, so a test blocking its thread cannot slow it.
fn serve_apart(app: Router) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

async fn pool(url: &str) -> PgPool {
    let store = Store::connect_lazy(url, 4).unwrap();
    store.migrate().await.unwrap();
    store.pool().clone()
}

fn minute_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    rollup::Resolution::Minute.floor(t)
}

// Protects: the controller probes a Ready Deployment on its own (no extra wiring), at its
// health-check interval, through `--health-check-via`; every probe lands in Postgres; after a
// rollup the admin API reports exactly the uptime the server was made to have, and latency
// quantiles in the buckets of what it served (fast answers at p50, the 300 ms ones at p95/p99);
// `/metrics` counts the outcomes and `/health/jobs` lists the jobs.
#[tokio::test]
async fn probes_report_the_uptime_and_latency_a_degrading_server_served() {
    let client = support::client().await;
    let ns = support::namespace(&client, "monitoring-probes").await;
    let started = Utc::now();
    let sb = sandbox(Duration::from_millis(100)).await;
    let db = support::database("monitoring").await;
    let served = Arc::new(Mutex::new(Served::default()));
    let app = {
        let served = served.clone();
        Router::new().fallback(move |req: Request| degrading(served.clone(), req))
    };
    let via = format!("http://{}", serve_apart(app));
    let c = ControllerProcess::start_with_env(
        &ns,
        Some(db.clone()),
        vec![("BERTH_HEALTH_CHECK_VIA", via)],
    );
    c.wait_ready().await;
    apply(&ns, &estate(&sb, "1111111aaaa"));

    let probes = || served.lock().unwrap().probes.len();
    eventually(Duration::from_secs(90), "8 healthy probes", || async {
        (probes() >= 8).then_some(())
    })
    .await;
    let healthy = {
        let mut s = served.lock().unwrap();
        s.degraded_after = Some(s.probes.len());
        s.probes.len()
    };
    eventually(Duration::from_secs(60), "12 degraded probes", || async {
        (probes() >= healthy + 12).then_some(())
    })
    .await;
    // Gone from the caches, the Deployment is no longer probed; its history stays.
    let (ok, _, err) = kubectl(
        &[
            "delete",
            "-n",
            &ns,
            "deployment.berth.dev/web",
            "--wait=true",
        ],
        None,
    );
    assert!(ok, "{err}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let answers = served.lock().unwrap().probes.clone();
    let failures = answers.iter().filter(|a| a.status != 200).count();
    let slow = answers
        .iter()
        .filter(|a| a.delay >= Duration::from_millis(300))
        .count();
    assert!(failures >= 3 && slow >= 3, "{answers:?}");

    let target = format!("{ns}/Deployment/web");
    let metrics = c.get("/metrics").await.unwrap().1;
    assert!(
        metrics.contains(&format!(
            "berth_probe_results_total{{target=\"{target}\",outcome=\"status\"}} {failures}"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("berth_reconcile_queue_depth{kind=\"Deployment\"}"));
    let jobs = c.get("/health/jobs").await.unwrap().1;
    assert!(
        jobs.contains("\"probes\"") && jobs.contains("\"probe-rollups\""),
        "{jobs}"
    );

    let pool = pool(&db).await;
    rollup::run(&pool, Utc::now()).await.unwrap();
    let from = minute_floor(started).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (minute_floor(Utc::now()) + TimeDelta::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let admin = support::stack().plane.admin().token.clone();
    let query = format!("namespace={ns}&from={from}&to={to}");
    let (status, up) = c
        .api_get(
            &format!("/api/admin/monitoring/uptime?{query}"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, Status::OK, "{up}");
    assert_eq!(
        (up["from"].as_str(), up["to"].as_str()),
        (Some(&*from), Some(&*to)),
        "{up}"
    );
    let item = &up["items"][0];
    assert_eq!(item["target"], target.as_str(), "{up}");
    assert_eq!(
        (
            item["namespace"].as_str(),
            item["kind"].as_str(),
            item["name"].as_str()
        ),
        (Some(ns.as_str()), Some("Deployment"), Some("web"))
    );
    assert_eq!(item["samples"], answers.len(), "{up}");
    assert_eq!(item["failures"], failures, "{up}");
    #[allow(clippy::cast_precision_loss)]
    let want = (answers.len() - failures) as f64 * 100.0 / answers.len() as f64;
    assert!(
        (item["uptimePercent"].as_f64().unwrap() - want).abs() < 1e-9,
        "{up}"
    );

    let (status, perf) = c
        .api_get(
            &format!("/api/admin/monitoring/performance?{query}"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, Status::OK, "{perf}");
    let p = &perf["items"][0];
    assert_eq!(p["samples"], answers.len(), "{perf}");
    let ms = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("{k} in {perf}"));
    // The slow answers are more than 5 % of all: p95 and p99 fall in their bucket (250, 500];
    // most answers are loopback-fast, well under 25 ms.
    assert!(slow * 20 > answers.len(), "{answers:?}");
    assert!(ms("p50Ms") <= 25.0, "{perf}");
    for q in ["p95Ms", "p99Ms"] {
        assert!(ms(q) > 250.0 && ms(q) <= 500.0, "{q}: {perf}");
    }
    assert!(ms("meanMs") > 0.0);
}

/// Samples of `target` at `at`, one a `step`, with a pattern of failures and latencies.
fn pattern(target: &str, from: DateTime<Utc>, n: i64, step: TimeDelta) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let latency = [3.0, 10.0, 17.5, 60.0, 260.0, 900.0, 12_000.0][(i % 7) as usize];
            let ok = i % 11 != 0;
            Sample {
                target: target.into(),
                at: from + step * i32::try_from(i).unwrap(),
                status_code: ok.then_some(200),
                latency_ms: latency,
                tls_ms: Some(1.5),
                error_kind: (!ok).then_some(ErrorKind::Timeout),
                ok,
            }
        })
        .collect()
}

/// The totals of the samples whose minute starts in [from, to), computed directly.
fn direct(samples: &[Sample], from: DateTime<Utc>, to: DateTime<Utc>) -> (i64, i64, Vec<i64>) {
    let (lo, hi) = (
        rollup::Resolution::Minute.ceil(from),
        rollup::Resolution::Minute.ceil(to),
    );
    let mut hist = vec![0i64; LATENCY_BUCKETS_MS.len() + 1];
    let (mut n, mut f) = (0, 0);
    for s in samples
        .iter()
        .filter(|s| minute_floor(s.at) >= lo && minute_floor(s.at) < hi)
    {
        n += 1;
        f += i64::from(!s.ok);
        let i = LATENCY_BUCKETS_MS
            .iter()
            .position(|b| s.latency_ms <= *b)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        hist[i] += 1;
    }
    (n, f, hist)
}

// Protects: rollups are exact: every hour is the sum of its minutes and every day of its
// hours; a report over any window (aligned or not, across day edges) equals the samples whose
// minute starts inside it; a second pass and late samples within the look-back keep that
// true; retention prunes samples after 7 days, minute rollups after 35 (reports then answer
// over whole hours at edges older than that, still exactly) and the rest after 400.
#[tokio::test]
async fn rollups_sum_exactly_and_reports_are_exact_at_bucket_edges() {
    let pool = pool(&support::database("monitoring").await).await;
    let start: DateTime<Utc> = "2026-01-10T21:17:00Z".parse().unwrap();
    let mut samples = pattern("ns/Deployment/a", start, 2000, TimeDelta::seconds(97));
    samples.extend(pattern(
        "ns/Domain/b",
        start + TimeDelta::minutes(3),
        900,
        TimeDelta::seconds(211),
    ));
    let end = samples.iter().map(|s| s.at).max().unwrap() + TimeDelta::seconds(1);
    // A first pass five minutes before the end, with the last eight minutes not written yet:
    // three of them arrive late, for minutes that were already rolled up.
    let (early, late): (Vec<Sample>, Vec<Sample>) = samples
        .iter()
        .cloned()
        .partition(|s| s.at < end - TimeDelta::minutes(8));
    assert!(!late.is_empty());
    ingest::copy(&pool, &early).await.unwrap();
    rollup::run(&pool, end - TimeDelta::minutes(5))
        .await
        .unwrap();
    ingest::insert(&pool, &late).await.unwrap();
    rollup::run(&pool, end).await.unwrap();
    rollup::run(&pool, end).await.unwrap();

    for (coarse, fine) in [("hour", "minute"), ("day", "hour")] {
        let mismatches: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM probe_rollups c JOIN LATERAL ( \
                 SELECT sum(count) n, sum(failures) f, sum(latency_sum_ms) s \
                 FROM probe_rollups m WHERE m.target = c.target AND m.resolution = '{fine}' \
                   AND date_trunc('{coarse}', m.bucket_start AT TIME ZONE 'UTC') = c.bucket_start AT TIME ZONE 'UTC' \
             ) x ON true \
             WHERE c.resolution = '{coarse}' AND (x.n IS DISTINCT FROM c.count OR x.f IS DISTINCT FROM c.failures \
                   OR abs(x.s - c.latency_sum_ms) > 1e-6)"
        )))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            mismatches, 0,
            "{coarse} rows differ from the sum of their {fine}s"
        );
    }
    let days: i64 =
        sqlx::query_scalar("SELECT count(*) FROM probe_rollups WHERE resolution = 'day'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(days >= 5, "the samples span several days: {days}");

    let targets = vec!["ns/Deployment/a".to_string(), "ns/Domain/b".to_string()];
    let mut windows = vec![
        (start, end),
        (
            "2026-01-11T00:00:00Z".parse().unwrap(),
            "2026-01-12T00:00:00Z".parse().unwrap(),
        ),
        (
            "2026-01-11T23:59:00Z".parse().unwrap(),
            "2026-01-13T00:01:00Z".parse().unwrap(),
        ),
    ];
    // Pseudo-random windows, some with odd seconds at the edges.
    let span = (end - start).num_seconds();
    for k in 0..25i64 {
        let a = (k * 7919 * 37) % span;
        let len = (k * 104_729) % (span - a) + 1;
        windows.push((
            start + TimeDelta::seconds(a),
            start + TimeDelta::seconds(a + len),
        ));
    }
    // Every minute is kept: each window is answered as asked.
    let kept_since = start - TimeDelta::days(1);
    assert_eq!(
        reports_match(&pool, &targets, &samples, &windows, kept_since).await,
        0
    );

    // Retention: samples after 7 days, minute rollups after 35, hour and day rollups after
    // 400, nothing sooner.
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let retention = rollup::Retention::default();
    let before = count("SELECT count(*) FROM probe_samples").await;
    let p = rollup::prune(&pool, start + TimeDelta::days(6), &retention)
        .await
        .unwrap();
    assert_eq!((p.samples, p.rollups), (0, 0));
    let p = rollup::prune(&pool, end + TimeDelta::days(7), &retention)
        .await
        .unwrap();
    assert_eq!(p.samples, u64::try_from(before).unwrap());
    assert_eq!(p.rollups, 0, "rollups outlive samples");
    let minutes = count("SELECT count(*) FROM probe_rollups WHERE resolution = 'minute'").await;
    let coarse = count("SELECT count(*) FROM probe_rollups WHERE resolution <> 'minute'").await;
    let p = rollup::prune(&pool, start + TimeDelta::days(35), &retention)
        .await
        .unwrap();
    assert_eq!(p.rollups, 0, "minutes are kept 35 days");
    // Minute rows go after 35 days, hours and days stay: the same windows are answered over
    // whole hours at their edges, still exactly.
    let now = end + TimeDelta::days(36);
    let p = rollup::prune(&pool, now, &retention).await.unwrap();
    assert_eq!(p.rollups, u64::try_from(minutes).unwrap());
    assert_eq!(
        count("SELECT count(*) FROM probe_rollups WHERE resolution <> 'minute'").await,
        coarse
    );
    let widened = reports_match(
        &pool,
        &targets,
        &samples,
        &windows,
        retention.minutes_since(now),
    )
    .await;
    assert!(widened > 20, "only {widened} windows were moved to hours");
    let p = rollup::prune(&pool, end + TimeDelta::days(401), &retention)
        .await
        .unwrap();
    assert!(p.rollups > 0);
    assert_eq!(count("SELECT count(*) FROM probe_rollups").await, 0);
}

// Protects: a prune with far more to delete than one batch (the first after minute rows
// have piled up) deletes all of it and only it, and counts it.
#[tokio::test]
async fn a_large_prune_deletes_everything_due_in_batches() {
    let pool = pool(&support::database("monitoring").await).await;
    let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    // 130,000 minute rows (90 days) from 120 days ago on, and 2,000 hour rows.
    for (resolution, step, rows) in [("minute", "1 minute", 130_000), ("hour", "1 hour", 2_000)] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
                 latency_histogram, latency_sum_ms, latency_min_ms, latency_max_ms) \
             SELECT 'ns/Deployment/a', '{resolution}', $1 + i * interval '{step}', 2, 0, \
                 ARRAY[2,0,0,0,0,0,0,0,0,0,0], 10, 5, 5 \
             FROM generate_series(0, {rows} - 1) AS i"
        )))
        .bind(now - TimeDelta::days(120))
        .execute(&pool)
        .await
        .unwrap();
    }
    let p = rollup::prune(&pool, now, &rollup::Retention::default())
        .await
        .unwrap();
    // Minutes starting before now - 35 days - 1 minute go: 85 days' worth, less one.
    let due = 85 * 24 * 60 - 1;
    assert_eq!(p.rollups, due);
    let left: Vec<(String, i64)> = sqlx::query_as(
        "SELECT resolution, count(*) FROM probe_rollups GROUP BY resolution ORDER BY resolution",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        left,
        [
            ("hour".to_string(), 2_000),
            ("minute".to_string(), 130_000 - i64::try_from(due).unwrap())
        ]
    );
}

/// Checks that the report over each window, as [`report::answerable`] makes it with minute
/// rollups kept from `minutes_since`, has exactly the samples whose minute starts in that
/// window; how many windows it moved.
async fn reports_match(
    pool: &PgPool,
    targets: &[String],
    samples: &[Sample],
    windows: &[(DateTime<Utc>, DateTime<Utc>)],
    minutes_since: DateTime<Utc>,
) -> usize {
    let mut moved = 0;
    for &asked in windows {
        let (from, to) = report::answerable(asked.0, asked.1, minutes_since);
        moved += usize::from((from, to) != asked);
        let got = report::summarize(pool, targets, from, to).await.unwrap();
        for t in targets {
            let mine: Vec<Sample> = samples.iter().filter(|s| &s.target == t).cloned().collect();
            let (n, f, hist) = direct(&mine, from, to);
            let row = got.iter().find(|s| &s.target == t);
            match row {
                None => assert_eq!(n, 0, "{t} over {from}..{to}"),
                Some(s) => assert_eq!(
                    (s.samples, s.failures, &s.histogram),
                    (n, f, &hist),
                    "{t} over {from}..{to} (asked {asked:?})"
                ),
            }
        }
    }
    moved
}

// Protects: the uptime and performance endpoints answer 401 without a valid token, 403 when
// the caller may not list deployments (or, for Domain rows, domains) in the namespace asked
// for, 400 naming a bad parameter; without a namespace each caller sees only the rows their
// RBAC allows; pages follow nextCursor to the end; seeded history is reported.
#[tokio::test]
async fn monitoring_api_is_authenticated_and_shows_only_what_the_caller_may_see() {
    let client = support::client().await;
    let a = support::namespace(&client, "monitoring-api-a").await;
    let b = support::namespace(&client, "monitoring-api-b").await;
    let db = support::database("monitoring").await;
    let pool = pool(&db).await;
    let now = Utc::now();
    let since = now - TimeDelta::hours(2);
    let mut samples = pattern(
        &format!("{a}/Deployment/api"),
        since,
        60,
        TimeDelta::minutes(1),
    );
    samples.extend(pattern(
        &format!("{a}/Domain/app"),
        since,
        30,
        TimeDelta::minutes(2),
    ));
    samples.extend(pattern(
        &format!("{b}/Deployment/api"),
        since,
        10,
        TimeDelta::minutes(5),
    ));
    ingest::insert(&pool, &samples).await.unwrap();
    rollup::run(&pool, now).await.unwrap();

    let c = ControllerProcess::start(&a, Some(db));
    c.wait_ready().await;
    let rbac = |user: &str, ns: &str, resources: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: {user}-monitoring, namespace: {ns}}}\nrules:\n- apiGroups: [berth.dev]\n  resources: [{resources}]\n  verbs: [list]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: {user}-monitoring, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {user}-monitoring}}\nsubjects:\n- {{kind: User, name: {user}, apiGroup: rbac.authorization.k8s.io}}\n"
        )
    };
    apply(&a, &rbac("alice", &a, "deployments"));
    apply(&a, &rbac("bob", &a, "deployments, domains"));

    let up = "/api/admin/monitoring/uptime";
    let (s, body) = c.api_get(up, None).await;
    assert_eq!(s, Status::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["reason"], "Unauthorized");
    let (s, _) = c
        .api_get("/api/admin/monitoring/performance", Some("forged"))
        .await;
    assert_eq!(s, Status::UNAUTHORIZED);

    let (alice, bob, carol) = (
        support::token("alice"),
        support::token("bob"),
        support::token("carol"),
    );
    let (s, body) = c
        .api_get(&format!("{up}?namespace={a}"), Some(&carol))
        .await;
    assert_eq!(s, Status::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("list deployments.berth.dev")
    );
    let (s, body) = c
        .api_get(&format!("{up}?namespace={a}&kind=Domain"), Some(&alice))
        .await;
    assert_eq!(s, Status::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("domains")
    );
    for (q, param) in [
        ("window=5m", "window"),
        ("limit=0", "limit"),
        ("name=api", "namespace"),
        (
            "window=1h&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
            "window",
        ),
        ("cursor=%25%25", "cursor"),
        ("colour=blue", "colour"),
    ] {
        let (s, body) = c.api_get(&format!("{up}?{q}"), Some(&alice)).await;
        assert_eq!(s, Status::BAD_REQUEST, "{q}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(param),
            "{q}: {body}"
        );
    }
    // Edges older than the kept minute rollups (35 days by default) are answered over their
    // whole hours, and the page says which window it covers.
    let (s, body) = c
        .api_get(
            &format!("{up}?namespace={a}&from=2026-01-05T10:17:00Z&to=2026-01-06T08:05:30Z"),
            Some(&alice),
        )
        .await;
    assert_eq!(s, Status::OK, "{body}");
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("2026-01-05T10:00:00Z"), Some("2026-01-06T09:00:00Z")),
        "{body}"
    );

    let names = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["target"].as_str().unwrap().to_string())
            .collect()
    };
    // RBAC decides the rows; the permission reviews go through the real API server.
    let (s, body) = eventually(Duration::from_secs(10), "alice's RBAC applies", || {
        let (c, t) = (&c, alice.clone());
        async move {
            let got = c.api_get(up, Some(&t)).await;
            (got.0 == Status::OK && !got.1["items"].as_array()?.is_empty()).then_some(got)
        }
    })
    .await;
    assert_eq!(s, Status::OK);
    assert_eq!(names(&body), vec![format!("{a}/Deployment/api")]);
    let item = &body["items"][0];
    assert_eq!(item["samples"], 60, "{body}");
    assert_eq!(item["failures"], 6, "{body}");
    let (_, body) = c.api_get(up, Some(&bob)).await;
    assert_eq!(
        names(&body),
        vec![format!("{a}/Deployment/api"), format!("{a}/Domain/app")]
    );
    let (_, body) = c.api_get(up, Some(&carol)).await;
    assert!(names(&body).is_empty(), "{body}");

    // The admin sees every row, one a page, to the end.
    let admin = support::stack().plane.admin().token.clone();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let path = match &cursor {
            Some(c) => format!("{up}?window=24h&limit=1&cursor={c}"),
            None => format!("{up}?window=24h&limit=1"),
        };
        let (s, body) = c.api_get(&path, Some(&admin)).await;
        assert_eq!(s, Status::OK, "{body}");
        seen.extend(names(&body));
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let mut want = vec![
        format!("{a}/Deployment/api"),
        format!("{a}/Domain/app"),
        format!("{b}/Deployment/api"),
    ];
    want.sort();
    assert_eq!(seen, want);

    let (s, body) = c
        .api_get(
            &format!("/api/admin/monitoring/performance?namespace={b}&name=api&window=24h"),
            Some(&admin),
        )
        .await;
    assert_eq!(s, Status::OK, "{body}");
    let p = &body["items"][0];
    assert_eq!(p["kind"], "Deployment");
    assert!(p["samples"].as_i64().unwrap() > 0, "{body}");
    assert!(p["p99Ms"].as_f64().unwrap() >= p["p50Ms"].as_f64().unwrap());

    // Seeded history (the load bench's data) is reported like probed history.
    seed::rollups(&pool, 20, 2).await.unwrap();
    let (s, body) = c
        .api_get(
            "/api/admin/monitoring/uptime?namespace=bench-3&window=7d",
            Some(&admin),
        )
        .await;
    assert_eq!(s, Status::OK, "{body}");
    assert_eq!(names(&body), vec![seed::target(3), seed::target(13)]);
    assert!(body["items"][0]["samples"].as_i64().unwrap() > 2 * 24 * 100);
}
