//! The admin API under load: a real kube-apiserver + etcd and Postgres (started here), a live
//! estate of N Deployments (default 1000; on Vercel in the sandbox, in 10 Environments, all
//! converged by the controller before the runs, so status answers carry live releases), 30
//! days of probe rollups for each of them (hour rows for 30 days, minute rows for the last 6
//! hours, day rows; seeded with `generate_series`), a few thousand alerts, and a `berth
//! controller` process (which meanwhile probes every Deployment every 30 s and runs the alert
//! evaluation every 30 s over all of it). `wrk` (Debian's `wrk` package) drives each endpoint
//! with 500 connections; p50/p99 latency, throughput and the answer's size are printed.
//! Last, the largest plain answer is served by a bare server in this process, which does
//! nothing but write those bytes: the floor this machine sets for an answer of that size.
//!
//! `scripts/bench-admin` installs `wrk` and the control plane binaries and runs this;
//! `BERTH_BENCH_SERVICES`, `BERTH_BENCH_CONNECTIONS` and `BERTH_BENCH_SECONDS` shrink it,
//! `BERTH_BENCH_ONLY=status,uptime` runs only the endpoints whose label contains one of the
//! words (to re-run a few on a loaded machine), and `BERTH_BENCH_HOLD=1` keeps the stack up
//! after the runs, printing its address and token (for `curl`, `perf`, a profiler).

