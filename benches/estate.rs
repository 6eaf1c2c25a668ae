//! An estate at scale against the sandbox and a real kube-apiserver + etcd (started here), with
//! a real `berth controller` process:
//! 1. convergence: E Environments × V variables (Vercel, a fifth from a Secret) and D
//!    Deployments (one Vercel project each) applied at once; time until every Environment is
//!    Ready and every Deployment Live (goal ≤ 60 s for 100 × 50 and 1,000), and peak RSS;
//! 2. steady state: provider calls for a while after convergence, from the sandbox's request
//!    tally and the controller's `berth_provider_requests_total` by operation (goal: no
//!    writes; reads per resource per resync);
//! 3. apply → deploy: a new commit patched onto one Deployment at a time, timed until the
//!    sandbox has the deployment of that commit (goal p95 ≤ 500 ms).
//!
//! `cargo bench --bench estate`. Sizes: `BERTH_BENCH_ENVIRONMENTS` (100), `BERTH_BENCH_VARIABLES`
//! (50), `BERTH_BENCH_DEPLOYMENTS` (1000); `BERTH_BENCH_STEADY_SECONDS` (60),
//! `BERTH_BENCH_RESYNC_SECONDS` (30), `BERTH_BENCH_LATENCY_SAMPLES` (40),
//! `BERTH_BENCH_PROVIDER_RATE` (requests/s per provider account; default 10 as in production —
//! all of the estate shares one Vercel team here, so that budget bounds convergence);
//! `BERTH_CONCURRENCY` is passed on to the controller.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use berth::{
    api::Deployment,
    devstack::{ControlPlane, free_port},
    providers::{
        deploys::Deploys,
        http::{BudgetConfig, HttpMetrics, ProviderHttp, Secret},
        vercel::VercelClient,
    },
    sandbox::SandboxHandle,
};
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use support::{
    controller_log, env_or,
    estate::{Estate, deployment_name},
    memory_mib, metric_by, spawn_controller, wait_ready,
};

#[path = "support/mod.rs"]
mod support;

