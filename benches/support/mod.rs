//! What the benchmarks share: a `berth controller` process against a control plane, its
//! readiness, memory and metrics, sizes read from the environment, and a live estate
//! ([`estate`]). Each bench uses part of it.
#![allow(dead_code)]

use std::{collections::BTreeMap, path::Path, time::Duration};

use berth::devstack::{ControlPlane, Supervised};

pub mod estate;

/// `name` from the environment as a number, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Where [`spawn_controller`] logs: `<log>-<port>.log` in the plane's directory.
pub fn controller_log(plane: &ControlPlane, log: &str, port: u16) -> std::path::PathBuf {
    plane.dir.join(format!("{log}-{port}.log"))
}

/// Starts `berth controller` on `port` against `plane`, logging quietly to
/// [`controller_log`]; `extra` adds environment variables.
pub fn spawn_controller(
    plane: &ControlPlane,
    log: &str,
    port: u16,
    extra: &[(&str, String)],
) -> anyhow::Result<Supervised> {
    let log = controller_log(plane, log, port);
    let mut env = vec![
        ("KUBECONFIG", plane.kubeconfig.display().to_string()),
        ("BERTH_LISTEN", format!("127.0.0.1:{port}")),
        ("RUST_LOG", "warn".into()),
    ];
    env.extend(extra.iter().cloned());
    Ok(Supervised::spawn(
        "berth controller",
        Path::new(env!("CARGO_BIN_EXE_berth")),
        &["controller".into()],
        &log,
        None,
        &env,
    )?)
}

/// Whether `conditions` hold `Ready=True`.
pub fn is_ready(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Whether the controller on `port` answers `/readyz` with success.
pub async fn ready(port: u16) -> bool {
    reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Waits until the controller on `port` is ready, at most `limit`.
pub async fn wait_ready(port: u16, limit: Duration) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    while !ready(port).await {
        anyhow::ensure!(start.elapsed() < limit, "controller not ready in {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// VmRSS and VmHWM (peak) of a process, in MiB.
pub fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The controller's counter `metric` summed by the values of `labels` (joined with `/`).
pub async fn metric_by(
    port: u16,
    metric: &str,
    labels: &[&str],
) -> anyhow::Result<BTreeMap<String, f64>> {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await?
        .text()
        .await?;
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
    {
        let label = |name: &str| {
            line.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string()
        };
        let n: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let key: Vec<String> = labels.iter().map(|l| label(l)).collect();
        *out.entry(key.join("/")).or_default() += n;
    }
    Ok(out)
}
