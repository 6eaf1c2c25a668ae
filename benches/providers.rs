//! A 429 storm against one shared provider client: N concurrent "reconciles", each building
//! its own Cloudflare client over ONE `ProviderHttp` with a 20 req/s budget (burst 20), each
//! reading the zone and re-applying records it already holds (3 calls, no write), while the
//! sandbox answers half of all requests 429 with `Retry-After: 1`. A reconcile whose call
//! still fails transiently requeues after the wait the error names, as the controllers do.
//!
//! Prints HTTP attempts against the minimum needed, the highest request rate seen in any
//! one-second window against the budget, the total time, and whether every reconcile got
//! through; then plain sandbox throughput for comparison.
//!
//! `cargo bench --bench providers` (`BERTH_BENCH_TASKS`, `BERTH_BENCH_429_RATE` to vary).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use berth::{
    providers::{
        Error,
        dns::{Change, DnsRecords, RecordSet, RecordType, cloudflare::Cloudflare},
        http::{BudgetConfig, Call, HttpConfig, HttpMetrics, ProviderHttp, Secret},
    },
    sandbox::{FaultConfig, Sandbox, SandboxConfig, SandboxHandle, Server},
};

const ZONE: &str = "example.com";
/// HTTP calls one reconcile needs when nothing fails: find the zone, list it, list the one
/// name it re-applies (the zone id is cached by then).
const CALLS_PER_RECONCILE: u64 = 3;
const OPERATIONS: [&str; 5] = [
    "find zone",
    "list dns records",
    "create dns record",
    "update dns record",
    "delete dns record",
];
/// A reconcile that needs more requeues than this counts as failed.
const MAX_REQUEUES: u32 = 100;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(sb: &SandboxHandle, budget: BudgetConfig) -> HttpConfig {
    let mut config = Cloudflare::config(
        Some(sb.cloudflare_url()),
        Secret::new(sb.tokens().cloudflare.clone()),
        None,
    );
    config.budget = budget;
    config
}

fn record(i: usize) -> RecordSet {
    RecordSet {
        name: format!("h{i}.{ZONE}."),
        rtype: RecordType::A,
        ttl: 300,
        records: vec![format!("192.0.2.{}", i + 1)],
        comment: Some("managed-by=berth".into()),
    }
}

fn attempts(metrics: &HttpMetrics) -> u64 {
    OPERATIONS
        .iter()
        .map(|op| metrics.sent("cloudflare", op))
        .sum()
}

fn outcome(metrics: &HttpMetrics, outcome: &str) -> u64 {
    OPERATIONS
        .iter()
        .map(|op| metrics.requests("cloudflare", op, outcome))
        .sum()
}

/// One reconcile: a fresh client over the shared layer, a read and an idempotent apply.
async fn reconcile(http: ProviderHttp, i: usize) -> Result<(), Error> {
    let cf = Cloudflare::new(http, None);
    let sets = cf.list_records(ZONE).await?;
    std::hint::black_box(sets.len());
    cf.apply(ZONE, &[Change::Replace(record(i % 10))]).await
}

/// Attempts counted every 50 ms, for the highest count in any one-second window.
fn sample(metrics: Arc<HttpMetrics>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut samples: Vec<(Instant, u64)> = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            samples.push((Instant::now(), attempts(&metrics)));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        samples.push((Instant::now(), attempts(&metrics)));
        let mut max = 0;
        for (i, (t0, n0)) in samples.iter().enumerate() {
            for (t1, n1) in &samples[i..] {
                if t1.duration_since(*t0) > Duration::from_secs(1) {
                    break;
                }
                max = max.max(n1 - n0);
            }
        }
        max
    })
}

