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

/// The bearer token of the control plane's test user `user` (`admin`, `alice`, `bob`, …).
pub fn token(user: &str) -> String {
    stack().plane.user(user).expect("test user").token.clone()
}

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

/// A sandbox with the default fixtures on free loopback ports, for this test only.
pub async fn sandbox() -> berth::sandbox::SandboxHandle {
    sandbox_with(berth::sandbox::SandboxConfig::default()).await
}

/// A sandbox for this test, served by a runtime of its own: a test that blocks its thread
/// (running kubectl, say) must not stop the sandbox from answering the controller.
pub async fn sandbox_with(config: berth::sandbox::SandboxConfig) -> berth::sandbox::SandboxHandle {
    static SERVERS: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = SERVERS.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-servers")
            .enable_all()
            .build()
            .expect("server runtime")
    });
    rt.spawn(berth::sandbox::Sandbox::start(config))
        .await
        .expect("sandbox task")
        .expect("sandbox starts")
}

/// A PowerDNS of this test's own (gsqlite3 takes one writer at a time, so tests that write
/// a lot do not share one), started on a thread of its own so it outlives the caller's runtime.
pub fn own_powerdns() -> berth::devstack::PowerDns {
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(berth::devstack::PowerDns::start())
            .expect("pdns_server starts")
    })
    .join()
    .expect("powerdns thread")
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

/// A `berth controller` process, scoped to one namespace (for its objects and its Lease), run
/// from the binary cargo built for this test run.
pub struct ControllerProcess {
    proc: Option<berth::devstack::Supervised>,
    pub port: u16,
    pub namespace: String,
    database_url: Option<String>,
    extra_env: Vec<(&'static str, String)>,
}

impl ControllerProcess {
    /// HTTP attempts this controller sent for `operation` of `provider` (all outcomes), from
    /// its `/metrics`.
    pub async fn provider_requests(&self, provider: &str, operation: &str) -> u64 {
        let (_, text) = self.get("/metrics").await.expect("metrics");
        text.lines()
            .filter(|l| {
                l.starts_with("berth_provider_requests_total{")
                    && l.contains(&format!("provider=\"{provider}\""))
                    && l.contains(&format!("operation=\"{operation}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// `GET path` on this controller's HTTP port, as `token` when given: the status and the
    /// JSON body.
    pub async fn api_get(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.api(reqwest::Method::GET, path, token, None).await
    }

    /// `method path` with `body` as JSON, as `token` when given. Every answer of berth's HTTP
    /// API is JSON with that content type; anything else fails the test, naming the path.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut req =
            reqwest::Client::new().request(method, format!("http://127.0.0.1:{}{path}", self.port));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("berth answers");
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.expect("a body");
        assert_eq!(ctype, "application/json", "{path}: {text:?}");
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text:?}"));
        (status, body)
    }

    /// Starts a controller for `namespace`, with a history database when `database_url` is set.
    pub fn start(namespace: &str, database_url: Option<String>) -> Self {
        Self::start_with_env(namespace, database_url, Vec::new())
    }

    /// [`ControllerProcess::start`] with more environment variables for the process.
    pub fn start_with_env(
        namespace: &str,
        database_url: Option<String>,
        extra_env: Vec<(&'static str, String)>,
    ) -> Self {
        let port = berth::devstack::free_port().expect("port");
        let mut c = Self {
            proc: None,
            port,
            namespace: namespace.to_string(),
            database_url,
            extra_env,
        };
        c.restart();
        c
    }

    /// Starts the process again on the same port (after [`ControllerProcess::kill`]).
    pub fn restart(&mut self) {
        let s = stack();
        let log = s
            .plane
            .dir
            .join(format!("controller-{}-{}.log", self.namespace, self.port));
        let mut env = vec![
            ("KUBECONFIG", s.plane.kubeconfig.display().to_string()),
            ("BERTH_LISTEN", format!("127.0.0.1:{}", self.port)),
            ("POD_NAMESPACE", self.namespace.clone()),
            ("BERTH_WATCH_NAMESPACE", self.namespace.clone()),
            ("BERTH_RESYNC_SECONDS", "300".into()),
            ("RUST_LOG", "info,kube=warn".into()),
        ];
        if let Some(url) = &self.database_url {
            env.push(("BERTH_DATABASE_URL", url.clone()));
        }
        env.extend(self.extra_env.iter().cloned());
        let bin = std::path::Path::new(env!("CARGO_BIN_EXE_berth"));
        self.proc = Some(
            berth::devstack::Supervised::spawn(
                "berth controller",
                bin,
                &["controller".into()],
                &log,
                None,
                &env,
            )
            .expect("controller starts"),
        );
    }

    /// SIGKILL: no graceful shutdown, no Lease release — as when a node dies.
    pub fn kill(&mut self) {
        if let Some(p) = self.proc.take() {
            if let Some(pid) = p.pid() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            p.stop();
        }
    }

    /// GET a path on the controller's HTTP server; (status, JSON or text body).
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        let resp = reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .ok()?;
        let status = resp.status().as_u16();
        Some((status, resp.text().await.ok()?))
    }

    /// The `/health/detailed` document.
    pub async fn detailed(&self) -> Option<serde_json::Value> {
        let (_, body) = self.get("/health/detailed").await?;
        serde_json::from_str(&body).ok()
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self) {
        let start = std::time::Instant::now();
        while self.get("/readyz").await.is_none_or(|(s, _)| s != 200) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "controller not ready after 30 s ({:?}, {:?}); log:\n{}",
                self.get("/readyz").await,
                self.get("/health/detailed").await,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The log so far (for failure messages).
    pub fn log(&self) -> String {
        self.proc
            .as_ref()
            .map(|p| std::fs::read_to_string(p.log()).unwrap_or_default())
            .unwrap_or_default()
    }
}

/// Applies YAML with kubectl in `namespace`, panicking with kubectl's message on failure.
pub fn apply(namespace: &str, yaml: &str) {
    let (ok, _, err) = kubectl(&["apply", "-n", namespace, "-f", "-"], Some(yaml));
    assert!(ok, "kubectl apply failed: {err}");
}

/// The object as JSON via kubectl, or None when it does not exist.
pub fn get_json(namespace: &str, resource: &str) -> Option<serde_json::Value> {
    let (ok, out, _) = kubectl(&["get", "-n", namespace, resource, "-o", "json"], None);
    ok.then(|| serde_json::from_str(&out).expect("kubectl JSON"))
}

/// The status of condition `type_` of a JSON object.
pub fn condition<'a>(obj: &'a serde_json::Value, type_: &str) -> Option<&'a serde_json::Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// A fresh, empty database in the shared Postgres named `<prefix>_<random>`; returns its URL.
pub async fn database(prefix: &str) -> String {
    use sqlx::{Connection as _, Executor as _};
    let pg = &stack().postgres;
    let name = format!("{prefix}_{}", rand_suffix());
    sqlx::PgConnection::connect(&pg.url("postgres"))
        .await
        .expect("connect")
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create database");
    pg.url(&name)
}

/// The sandbox's fixture Supabase project ref, read with a plain request.
pub async fn supabase_project_ref(sb: &berth::sandbox::SandboxHandle) -> String {
    let projects: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/projects", sb.supabase_url()))
        .bearer_auth(&sb.tokens().supabase)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    projects[0]["ref"].as_str().unwrap().to_owned()
}
