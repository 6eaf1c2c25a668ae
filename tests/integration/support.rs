//! Shared fixtures: one control plane and one Postgres per test run, a fresh namespace per test.

use std::{sync::OnceLock, time::Duration};

use berth::devstack::{ControlPlane, Postgres};
use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, Client, api::PostParams};

/// The stack shared by every test in this binary. It is started on a thread of its own so it
/// outlives each test's runtime, and stopped by its watchdogs when the binary exits.
pub struct Stack {
    pub plane: ControlPlane,
    pub postgres: Postgres,
    pub kubectl: std::path::PathBuf,
}

static STACK: OnceLock<Stack> = OnceLock::new();

pub fn stack() -> &'static Stack {
    STACK.get_or_init(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let (plane, postgres) = tokio::join!(ControlPlane::start(), Postgres::start());
                let plane = plane.expect("control plane starts");
                let postgres = postgres.expect("postgres starts");
                install_crds(&plane).await;
                Stack {
                    plane,
                    postgres,
                    kubectl: which_kubectl(),
                }
            })
        })
        .join()
        .expect("stack thread")
    })
}

fn which_kubectl() -> std::path::PathBuf {
    std::env::var_os("KUBECTL").map_or_else(|| "kubectl".into(), Into::into)
}

async fn install_crds(plane: &ControlPlane) {
    let client = plane.client().await.expect("client");
    berth::crdgen::install(&client, Duration::from_secs(60))
        .await
        .expect("CRDs install and become established");
}

/// An admin client for the shared control plane.
pub async fn client() -> Client {
    stack().plane.client().await.expect("admin client")
}

/// A new namespace, labelled so it can be told apart, named after the test.
pub async fn namespace(client: &Client, test: &str) -> String {
    let name = format!(
        "t-{}-{}",
        test.replace('_', "-").chars().take(40).collect::<String>(),
        rand_suffix()
    );
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"berth.dev/test": "true"}}
    }))
    .expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    name
}

fn rand_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..5)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

/// Runs kubectl against the shared control plane as admin; returns (success, stdout, stderr).
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    let s = stack();
    let mut cmd = std::process::Command::new(&s.kubectl);
    cmd.arg(format!("--kubeconfig={}", s.plane.kubeconfig.display()))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("kubectl runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("kubectl output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Waits up to `timeout` for `check` to return Some.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