async fn storm(sb: &SandboxHandle, tasks: usize, rate_429: f64) -> anyhow::Result<()> {
    let budget = BudgetConfig {
        per_second: 20.0,
        burst: 20,
        ..BudgetConfig::default()
    };
    let metrics = Arc::new(HttpMetrics::default());
    let http = ProviderHttp::new(config(sb, budget), metrics.clone())?;
    println!(
        "429 storm: {tasks} concurrent reconciles x {CALLS_PER_RECONCILE} calls through ONE ProviderHttp \
         (budget {}/s, burst {}, budget wait <= {:?}), {:.0} % of requests answered 429 with Retry-After: 1",
        budget.per_second,
        budget.burst,
        budget.max_wait,
        rate_429 * 100.0
    );
    sb.faults(Server::Cloudflare)
        .ok_or_else(|| anyhow::anyhow!("no cloudflare faults"))?
        .set(FaultConfig {
            error_rate: rate_429,
            error_status: Some(429),
            retry_after_secs: Some(1),
            ..FaultConfig::default()
        });

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample(metrics.clone(), stop.clone());
    let requeues = Arc::new(AtomicU64::new(0));
    let reasons = Arc::new(Mutex::new(std::collections::BTreeMap::<String, u64>::new()));
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..tasks {
        let (http, requeues, reasons) = (http.clone(), requeues.clone(), reasons.clone());
        handles.push(tokio::spawn(async move {
            for _ in 0..=MAX_REQUEUES {
                match reconcile(http.clone(), i).await {
                    Ok(()) => return true,
                    Err(e) if !e.is_permanent() => {
                        requeues.fetch_add(1, Ordering::Relaxed);
                        *reasons
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .entry(reason(&e))
                            .or_default() += 1;
                        let jitter = Duration::from_millis(rand::random::<u64>() % 500);
                        let wait = e.retry_after().unwrap_or(Duration::from_secs(1));
                        tokio::time::sleep(wait + jitter).await;
                    }
                    Err(e) => {
                        eprintln!("reconcile {i} failed permanently: {e}");
                        return false;
                    }
                }
            }
            false
        }));
    }
    let mut succeeded = 0;
    for h in handles {
        if h.await? {
            succeeded += 1;
        }
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let max_window = sampler.await?;
    sb.faults(Server::Cloudflare)
        .ok_or_else(|| anyhow::anyhow!("no cloudflare faults"))?
        .clear();

    let minimum = CALLS_PER_RECONCILE * tasks as u64;
    let sent = attempts(&metrics);
    let ok = outcome(&metrics, "ok");
    let limited = outcome(&metrics, "rate_limited");
    println!("  minimum calls needed          {minimum:>7}");
    println!(
        "  HTTP attempts                 {sent:>7}  ({:.2} x minimum)",
        sent as f64 / minimum as f64
    );
    println!("    answered ok                 {ok:>7}");
    println!("    answered 429                {limited:>7}");
    println!("    other                       {:>7}", sent - ok - limited);
    println!(
        "  writes                        {:>7}  (every apply found its record in place)",
        [
            "create dns record",
            "update dns record",
            "delete dns record"
        ]
        .iter()
        .map(|op| metrics.sent("cloudflare", op))
        .sum::<u64>()
    );
    println!(
        "  waits: Retry-After {}, budget {}, budget refusals {}",
        metrics.throttled_count("cloudflare", "retry_after"),
        metrics.throttled_count("cloudflare", "budget"),
        metrics.throttled_count("cloudflare", "budget_exhausted"),
    );
    println!(
        "  reconcile requeues            {:>7}  {:?}",
        requeues.load(Ordering::Relaxed),
        reasons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    );
    println!(
        "  max attempts in any 1 s       {max_window:>7}  (budget: {} per s + burst {} = at most {})",
        budget.per_second,
        budget.burst,
        budget.per_second as u64 + u64::from(budget.burst)
    );
    println!(
        "  mean attempt rate             {:>7.1}/s",
        sent as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  total time                    {:>7.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  every reconcile succeeded     {:>7}  ({succeeded}/{tasks})",
        if succeeded == tasks { "yes" } else { "NO" }
    );
    Ok(())
}

fn reason(e: &Error) -> String {
    match e {
        Error::RateLimited { limiter, .. } => format!("rate limited ({limiter})"),
        other => other.metric_label().to_owned(),
    }
}

/// Requests per second for `secs` from `clients` concurrent loops of `one`.
async fn throughput<F, Fut>(clients: usize, secs: u64, one: F) -> (f64, u64)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (one, ok, failed) = (one.clone(), ok.clone(), failed.clone());
        handles.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let counter = if one().await { &ok } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    let rate = ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    (rate, failed.load(Ordering::Relaxed))
}

async fn plain(sb: &SandboxHandle, zone_id: &str) -> anyhow::Result<()> {
    const CLIENTS: usize = 64;
    let secs = env("BERTH_BENCH_SECS", 2u64);
    let raw = reqwest::Client::new();
    let url = format!("{}/zones/{zone_id}/dns_records", sb.cloudflare_url());
    let token = sb.tokens().cloudflare.clone();
    let (raw_rate, raw_failed) = throughput(CLIENTS, secs, move || {
        let (raw, url, token) = (raw.clone(), url.clone(), token.clone());
        async move {
            match raw.get(url).bearer_auth(token).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    let unlimited = BudgetConfig {
        per_second: 1e9,
        burst: u32::MAX,
        ..BudgetConfig::default()
    };
    let http = ProviderHttp::new(config(sb, unlimited), Arc::new(HttpMetrics::default()))?;
    let path = format!("/zones/{zone_id}/dns_records");
    let (layer_rate, layer_failed) = throughput(CLIENTS, secs, move || {
        let (http, path) = (http.clone(), path.clone());
        async move { http.send(Call::get("list dns records", path)).await.is_ok() }
    })
    .await;
    println!(
        "plain sandbox, {CLIENTS} concurrent clients, {secs} s, listing 10 records: raw reqwest {raw_rate:.0} req/s \
         ({raw_failed} failed); through ProviderHttp without a budget {layer_rate:.0} req/s ({layer_failed} failed)"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tasks = env("BERTH_BENCH_TASKS", 200usize);
    let rate_429 = env("BERTH_BENCH_429_RATE", 0.5f64);
    let sb = Sandbox::start(SandboxConfig::default()).await?;
    // The records every reconcile re-applies, written before the storm on a separate client.
    let seed = ProviderHttp::new(
        config(&sb, BudgetConfig::default()),
        Arc::new(HttpMetrics::default()),
    )?;
    let cf = Cloudflare::new(seed.clone(), None);
    cf.apply(
        ZONE,
        &(0..10)
            .map(|i| Change::Replace(record(i)))
            .collect::<Vec<_>>(),
    )
    .await?;
    let zones: Vec<berth::providers::models::cloudflare::Zone> = seed
        .send(Call::get("find zone", "/zones").query("name", ZONE))
        .await?
        .decode(berth::providers::models::cloudflare::decode)?;
    let zone_id = zones
        .first()
        .map(|z| z.id.clone())
        .ok_or_else(|| anyhow::anyhow!("no zone {ZONE}"))?;

    storm(&sb, tasks, rate_429).await?;
    plain(&sb, &zone_id).await?;
    Ok(())
}