use std::{
    process::Command,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use berth::{
    devstack::{ControlPlane, Postgres, free_port},
    store::Store,
};
use bytes::Bytes;
use kube::{Api, api::PostParams};
use serde_json::json;
use support::{controller_log, env_or, estate::Estate, metric_by, spawn_controller, wait_ready};

#[path = "support/mod.rs"]
mod support;

/// The endpoints measured: (label, path and query, whether the client accepts gzip).
const ENDPOINTS: &[(&str, &str, bool)] = &[
    (
        "alerts (firing, 100)",
        "/api/admin/alerts?state=firing&limit=100",
        false,
    ),
    (
        "alerts (one namespace)",
        "/api/admin/alerts?namespace=bench&limit=50",
        false,
    ),
    (
        "deployment status (one namespace)",
        "/api/admin/deployment/status?namespace=bench",
        false,
    ),
    (
        "deployment status (limit=1000)",
        "/api/admin/deployment/status?namespace=bench&limit=1000",
        false,
    ),
    (
        "deployment status (limit=1000, gzip)",
        "/api/admin/deployment/status?namespace=bench&limit=1000",
        true,
    ),
    (
        "uptime (one namespace, 30d)",
        "/api/admin/monitoring/uptime?namespace=bench&window=30d&limit=100",
        false,
    ),
    (
        "performance (one namespace, 24h)",
        "/api/admin/monitoring/performance?namespace=bench&window=24h&limit=100",
        false,
    ),
    ("openapi.json", "/api/admin/openapi.json", false),
];

const NAMESPACE: &str = "bench";

/// The endpoint whose plain answer is also served by a bare server, for comparison.
const FLOOR_OF: &str = "deployment status (limit=1000)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let services = env_or("BERTH_BENCH_SERVICES", 1000);
    let connections = env_or("BERTH_BENCH_CONNECTIONS", 500);
    let seconds = env_or("BERTH_BENCH_SECONDS", 20);
    let only = std::env::var("BERTH_BENCH_ONLY").unwrap_or_default();
    let chosen = |label: &str| {
        only.is_empty()
            || only
                .split(',')
                .any(|w| !w.trim().is_empty() && label.contains(w.trim()))
    };
    anyhow::ensure!(
        Command::new("wrk").arg("--version").output().is_ok(),
        "wrk is not installed: run scripts/bench-admin (or apt-get install wrk)"
    );

    let (plane, postgres) = tokio::join!(ControlPlane::start(), Postgres::start());
    let (plane, postgres) = (plane?, postgres?);
    let client = plane.client().await?;
    berth::crdgen::install(&client, Duration::from_secs(60)).await?;
    let ns = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}}))?;
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;

    let estate = Estate {
        namespace: NAMESPACE,
        environments: 10,
        variables: 5,
        deployments: usize::try_from(services)?,
        health_check: json!({}),
    };
    let sb = estate.sandbox().await?;

    let url = database(&postgres).await?;
    let store = Store::connect_lazy(&url, 4)?;
    store.migrate().await?;
    let started = Instant::now();
    seed(&store, services).await?;
    println!(
        "rollups (30 days) and alerts for {services} services seeded in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let port = free_port()?;
    let controller = spawn_controller(
        &plane,
        "bench-admin",
        port,
        &[
            ("BERTH_DATABASE_URL", url.clone()),
            ("POD_NAMESPACE", NAMESPACE.to_string()),
            ("BERTH_HEALTH_CHECK_VIA", sb.apps_url().to_string()),
            // One Vercel team holds the whole estate; a higher budget converges it sooner.
            ("BERTH_PROVIDER_RATE", "200".to_string()),
        ],
    )?;
    wait_ready(port, Duration::from_secs(120)).await?;
    let started = Instant::now();
    estate.create(&client, &sb).await?;
    let converged = estate
        .converge(
            &client,
            started,
            &controller_log(&plane, "bench-admin", port),
            || {},
        )
        .await?;
    println!(
        "{services} Deployments in 10 Environments live after {:.1}s",
        converged.as_secs_f64()
    );
    // Live is not yet quiet: the last releases' verifications and first probes still write
    // status. The API is measured in steady state, as it is used.
    let quiet = settle(port, Duration::from_secs(10), Duration::from_secs(180)).await?;
    println!(
        "controller quiet (no reconcile for 10s) after another {:.1}s",
        quiet.as_secs_f64()
    );
    let token = plane.admin().token.clone();

    println!(
        "\n{connections} connections, {seconds}s per endpoint, {} cores",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!(
        "{:<36} {:>8} {:>10} {:>10} {:>12} {:>8}",
        "endpoint", "KiB", "p50 ms", "p99 ms", "req/s", "non-2xx"
    );
    let row = |label: &str, body: &Bytes, r: &WrkResult| {
        println!(
            "{label:<36} {:>8.1} {:>10.1} {:>10.1} {:>12.0} {:>8}",
            body.len() as f64 / 1024.0,
            r.p50_ms,
            r.p99_ms,
            r.rps,
            r.non_2xx
        );
    };
    let mut floor = None;
    for (label, path, gzip) in ENDPOINTS.iter().filter(|(label, ..)| chosen(label)) {
        let url = format!("http://127.0.0.1:{port}{path}");
        let body = answer(&url, &token, *gzip).await?;
        // A short warm-up fills the permission caches and the connection pool.
        wrk(&url, &token, *gzip, 50, 2)?;
        let r = wrk(&url, &token, *gzip, connections, seconds)?;
        row(label, &body, &r);
        if *label == FLOOR_OF {
            floor = Some(body);
        }
    }
    if let Some(body) = floor {
        let url = bare_server(body.clone()).await?;
        wrk(&url, &token, false, 50, 2)?;
        let r = wrk(&url, &token, false, connections, seconds)?;
        row("  the same bytes, bare server", &body, &r);
    }
    if env_or("BERTH_BENCH_HOLD", 0) == 1 {
        let token_file = plane.dir.join("bench-token");
        std::fs::write(&token_file, &token)?;
        println!(
            "\nholding: http://127.0.0.1:{port} (controller pid {}), token in {}; Ctrl-C ends",
            controller.pid().unwrap_or_default(),
            token_file.display()
        );
        tokio::signal::ctrl_c().await?;
    }
    controller.stop();
    Ok(())
}

/// Waits until the controller on `port` has run no reconcile for `quiet` (at most `limit`);
/// how long that took.
async fn settle(port: u16, quiet: Duration, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let reconciles = || async {
        anyhow::Ok(
            metric_by(port, "berth_reconcile_total", &[])
                .await?
                .values()
                .sum::<f64>(),
        )
    };
    let (mut last, mut since) = (reconciles().await?, Instant::now());
    while since.elapsed() < quiet {
        anyhow::ensure!(started.elapsed() < limit, "the controller never went quiet");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = reconciles().await?;
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
    Ok(started.elapsed())
}

/// The body `url` answers (compressed when `gzip`: this client does not decode it).
async fn answer(url: &str, token: &str, gzip: bool) -> anyhow::Result<Bytes> {
    let mut request = reqwest::Client::new().get(url).bearer_auth(token);
    if gzip {
        request = request.header("Accept-Encoding", "gzip");
    }
    let response = request.send().await?.error_for_status()?;
    Ok(response.bytes().await?)
}

/// A server on a free loopback port that answers every request with `body` as JSON and does
/// nothing else (no routing, no authentication, no view); its URL.
async fn bare_server(body: Bytes) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([("content-type", "application/json")], body) }
    });
    // As the admin server does (see `run.rs`).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

