//! A real kube-apiserver with its etcd on loopback, as controller-runtime's envtest starts them.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use super::{Error, Supervised, free_port, scratch_dir, write};

/// A user the API server accepts, authenticated by a static bearer token.
#[derive(Clone, Debug)]
pub struct User {
    /// User name.
    pub name: String,
    /// Bearer token.
    pub token: String,
    /// Groups.
    pub groups: Vec<String>,
}

/// A running control plane. Dropping it stops both processes and removes their data.
pub struct ControlPlane {
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    /// PEM of the CA that signed the API server's serving certificate.
    pub ca_pem: String,
    /// Path of a kubeconfig for the `admin` user (`system:masters`).
    pub kubeconfig: PathBuf,
    /// The directory holding certificates, tokens and logs.
    pub dir: PathBuf,
    users: Vec<User>,
    // Field order matters: the API server stops before etcd.
    apiserver: Option<Supervised>,
    etcd: Option<Supervised>,
    _janitor: Supervised,
    etcd_url: String,
    binaries: Binaries,
}

#[derive(Clone)]
struct Binaries {
    apiserver: PathBuf,
    etcd: PathBuf,
}

/// How long a start may take on a 2-core machine with a cold page cache.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Names of the extra, unprivileged users provisioned for authn/authz tests.
pub const TEST_USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];

impl ControlPlane {
    /// Starts etcd and kube-apiserver. Binaries come from `TEST_ASSET_KUBE_APISERVER` /
    /// `TEST_ASSET_ETCD`, then `$KUBEBUILDER_ASSETS`, else `tests/envtest/build.sh` builds them
    /// (once per machine; it caches them outside the checkout).
    pub async fn start() -> Result<Self, Error> {
        let binaries = locate_binaries()?;
        let dir = scratch_dir("berth-controlplane-")?;
        let janitor = Supervised::janitor(&dir)?;
        let ca = CaFiles::write(&dir)?;
        let mut users = vec![User {
            name: "admin".into(),
            token: random_token(),
            groups: vec!["system:masters".into()],
        }];
        users.extend(TEST_USERS.iter().map(|n| User {
            name: (*n).into(),
            token: random_token(),
            groups: vec!["berth:testers".into()],
        }));
        let tokens: String = users
            .iter()
            .map(|u| {
                format!(
                    "{},{},{},\"{}\"\n",
                    u.token,
                    u.name,
                    u.name,
                    u.groups.join(",")
                )
            })
            .collect();
        write(dir.join("tokens.csv"), tokens)?;

        let etcd_port = free_port()?;
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let etcd = start_etcd(&binaries.etcd, &dir, etcd_port).await?;
        let mut plane = Self {
            server: String::new(),
            ca_pem: ca.ca_pem,
            kubeconfig: dir.join("kubeconfig"),
            dir,
            users,
            apiserver: None,
            etcd: Some(etcd),
            _janitor: janitor,
            etcd_url,
            binaries,
        };
        plane.start_apiserver().await?;
        Ok(plane)
    }

