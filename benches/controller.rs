//! Controller benchmarks against a real kube-apiserver + etcd (started here):
//! 1. process start to `/readyz` 200, control plane already up;
//! 2. resident memory with N objects of each kind applied, and the time until all have status.
//!
//! `cargo bench --bench controller` (N defaults to 1000; `BERTH_BENCH_OBJECTS=200` for a quick run).

use std::time::{Duration, Instant};

use berth::devstack::{ControlPlane, free_port};
use futures::{StreamExt, TryStreamExt, stream};
use kube::{Api, Client, api::PostParams};
use serde_json::json;
use support::{env_or, memory_mib, spawn_controller, wait_ready};

#[path = "support/mod.rs"]
mod support;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let n = env_or("BERTH_BENCH_OBJECTS", 1000) as usize;
    let plane = ControlPlane::start().await?;
    let client = plane.client().await?;
    berth::crdgen::install(&client, Duration::from_secs(60)).await?;

    start_to_ready(&plane).await?;
    memory_and_convergence(&plane, &client, n).await?;
    Ok(())
}

/// A controller's environment when it runs in and watches only `namespace`.
fn watching(namespace: &str) -> [(&'static str, String); 2] {
    [
        ("POD_NAMESPACE", namespace.to_string()),
        ("BERTH_WATCH_NAMESPACE", namespace.to_string()),
    ]
}

async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let ns = serde_json::from_value(json!({"metadata": {"name": name}}))?;
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

async fn start_to_ready(plane: &ControlPlane) -> anyhow::Result<()> {
    let client = plane.client().await?;
    create_namespace(&client, "bench-start").await?;
    let mut samples = Vec::new();
    for _ in 0..7 {
        let port = free_port()?;
        let start = Instant::now();
        let proc = spawn_controller(plane, "bench-controller", port, &watching("bench-start"))?;
        wait_ready(port, Duration::from_secs(30)).await?;
        samples.push(start.elapsed());
        proc.stop();
    }
    samples.sort();
    println!(
        "start_to_readyz: runs={} min={:.0}ms median={:.0}ms max={:.0}ms (goal <= 2000ms)",
        samples.len(),
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() - 1])
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn manifests(i: usize) -> Vec<(&'static str, serde_json::Value)> {
    let meta = |name: String| json!({"name": name});
    vec![
        (
            "Environment",
            json!({"apiVersion": "berth.dev/v1alpha1", "kind": "Environment", "metadata": meta(format!("env-{i}")), "spec": {"providers": {}}}),
        ),
        (
            "Deployment",
            json!({"apiVersion": "berth.dev/v1alpha1", "kind": "Deployment", "metadata": meta(format!("dep-{i}")), "spec": {
            "environmentRef": {"name": format!("env-{i}")}, "service": {"vercel": {"project": format!("web-{i}")}}, "source": {"repo": "vocilia/web", "ref": "main"}}}),
        ),
        (
            "Domain",
            json!({"apiVersion": "berth.dev/v1alpha1", "kind": "Domain", "metadata": meta(format!("dom-{i}")), "spec": {
            "hostname": format!("h{i}.vocilia.com"), "environmentRef": {"name": format!("env-{i}")}, "target": {"records": [{"type": "A", "values": ["192.0.2.1"]}]}}}),
        ),
        (
            "Certificate",
            json!({"apiVersion": "berth.dev/v1alpha1", "kind": "Certificate", "metadata": meta(format!("cert-{i}")), "spec": {
            "environmentRef": {"name": format!("env-{i}")}, "dnsNames": [format!("h{i}.vocilia.com")], "issuer": {"platform": {"provider": "Vercel"}}}}),
        ),
        (
            "BackupPolicy",
            json!({"apiVersion": "berth.dev/v1alpha1", "kind": "BackupPolicy", "metadata": meta(format!("bp-{i}")), "spec": {
            "database": {"connectionSecretRef": {"name": "db", "key": "uri"}}, "schedule": "0 3 * * *", "destination": {"filesystem": {"path": "/backups"}}}}),
        ),
    ]
}

async fn create_all(client: &Client, ns: &str, n: usize) -> anyhow::Result<()> {
    let dynamic = |kind: &str| {
        let ar = kube::core::ApiResource {
            group: "berth.dev".into(),
            version: "v1alpha1".into(),
            api_version: "berth.dev/v1alpha1".into(),
            kind: kind.into(),
            plural: match kind {
                "BackupPolicy" => "backuppolicies".into(),
                k => format!("{}s", k.to_lowercase()),
            },
        };
        Api::<kube::core::DynamicObject>::namespaced_with(client.clone(), ns, &ar)
    };
    stream::iter((0..n).flat_map(manifests))
        .map(|(kind, body)| {
            let api = dynamic(kind);
            async move {
                let obj: kube::core::DynamicObject = serde_json::from_value(body)?;
                api.create(&PostParams::default(), &obj).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

async fn memory_and_convergence(
    plane: &ControlPlane,
    client: &Client,
    n: usize,
) -> anyhow::Result<()> {
    let ns = "bench-scale";
    create_namespace(client, ns).await?;
    let port = free_port()?;
    let proc = spawn_controller(plane, "bench-controller", port, &watching(ns))?;
    wait_ready(port, Duration::from_secs(60)).await?;
    let pid = proc
        .pid()
        .ok_or_else(|| anyhow::anyhow!("no controller pid"))?;
    let (idle_rss, _) = memory_mib(pid);
    let start = Instant::now();
    create_all(client, ns, n).await?;
    let created = start.elapsed();
    let mut peak_seen = 0.0_f64;
    loop {
        let (rss, _) = memory_mib(pid);
        peak_seen = peak_seen.max(rss);
        let pending = berth::devstack::census(client, Some(ns))
            .await?
            .without_status
            .len();
        if pending == 0 {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(900),
            "{pending} objects still without status after 15 min"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let converged = start.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (settled_rss, hwm) = memory_mib(pid);
    println!(
        "scale: objects={} ({} per kind) create={:.1}s all_have_status={:.1}s rss_idle={:.1}MiB rss_after={:.1}MiB rss_peak={:.1}MiB (goal <= 100MiB at 5000)",
        n * 5,
        n,
        created.as_secs_f64(),
        converged.as_secs_f64(),
        idle_rss,
        settled_rss,
        hwm.max(peak_seen)
    );
    proc.stop();
    Ok(())
}