const NS: &str = "bench-estate";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let envs = env_or("BERTH_BENCH_ENVIRONMENTS", 100) as usize;
    let vars = env_or("BERTH_BENCH_VARIABLES", 50) as usize;
    let deps = env_or("BERTH_BENCH_DEPLOYMENTS", 1000) as usize;
    let steady = Duration::from_secs(env_or("BERTH_BENCH_STEADY_SECONDS", 60));
    let resync = env_or("BERTH_BENCH_RESYNC_SECONDS", 30);
    let samples = env_or("BERTH_BENCH_LATENCY_SAMPLES", 40) as usize;
    let rate = std::env::var("BERTH_BENCH_PROVIDER_RATE").ok();

    let plane = ControlPlane::start().await?;
    let client = plane.client().await?;
    berth::crdgen::install(&client, Duration::from_secs(60)).await?;
    let estate = Estate {
        namespace: NS,
        environments: envs,
        variables: vars,
        deployments: deps,
        // Release checks every second, so that verification does not dominate convergence.
        health_check: json!({"interval": "1s", "timeout": "500ms", "successThreshold": 1}),
    };
    let sb = estate.sandbox().await?;
    let ns: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;

    let port = free_port()?;
    let mut env = vec![
        ("POD_NAMESPACE", NS.to_string()),
        ("BERTH_WATCH_NAMESPACE", NS.to_string()),
        ("BERTH_RESYNC_SECONDS", resync.to_string()),
        ("BERTH_HEALTH_CHECK_VIA", sb.apps_url().to_string()),
    ];
    if let Some(rate) = &rate {
        env.push(("BERTH_PROVIDER_RATE", rate.clone()));
    }
    if let Ok(n) = std::env::var("BERTH_CONCURRENCY") {
        env.push(("BERTH_CONCURRENCY", n));
    }
    let proc = spawn_controller(&plane, "bench-estate-controller", port, &env)?;
    let log = controller_log(&plane, "bench-estate-controller", port);
    wait_ready(port, Duration::from_secs(60)).await?;
    let pid = proc.pid().ok_or_else(|| anyhow::anyhow!("no pid"))?;
    println!(
        "estate: {envs} Environments x {vars} variables, {deps} Deployments; resync {resync}s; provider rate {}",
        rate.as_deref().unwrap_or("10 (default)")
    );

    // 1. Convergence.
    let start = Instant::now();
    estate.create(&client, &sb).await?;
    let created = start.elapsed();
    let mut peak = 0.0_f64;
    let converged = estate
        .converge(&client, start, &log, || peak = peak.max(memory_mib(pid).0))
        .await?;
    let (_, hwm) = memory_mib(pid);
    println!(
        "converge: created in {:.1}s; all Ready/Live after {:.1}s (goal <= 60s); controller RSS peak {:.1}MiB",
        created.as_secs_f64(),
        converged.as_secs_f64(),
        hwm.max(peak)
    );
    let variables_at_vercel = state(sb.vercel_url()).await?["state"]["envCount"].clone();
    println!("  Vercel holds {variables_at_vercel} variable entries");
    // Where convergence went: reconciles and status writes per kind, provider calls per
    // operation, and how often a call waited for the request budget.
    for (metric, labels) in [
        ("berth_reconcile_total", &["kind", "outcome"][..]),
        ("berth_status_writes_total", &["kind"][..]),
        ("berth_provider_requests_total", &["operation"][..]),
        ("berth_provider_throttled_total", &["reason"][..]),
    ] {
        let found = metric_by(port, metric, labels).await?;
        let listed: Vec<String> = found.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("  {metric}: {}", listed.join(", "));
    }
    let sums = metric_by(port, "berth_reconcile_duration_seconds_sum", &["kind"]).await?;
    let counts = metric_by(port, "berth_reconcile_duration_seconds_count", &["kind"]).await?;
    for (kind, sum) in &sums {
        let n = counts.get(kind).copied().unwrap_or(0.0).max(1.0);
        println!("  mean {kind} reconcile: {:.0}ms", sum / n * 1000.0);
    }

    // 2. Steady state.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (r0, w0) = tally(&sb).await?;
    let m0 = operations(port).await?;
    tokio::time::sleep(steady).await;
    let (r1, w1) = tally(&sb).await?;
    let m1 = operations(port).await?;
    let resyncs = steady.as_secs_f64() / resync as f64;
    let objects = (envs + deps) as f64;
    println!(
        "steady {}s (~{resyncs:.1} resyncs): provider writes {} (goal 0), reads {} = {:.2} per object per resync",
        steady.as_secs(),
        w1 - w0,
        r1 - r0,
        (r1 - r0) as f64 / objects / resyncs
    );
    for (op, n) in &m1 {
        let d = n - m0.get(op).copied().unwrap_or(0.0);
        if d > 0.0 {
            println!("  {op}: {d}");
        }
    }

    // 3. Apply → deploy latency.
    let probe = probe_client(&sb)?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let mut latencies = Vec::new();
    for i in 0..samples.min(deps) {
        let commit = format!("{:040x}", 0xfeed_0000_u64 + i as u64);
        let project = deployment_name(i);
        let t0 = Instant::now();
        api.patch(
            &project,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"source": {"commit": commit}}})),
        )
        .await?;
        loop {
            let newest = probe.deployments(&project, 1).await?;
            if newest.first().and_then(|d| d.commit.as_deref()) == Some(commit.as_str()) {
                latencies.push(t0.elapsed());
                break;
            }
            anyhow::ensure!(
                t0.elapsed() < Duration::from_secs(60),
                "no deployment of {commit} after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    if !latencies.is_empty() {
        println!(
            "apply -> deploy call: n={} p50={:.0}ms p95={:.0}ms max={:.0}ms (goal p95 <= 500ms)",
            latencies.len(),
            pct(0.5),
            pct(0.95),
            pct(1.0)
        );
    }
    proc.stop();
    Ok(())
}

async fn state(url: &str) -> anyhow::Result<Value> {
    Ok(reqwest::get(format!("{url}/_sandbox/state"))
        .await?
        .json()
        .await?)
}

/// (reads, writes) the Vercel simulator received.
async fn tally(sb: &SandboxHandle) -> anyhow::Result<(u64, u64)> {
    let s = state(sb.vercel_url()).await?;
    Ok((
        s["requests"]["reads"].as_u64().unwrap_or(0),
        s["requests"]["writes"].as_u64().unwrap_or(0),
    ))
}

/// The controller's provider requests by `provider/operation`.
async fn operations(port: u16) -> anyhow::Result<BTreeMap<String, f64>> {
    metric_by(
        port,
        "berth_provider_requests_total",
        &["provider", "operation"],
    )
    .await
}

/// A Vercel client of the bench's own, with room to poll every few milliseconds.
fn probe_client(sb: &SandboxHandle) -> anyhow::Result<VercelClient> {
    let mut config = VercelClient::config(
        sb.vercel_url(),
        Secret::new(sb.tokens().vercel.clone()),
        Some(berth::sandbox::VERCEL_TEAM_ID),
    );
    config.budget = BudgetConfig {
        per_second: 1000.0,
        burst: 1000,
        max_wait: Duration::from_secs(1),
    };
    let http = ProviderHttp::new(config, Arc::new(HttpMetrics::default()))?;
    Ok(VercelClient::new(
        http,
        Some(berth::sandbox::VERCEL_TEAM_ID.into()),
    ))
}
