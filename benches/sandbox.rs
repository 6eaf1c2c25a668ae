//! Sandbox throughput on loopback: 64 concurrent clients for ~5 s per simulator, each request a
//! realistic read (a deployment, a page of DNS records, a project, a GraphQL query, an app health
//! check). Goal: ≥ 5,000 requests/s on 2 cores, so the sandbox never bounds a reconcile bench.
//!
//! `cargo bench --bench sandbox` (`BERTH_BENCH_SECS=2` for a quick run).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use berth::sandbox::{Sandbox, SandboxConfig, SandboxHandle, Steps};
use serde_json::{Value, json};

const CLIENTS: usize = 64;

#[derive(Clone)]
struct Target {
    name: &'static str,
    method: reqwest::Method,
    url: String,
    token: Option<String>,
    body: Option<Value>,
}

async fn measure(client: &reqwest::Client, t: Target, secs: u64) -> anyhow::Result<()> {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (client, t, ok, failed) = (client.clone(), t.clone(), ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let mut req = client.request(t.method.clone(), &t.url);
                if let Some(token) = &t.token {
                    req = req.bearer_auth(token);
                }
                if let Some(body) = &t.body {
                    req = req.json(body);
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "{:<11} {:>9.0} req/s  ({ok} ok, {} failed, {CLIENTS} clients, {elapsed:.1} s)",
        t.name,
        ok as f64 / elapsed,
        failed.load(Ordering::Relaxed),
    );
    Ok(())
}

async fn targets(sb: &SandboxHandle, client: &reqwest::Client) -> anyhow::Result<Vec<Target>> {
    let tokens = sb.tokens();
    // One Vercel deployment to read back.
    let d: Value = client
        .post(format!("{}/v13/deployments", sb.vercel_url()))
        .bearer_auth(&tokens.vercel)
        .json(&json!({"name": "web", "target": "production"}))
        .send()
        .await?
        .json()
        .await?;
    let dpl = d["id"].as_str().context("deployment id")?.to_string();
    let host = d["url"].as_str().context("deployment url")?.to_string();
    // A zone with 20 records.
    let z: Value = client
        .get(format!("{}/zones", sb.cloudflare_url()))
        .bearer_auth(&tokens.cloudflare)
        .send()
        .await?
        .json()
        .await?;
    let zone = z["result"][0]["id"].as_str().context("zone")?.to_string();
    for i in 0..20 {
        client
            .post(format!("{}/zones/{zone}/dns_records", sb.cloudflare_url()))
            .bearer_auth(&tokens.cloudflare)
            .json(&json!({"type": "A", "name": format!("h{i}"), "content": format!("192.0.2.{i}")}))
            .send()
            .await?;
    }
    let p: Value = client
        .get(format!("{}/v1/projects", sb.supabase_url()))
        .bearer_auth(&tokens.supabase)
        .send()
        .await?
        .json()
        .await?;
    let reference = p[0]["ref"].as_str().context("ref")?.to_string();
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(vec![
        Target {
            name: "vercel",
            method: reqwest::Method::GET,
            url: format!("{}/v13/deployments/{dpl}", sb.vercel_url()),
            token: Some(tokens.vercel.clone()),
            body: None,
        },
        Target {
            name: "cloudflare",
            method: reqwest::Method::GET,
            url: format!(
                "{}/zones/{zone}/dns_records?per_page=10&page=2",
                sb.cloudflare_url()
            ),
            token: Some(tokens.cloudflare.clone()),
            body: None,
        },
        Target {
            name: "supabase",
            method: reqwest::Method::GET,
            url: format!("{}/v1/projects/{reference}", sb.supabase_url()),
            token: Some(tokens.supabase.clone()),
            body: None,
        },
        Target {
            name: "railway",
            method: reqwest::Method::POST,
            url: format!("{}/graphql/v2", sb.railway_url()),
            token: Some(tokens.railway.clone()),
            body: Some(json!({
                "query": "query { projects { edges { node { id name services { edges { node { id name } } } } } } }"
            })),
        },
        Target {
            name: "apps",
            method: reqwest::Method::GET,
            url: format!("{}/{host}/health", sb.apps_url()),
            token: None,
            body: None,
        },
    ])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs: u64 = std::env::var("BERTH_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let sb = Sandbox::start(SandboxConfig {
        steps: Steps {
            queue: Duration::ZERO,
            build: Duration::from_millis(10),
            deploy: Duration::from_millis(10),
        },
        ..SandboxConfig::default()
    })
    .await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()?;
    println!(
        "sandbox throughput, {CLIENTS} concurrent clients, {secs} s each, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for t in targets(&sb, &client).await? {
        measure(&client, t, secs).await?;
    }
    Ok(())
}