async fn database(postgres: &Postgres) -> anyhow::Result<String> {
    use sqlx::{Connection as _, Executor as _};
    sqlx::PgConnection::connect(&postgres.url("postgres"))
        .await?
        .execute("CREATE DATABASE bench")
        .await?;
    Ok(postgres.url("bench"))
}

/// 30 days of hour rows, the last 6 hours of minute rows and 30 day rows per service (a few
/// services with a recent outage so alerts fire), and a history of resolved alerts.
async fn seed(store: &Store, services: u64) -> anyhow::Result<()> {
    let services = i64::try_from(services)?;
    for (resolution, step, span) in [
        ("hour", "1 hour", "30 days"),
        ("minute", "1 minute", "6 hours"),
        ("day", "1 day", "30 days"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
                                        latency_histogram, latency_sum_ms, latency_min_ms, latency_max_ms) \
             SELECT format('{NAMESPACE}/Deployment/svc-%s', lpad(s::text, 4, '0')), '{resolution}', t, \
                    c, CASE WHEN s % 50 = 0 AND t > now() - interval '20 minutes' THEN c ELSE c / 500 END, \
                    ARRAY[0, 0, c / 2, c / 4, c / 8, c / 16, c / 32, 0, 0, 0, c - c / 2 - c / 4 - c / 8 - c / 16 - c / 32], \
                    c * 80.0, 12, 4000 \
             FROM generate_series(0, $1 - 1) AS s, \
                  generate_series(date_trunc('{resolution}', now() - interval '{span}', 'UTC'), now(), interval '{step}') AS t, \
                  LATERAL (SELECT (extract(epoch FROM interval '{step}') / 30)::bigint AS c) AS k"
        )))
        .bind(services)
        .execute(store.pool())
        .await
        .with_context(|| format!("seeding {resolution} rollups"))?;
    }
    sqlx::query(
        "INSERT INTO alerts (rule, resource_namespace, resource_kind, resource_name, severity, \
                             state, fired_at, resolved_at, message) \
         SELECT 'deployment-rolled-back', $1, 'Deployment', format('svc-%s', lpad((i % $2)::text, 4, '0')), \
                'warning', 'resolved', now() - i * interval '1 minute', now() - i * interval '1 minute' + interval '5 minutes', \
                'rolled back from bad to good (HealthCheckFailed)' \
         FROM generate_series(1, 5000) AS i",
    )
    .bind(NAMESPACE)
    .bind(services)
    .execute(store.pool())
    .await
    .context("seeding alerts")?;
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    Ok(())
}

struct WrkResult {
    p50_ms: f64,
    p99_ms: f64,
    rps: f64,
    non_2xx: u64,
}

/// Runs wrk (asking for gzip when `gzip`) and reads its `--latency` report.
fn wrk(
    url: &str,
    token: &str,
    gzip: bool,
    connections: u64,
    seconds: u64,
) -> anyhow::Result<WrkResult> {
    let mut wrk = Command::new("wrk");
    if gzip {
        wrk.args(["-H", "Accept-Encoding: gzip"]);
    }
    let out = wrk
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--timeout",
            "10s",
            "--latency",
            "-H",
            &format!("Authorization: Bearer {token}"),
            url,
        ])
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.status.success(), "wrk failed: {text}");
    let field = |prefix: &str| -> Option<&str> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    let p50 = field("50%").and_then(ms).context("no p50 in wrk output")?;
    let p99 = field("99%").and_then(ms).context("no p99 in wrk output")?;
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .context("no Requests/sec in wrk output")?;
    let non_2xx = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(WrkResult {
        p50_ms: p50,
        p99_ms: p99,
        rps,
        non_2xx,
    })
}

/// `1.23ms`, `450.00us`, `1.02s` as milliseconds.
fn ms(v: &str) -> Option<f64> {
    let (n, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    n.parse::<f64>().ok().map(|x| x * factor)
}