    async fn start_apiserver(&mut self) -> Result<(), Error> {
        let port = if self.server.is_empty() {
            free_port()?
        } else {
            self.port()
        };
        let dir = &self.dir;
        let d = dir.display();
        let args = vec![
            format!("--etcd-servers={}", self.etcd_url),
            format!("--cert-dir={d}/certs"),
            format!("--secure-port={port}"),
            "--bind-address=127.0.0.1".into(),
            // Loopback is no valid endpoint address, and a sandbox may have no default route:
            // advertise loopback and do not reconcile the `kubernetes` Endpoints.
            "--advertise-address=127.0.0.1".into(),
            "--endpoint-reconciler-type=none".into(),
            "--service-cluster-ip-range=10.0.0.0/24".into(),
            "--allow-privileged=true".into(),
            // No controller-manager creates `default` service accounts here.
            "--disable-admission-plugins=ServiceAccount".into(),
            "--authorization-mode=RBAC".into(),
            format!("--token-auth-file={d}/tokens.csv"),
            format!("--service-account-issuer=https://127.0.0.1:{port}/"),
            format!("--service-account-key-file={d}/sa.pub"),
            format!("--service-account-signing-key-file={d}/sa.key"),
            format!("--client-ca-file={d}/ca.crt"),
        ];
        let log = dir.join("kube-apiserver.log");
        let proc = Supervised::spawn(
            "kube-apiserver",
            &self.binaries.apiserver,
            &args,
            &log,
            None,
            &[],
        )?;
        self.server = format!("https://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).map_err(|e| {
                    Error::Command {
                        command: "load CA".into(),
                        detail: e.to_string(),
                    }
                })?,
            )
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Command {
                command: "build HTTP client".into(),
                detail: e.to_string(),
            })?;
        let url = format!("{}/readyz", self.server);
        let token = self.admin().token.clone();
        wait_until("kube-apiserver", &log, || async {
            client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await?;
        self.apiserver = Some(proc);
        write(self.kubeconfig.clone(), self.kubeconfig_text(self.admin()))?;
        Ok(())
    }

    fn port(&self) -> u16 {
        self.server
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_default()
    }

    /// Stops the API server (etcd keeps the data), for restart tests.
    pub fn stop_apiserver(&mut self) {
        if let Some(p) = self.apiserver.take() {
            p.stop();
        }
    }

    /// Starts the API server again on the same port.
    pub async fn restart_apiserver(&mut self) -> Result<(), Error> {
        self.stop_apiserver();
        self.start_apiserver().await
    }

    /// The `admin` user (`system:masters`).
    #[must_use]
    pub fn admin(&self) -> &User {
        &self.users[0]
    }

    /// A provisioned user by name (`admin` or one of [`TEST_USERS`]).
    #[must_use]
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// A kubeconfig document for `user`.
    #[must_use]
    pub fn kubeconfig_text(&self, user: &User) -> String {
        use base64::Engine as _;
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: berth-local\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: {name}\n  user:\n    token: {token}\ncontexts:\n- name: berth-local\n  context:\n    cluster: berth-local\n    user: {name}\ncurrent-context: berth-local\n",
            server = self.server,
            ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes()),
            name = user.name,
            token = user.token,
        )
    }

    /// A client for `user`.
    pub async fn client_for(&self, user: &User) -> Result<kube::Client, Error> {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig_text(user))?;
        let mut config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?;
        config.read_timeout = Some(Duration::from_secs(300));
        Ok(kube::Client::try_from(config)?)
    }

    /// A client for the `admin` user.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        self.client_for(self.admin()).await
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop_apiserver();
        if let Some(e) = self.etcd.take() {
            e.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start_etcd(binary: &Path, dir: &Path, port: u16) -> Result<Supervised, Error> {
    let peer = free_port()?;
    let data = dir.join("etcd");
    let args = vec![
        format!("--data-dir={}", data.display()),
        format!("--listen-client-urls=http://127.0.0.1:{port}"),
        format!("--advertise-client-urls=http://127.0.0.1:{port}"),
        format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
        format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
        format!("--initial-cluster=default=http://127.0.0.1:{peer}"),
        // Test data: losing it on a crash is fine, and fsync dominates start-up on slow disks.
        "--unsafe-no-fsync=true".into(),
        "--log-level=warn".into(),
    ];
    let log = dir.join("etcd.log");
    let proc = Supervised::spawn("etcd", binary, &args, &log, None, &[])?;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/health");
    wait_until("etcd", &log, || async {
        client
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await?;
    Ok(proc)
}

/// Polls `ready` every 100 ms until it is true or the start time-out passes.
pub(super) async fn wait_until<F, Fut>(
    what: &'static str,
    log: &Path,
    mut ready: F,
) -> Result<(), Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < START_TIMEOUT {
        if ready().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Error::NotReady {
        what,
        seconds: START_TIMEOUT.as_secs(),
        log: log.to_owned(),
    })
}

fn locate_binaries() -> Result<Binaries, Error> {
    let from_env = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_file())
    };
    let assets = std::env::var_os("KUBEBUILDER_ASSETS").map(PathBuf::from);
    let in_assets = |name: &str| {
        assets
            .as_ref()
            .map(|a| a.join(name))
            .filter(|p| p.is_file())
    };
    if let (Some(apiserver), Some(etcd)) = (
        from_env("TEST_ASSET_KUBE_APISERVER").or_else(|| in_assets("kube-apiserver")),
        from_env("TEST_ASSET_ETCD").or_else(|| in_assets("etcd")),
    ) {
        return Ok(Binaries { apiserver, etcd });
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/envtest/build.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| Error::Binary {
            what: "kube-apiserver and etcd",
            detail: format!("{}: {e}", script.display()),
        })?;
    if !out.status.success() {
        return Err(Error::Binary {
            what: "kube-apiserver and etcd",
            detail: format!("{} exited with {}", script.display(), out.status),
        });
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(Binaries {
        apiserver: dir.join("kube-apiserver"),
        etcd: dir.join("etcd"),
    })
}

struct CaFiles {
    ca_pem: String,
}

impl CaFiles {
    /// A throwaway CA, the API server's serving certificate (localhost, 127.0.0.1) in
    /// `certs/apiserver.{crt,key}` where kube-apiserver picks it up, and the service-account key pair.
    fn write(dir: &Path) -> Result<Self, Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "berth local CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let mut leaf = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "kubernetes".into(),
            "kubernetes.default.svc".into(),
        ])?;
        leaf.distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &ca)?;

        let certs = dir.join("certs");
        std::fs::create_dir_all(&certs).map_err(|source| Error::Io {
            path: certs.clone(),
            source,
        })?;
        write(certs.join("apiserver.crt"), leaf_cert.pem())?;
        write(certs.join("apiserver.key"), leaf_key.serialize_pem())?;
        write(dir.join("ca.crt"), ca.pem())?;

        let sa = KeyPair::generate()?;
        write(dir.join("sa.key"), sa.serialize_pem())?;
        write(dir.join("sa.pub"), sa.public_key_pem())?;
        Ok(Self { ca_pem: ca.pem() })
    }
}

fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect()
}
