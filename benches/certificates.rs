//! Certificate benchmark on real components: a kube-apiserver + etcd, PowerDNS serving the
//! zone, Pebble validating DNS-01 through it, and a `berth controller` process. N
//! Certificates (one name each, one shared ACME account) are applied at once; it reports the
//! time until the first and the last is Ready, and the controller's resident and peak memory.
//!
//! `cargo bench --bench certificates` (N defaults to 100; `BERTH_BENCH_CERTIFICATES=20` for a
//! quick run).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use berth::{
    api::Certificate,
    devstack::{ControlPlane, Pebble, PebbleConfig, PowerDns, free_port},
    providers::{
        dns::{DnsRecords, powerdns::PowerDns as PowerDnsClient},
        http::{HttpMetrics, Secret},
    },
};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;
use support::{env_or, is_ready, memory_mib, spawn_controller, wait_ready};

#[path = "support/mod.rs"]
mod support;

const NAMESPACE: &str = "bench-certificates";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let n = env_or("BERTH_BENCH_CERTIFICATES", 100) as usize;
    let (plane, pdns) = tokio::join!(ControlPlane::start(), PowerDns::start());
    let (plane, pdns) = (plane?, pdns?);
    let pebble = Pebble::start(PebbleConfig::new(pdns.dns)).await?;
    let client = plane.client().await?;
    berth::crdgen::install(&client, Duration::from_secs(60)).await?;
    let zone = "bench.test";
    PowerDnsClient::connect(
        &pdns.api_url,
        Secret::new(pdns.api_key.clone()),
        Arc::new(HttpMetrics::default()),
    )?
    .ensure_zone(zone)
    .await?;

    let ssa = PatchParams::apply("bench").force();
    let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    ns.patch(
        NAMESPACE,
        &ssa,
        &Patch::Apply(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        ),
    )
    .await?;
    let dynamic = |kind: &str, api_version: &str, plural: &str| {
        let gvk = kube::api::GroupVersionKind::gvk(
            api_version.split_once('/').map_or("", |(g, _)| g),
            api_version.rsplit('/').next().unwrap_or(api_version),
            kind,
        );
        let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
        Api::<kube::api::DynamicObject>::namespaced_with(client.clone(), NAMESPACE, &ar)
    };
    let secrets = dynamic("Secret", "v1", "secrets");
    for (name, data) in [
        ("pdns-key", json!({"key": pdns.api_key})),
        ("pebble-ca", json!({"ca.crt": pebble.tls_ca_pem})),
    ] {
        secrets
            .patch(
                name,
                &ssa,
                &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data})),
            )
            .await?;
    }
    dynamic("Environment", "berth.dev/v1alpha1", "environments")
        .patch(
            "production",
            &ssa,
            &Patch::Apply(json!({
                "apiVersion": "berth.dev/v1alpha1", "kind": "Environment",
                "metadata": {"name": "production"},
                "spec": {"providers": {"dns": {
                    "zone": zone,
                    "nameservers": [pdns.dns.to_string()],
                    "powerdns": {"url": pdns.api_url, "apiKeySecretRef": {"name": "pdns-key", "key": "key"}},
                }}},
            })),
        )
        .await?;

    let port = free_port()?;
    let controller = spawn_controller(
        &plane,
        "bench-certificates",
        port,
        &[
            ("POD_NAMESPACE", NAMESPACE.to_string()),
            ("BERTH_WATCH_NAMESPACE", NAMESPACE.to_string()),
        ],
    )?;
    wait_ready(port, Duration::from_secs(60)).await?;

    let certs = dynamic("Certificate", "berth.dev/v1alpha1", "certificates");
    let start = Instant::now();
    for i in 0..n {
        let name = format!("c{i}");
        certs
            .patch(
                &name,
                &ssa,
                &Patch::Apply(json!({
                    "apiVersion": "berth.dev/v1alpha1", "kind": "Certificate",
                    "metadata": {"name": name},
                    "spec": {
                        "environmentRef": {"name": "production"},
                        "dnsNames": [format!("{name}.{zone}")],
                        "secretName": format!("{name}-tls"),
                        "issuer": {"acme": {
                            "server": pebble.directory,
                            "email": format!("ops@{zone}"),
                            "accountKeySecretName": "acme-account",
                            "caBundleSecretRef": {"name": "pebble-ca", "key": "ca.crt"},
                        }},
                    },
                })),
            )
            .await?;
    }
    let applied = start.elapsed();
    let typed: Api<Certificate> = Api::namespaced(client.clone(), NAMESPACE);
    let mut first = None;
    let mut peak = (0.0, 0.0);
    let pid = controller.pid().unwrap_or_default();
    loop {
        let ready = typed
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|c| {
                c.status
                    .as_ref()
                    .is_some_and(|s| is_ready(&s.common.conditions))
            })
            .count();
        if ready > 0 && first.is_none() {
            first = Some(start.elapsed());
        }
        let mem = memory_mib(pid);
        peak = (f64::max(peak.0, mem.0), f64::max(peak.1, mem.1));
        if ready == n {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(900),
            "only {ready} of {n} Ready after 15 min; log: {}",
            std::fs::read_to_string(controller.log()).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let total = start.elapsed();
    let (rss, hwm) = memory_mib(pid);
    println!("certificates: {n} issued against Pebble through PowerDNS DNS-01");
    println!("  applied in {applied:?}");
    println!("  first Ready after {:?}", first.unwrap_or_default());
    println!(
        "  all Ready after {total:?} ({:.1} certificates/s)",
        n as f64 / total.as_secs_f64()
    );
    println!(
        "  controller memory: RSS {rss:.1} MiB now, peak (VmHWM) {hwm:.1} MiB; highest RSS sampled {:.1} MiB",
        peak.0
    );
    drop(controller);
    Ok(())
}
