//! `berth sandbox`: API-faithful simulators of Vercel, Cloudflare, Supabase and Railway, plus an
//! "apps" server that answers the deployed services' URLs.
//!
//! Each simulator is an axum server on its own loopback port, keeps its state in memory, follows
//! `shared/reference/providers.md` (paths, payloads, enums, error shapes, rate-limit headers)
//! and takes faults at run time (see [`faults`]). Every server also serves an admin API:
//!
//! - `GET /_sandbox/faults`, `POST /_sandbox/faults` (a [`FaultConfig`] body replaces the faults),
//!   `DELETE /_sandbox/faults`;
//! - `GET /_sandbox/state`: the simulator's whole state as JSON (ids of the fixtures included),
//!   and the API requests it received (`requests`: reads, writes, the recent writes by name);
//! - `GET /_sandbox/dns`, `POST /_sandbox/dns` (`{"type","name","value"}` or an array):
//!   records the sandbox treats as existing in public DNS.
//!
//! **Domain verification.** A custom domain (Vercel project domain, Railway custom domain) starts
//! unverified and verifies once the records it requires exist: a record exists if it is in a
//! Cloudflare-simulator zone or was declared through `POST /_sandbox/dns`. With
//! [`SandboxConfig::domain_verify_after`] set, domains also verify after that delay. The
//! `domains_never_verify` fault overrides both. With [`SandboxConfig::dns_server`] set, what
//! that name server answers counts too (see [`resolver`]), so a real authoritative server
//! (PowerDNS in the tests) can stand for the public DNS the platforms check.
//!
//! **Apps.** Deployment and domain hostnames (`*.vercel.app`, `*.up.railway.app`, custom
//! domains) are served by the apps server: send the request to [`SandboxHandle::apps_url`] with
//! the hostname in `Host` (e.g. reqwest's `resolve`), or as the first path segment
//! (`{apps_url}/{host}/health`).
//!
//! Randomness (ids, injected faults, build failures) comes from the seed, so the same seed and
//! the same request sequence replay the same run.

// Handlers return the provider's error response early through `Result<_, Response>`; boxing
// every early return would only add noise to request paths that are cheap anyway.
#![allow(clippy::result_large_err)]

mod apps;
mod cloudflare;
pub mod faults;
mod railway;
pub mod resolver;
mod supabase;
mod vercel;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

pub use faults::{BuildFault, Dialect, Fate, FaultConfig, Faults, RateInfo, RequestTally};
pub use vercel::{TEAM_ID as VERCEL_TEAM_ID, TEAM_SLUG as VERCEL_TEAM_SLUG};

use faults::lock;

/// Errors starting the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A listener could not bind.
    #[error("failed to bind the {server} simulator to {addr}")]
    Bind {
        server: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The providers simulated (and the apps server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Server {
    Vercel,
    Cloudflare,
    Supabase,
    Railway,
    Apps,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Self::Vercel => "vercel",
            Self::Cloudflare => "cloudflare",
            Self::Supabase => "supabase",
            Self::Railway => "railway",
            Self::Apps => "apps",
        }
    }
}

/// Ports to listen on (127.0.0.1); 0 picks a free one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ports {
    pub vercel: u16,
    pub cloudflare: u16,
    pub supabase: u16,
    pub railway: u16,
    pub apps: u16,
}

/// The tokens each simulator accepts.
#[derive(Clone, Debug, Serialize)]
pub struct Tokens {
    /// Vercel: `Authorization: Bearer …`.
    pub vercel: String,
    /// Cloudflare: `Authorization: Bearer …`.
    pub cloudflare: String,
    /// Supabase Management API personal access token.
    pub supabase: String,
    /// Railway account token: `Authorization: Bearer …`.
    pub railway: String,
    /// Railway project token (`Project-Access-Token: …`), scoped to the fixture project's
    /// first environment.
    pub railway_project: String,
}

impl Default for Tokens {
    fn default() -> Self {
        Self {
            vercel: "sandbox-vercel-token".into(),
            cloudflare: "sandbox-cloudflare-token".into(),
            supabase: "sbp_sandbox0000000000000000000000000000000".into(),
            railway: "sandbox-railway-token".into(),
            railway_project: "sandbox-railway-project-token".into(),
        }
    }
}

/// How long each step of a deployment takes.
#[derive(Clone, Copy, Debug)]
pub struct Steps {
    /// Waiting to start (Vercel `QUEUED`, Railway `QUEUED`).
    pub queue: Duration,
    /// Building (Vercel and Railway `BUILDING`).
    pub build: Duration,
    /// Rolling out (Vercel `INITIALIZING`, Railway `DEPLOYING`; Supabase `RESTORING`).
    pub deploy: Duration,
}

impl Default for Steps {
    fn default() -> Self {
        Self {
            queue: Duration::from_millis(50),
            build: Duration::from_millis(200),
            deploy: Duration::from_millis(200),
        }
    }
}

/// A named fixture, with the id it should have (`None`: a seeded random one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fixture {
    pub name: String,
    pub id: Option<String>,
}

impl From<&str> for Fixture {
    fn from(name: &str) -> Self {
        Self {
            name: name.into(),
            id: None,
        }
    }
}

impl Fixture {
    /// A fixture with a fixed id.
    #[must_use]
    pub fn with_id(name: &str, id: &str) -> Self {
        Self {
            name: name.into(),
            id: Some(id.into()),
        }
    }
}

/// What exists when the sandbox starts.
#[derive(Clone, Debug)]
pub struct Fixtures {
    /// Vercel project names (deploying with a new `name` creates one too).
    pub vercel_projects: Vec<String>,
    /// The Vercel team the token belongs to (its id; requests for any other team get 403).
    pub vercel_team: String,
    /// Cloudflare zone names.
    pub cloudflare_zones: Vec<String>,
    /// Supabase projects (the id is the 20-letter project ref).
    pub supabase_projects: Vec<Fixture>,
    /// The Railway project.
    pub railway_project: Fixture,
    /// The Railway project's environments.
    pub railway_environments: Vec<Fixture>,
    /// The Railway project's services.
    pub railway_services: Vec<Fixture>,
}

impl Default for Fixtures {
    fn default() -> Self {
        Self {
            vercel_projects: vec!["web".into()],
            vercel_team: vercel::TEAM_ID.into(),
            cloudflare_zones: vec!["example.com".into()],
            supabase_projects: vec!["db".into()],
            railway_project: "app".into(),
            railway_environments: vec!["production".into(), "staging".into()],
            railway_services: vec!["api".into(), "worker".into()],
        }
    }
}

impl Fixtures {
    /// The accounts of the Vocilia example estate (`manifests/examples/vocilia`), with the
    /// example's ids, so the example reconciles against the sandbox unchanged.
    #[must_use]
    pub fn vocilia() -> Self {
        Self {
            vercel_projects: [
                "vocilia-customer",
                "vocilia-business",
                "vocilia-admin",
                "vocilia-customer-staging",
            ]
            .map(String::from)
            .to_vec(),
            vercel_team: "team_vocilia0prod0example".into(),
            cloudflare_zones: vec!["vocilia.com".into()],
            supabase_projects: vec![
                Fixture::with_id("vocilia-production", "vocprod4k2m9x7q1z8w3"),
                Fixture::with_id("vocilia-staging", "vocstag5n3p8r2t6y1u4"),
            ],
            railway_project: Fixture::with_id("vocilia", "5b3c9e1a-7d42-4f8e-9a61-2c0d8e4f7b13"),
            railway_environments: vec![
                Fixture::with_id("production", "e1f0a2b3-4c5d-4e6f-8a7b-9c0d1e2f3a4b"),
                Fixture::with_id("staging", "a7c1d9e2-3b4f-4a5c-8d6e-0f1a2b3c4d5e"),
            ],
            railway_services: vec![Fixture::with_id(
                "vocilia-api",
                "9f8e7d6c-5b4a-4321-8fed-cba987654321",
            )],
        }
    }
}

/// Everything [`Sandbox::start`] needs.
#[derive(Clone, Debug, Default)]
pub struct SandboxConfig {
    pub ports: Ports,
    pub seed: u64,
    pub tokens: Tokens,
    pub steps: Steps,
    pub fixtures: Fixtures,
    /// Verify custom domains after this long even without their records.
    pub domain_verify_after: Option<Duration>,
    /// Also treat as existing what this name server answers (see [`resolver`]).
    pub dns_server: Option<SocketAddr>,
}

/// A DNS record the sandbox treats as existing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// `A`, `CNAME`, `TXT`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Fully qualified name.
    pub name: String,
    /// Content (TXT without quotes, hostnames with or without the trailing dot).
    pub value: String,
}

fn norm_name(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn norm_value(kind: &str, s: &str) -> String {
    let s = s.trim();
    if kind.eq_ignore_ascii_case("TXT") {
        s.trim_matches('"').to_string()
    } else {
        norm_name(s)
    }
}

/// Public DNS as the sandbox sees it: Cloudflare-simulator records plus declared ones.
pub struct World {
    declared: Mutex<Vec<DnsRecord>>,
    cloudflare: Arc<cloudflare::State>,
    verify_after: Option<Duration>,
    resolved: Option<Arc<resolver::Resolved>>,
}

impl World {
    /// Whether a record of this type, name and value exists.
    pub fn exists(&self, kind: &str, name: &str, value: &str) -> bool {
        let (name, value) = (norm_name(name), norm_value(kind, value));
        let hit = |k: &str, n: &str, v: &str| {
            k.eq_ignore_ascii_case(kind) && norm_name(n) == name && norm_value(kind, v) == value
        };
        lock(&self.declared)
            .iter()
            .any(|r| hit(&r.kind, &r.name, &r.value))
            || self.cloudflare.any_record(|k, n, v| hit(k, n, v))
            || self.resolved.as_ref().is_some_and(|r| {
                r.answers(kind, &name)
                    .iter()
                    .any(|v| norm_value(kind, v) == value)
            })
    }

    /// The current value of the first record of this type and name.
    pub fn current(&self, kind: &str, name: &str) -> Option<String> {
        let name = norm_name(name);
        let found = lock(&self.declared)
            .iter()
            .find(|r| r.kind.eq_ignore_ascii_case(kind) && norm_name(&r.name) == name)
            .map(|r| r.value.clone());
        found
            .or_else(|| {
                let mut out = None;
                self.cloudflare.any_record(|k, n, v| {
                    let hit = k.eq_ignore_ascii_case(kind) && norm_name(n) == name;
                    if hit {
                        out = Some(v.to_string());
                    }
                    hit
                });
                out
            })
            .or_else(|| {
                self.resolved
                    .as_ref()
                    .and_then(|r| r.answers(kind, &name).into_iter().next())
            })
    }

    /// Whether a domain created `age` ago verifies by delay alone.
    pub fn verified_by_delay(&self, age: Duration) -> bool {
        self.verify_after.is_some_and(|d| age >= d)
    }

    /// Declare records as existing.
    pub fn declare(&self, records: impl IntoIterator<Item = DnsRecord>) {
        lock(&self.declared).extend(records);
    }

    fn declared(&self) -> Vec<DnsRecord> {
        lock(&self.declared).clone()
    }
}

/// State shared by a simulator's handlers: ids, steps, shutdown and the world.
pub(crate) struct Common {
    rng: Mutex<StdRng>,
    pub(crate) steps: Steps,
    pub(crate) faults: Arc<Faults>,
    pub(crate) world: Arc<World>,
    shutdown: watch::Receiver<bool>,
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

impl Common {
    /// `len` random characters from `alphabet` (seeded).
    pub(crate) fn random(&self, alphabet: &[u8], len: usize) -> String {
        let mut rng = lock(&self.rng);
        (0..len)
            .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
            .collect()
    }

    /// A base62 id with a prefix (`dpl_…`).
    pub(crate) fn id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.random(ALNUM, 24))
    }

    /// Lowercase hex.
    pub(crate) fn hex(&self, len: usize) -> String {
        self.random(b"0123456789abcdef", len)
    }

    /// A UUID-shaped id (Railway).
    pub(crate) fn uuid(&self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// Run a deployment's steps in the background. `advance` moves it to the given phase and
    /// returns false if it was cancelled meanwhile (which stops the pipeline).
    pub(crate) fn pipeline(&self, fate: Fate, advance: impl Fn(Phase) -> bool + Send + 'static) {
        let steps = self.steps;
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let run = async move {
                tokio::time::sleep(steps.queue).await;
                if !advance(Phase::Building) {
                    return;
                }
                tokio::time::sleep(steps.build).await;
                match fate {
                    Fate::Hang => std::future::pending::<()>().await,
                    Fate::Fail => {
                        advance(Phase::Failed);
                    }
                    Fate::Succeed => {
                        if advance(Phase::Deploying) {
                            tokio::time::sleep(steps.deploy).await;
                            advance(Phase::Ready);
                        }
                    }
                }
            };
            tokio::select! {
                () = run => {}
                _ = shutdown.wait_for(|s| *s) => {}
            }
        });
    }
}

/// A step of the generic deployment pipeline (mapped onto each provider's enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Building,
    Deploying,
    Ready,
    Failed,
}

/// What the apps server needs to know about a hostname.
pub(crate) struct AppTarget {
    /// The deployment serving it (empty if none).
    pub deployment: String,
    /// Whether that deployment is live.
    pub ready: bool,
}

/// A simulator's state as seen by the admin API.
pub(crate) trait Snapshot: Send + Sync + 'static {
    fn snapshot(&self) -> serde_json::Value;
}

#[derive(Clone)]
struct Admin {
    faults: Arc<Faults>,
    world: Arc<World>,
    state: Arc<dyn Snapshot>,
}

fn admin_routes(admin: Admin) -> Router {
    async fn get_faults(State(a): State<Admin>) -> Json<FaultConfig> {
        Json(a.faults.get())
    }
    async fn set_faults(State(a): State<Admin>, Json(c): Json<FaultConfig>) -> Json<FaultConfig> {
        a.faults.set(c);
        Json(a.faults.get())
    }
    async fn clear_faults(State(a): State<Admin>) -> Json<FaultConfig> {
        a.faults.clear();
        Json(a.faults.get())
    }
    async fn state(State(a): State<Admin>) -> Json<serde_json::Value> {
        Json(serde_json::json!({
            "server": a.faults.name(),
            "faults": a.faults.get(),
            "faultsInjected": a.faults.injected(),
            "requests": a.faults.requests(),
            "state": a.state.snapshot(),
        }))
    }
    async fn get_dns(State(a): State<Admin>) -> Json<Vec<DnsRecord>> {
        Json(a.world.declared())
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(DnsRecord),
        Many(Vec<DnsRecord>),
    }
    async fn add_dns(State(a): State<Admin>, Json(body): Json<OneOrMany>) -> Response {
        let records = match body {
            OneOrMany::One(r) => vec![r],
            OneOrMany::Many(v) => v,
        };
        a.world.declare(records);
        (StatusCode::CREATED, Json(a.world.declared())).into_response()
    }
    Router::new()
        .route(
            "/_sandbox/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/_sandbox/state", get(state))
        .route("/_sandbox/dns", get(get_dns).post(add_dns))
        .with_state(admin)
}

/// The entry point: see [`Sandbox::start`].
pub struct Sandbox;

/// A running sandbox. Dropping it stops every server.
pub struct SandboxHandle {
    urls: Urls,
    tokens: Tokens,
    faults: Vec<(Server, Arc<Faults>)>,
    world: Arc<World>,
    tasks: Vec<JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
}

/// Base URLs (`http://127.0.0.1:<port>`, no trailing slash).
#[derive(Clone, Debug, Serialize)]
pub struct Urls {
    pub vercel: String,
    pub cloudflare: String,
    pub supabase: String,
    pub railway: String,
    pub apps: String,
}

async fn bind(server: Server, port: u16) -> Result<TcpListener, Error> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpListener::bind(addr).await.map_err(|source| Error::Bind {
        server: server.name(),
        addr,
        source,
    })
}

fn base(listener: &TcpListener, server: Server) -> Result<String, Error> {
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        server: server.name(),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        source,
    })?;
    Ok(format!("http://{addr}"))
}

impl Sandbox {
    /// Bind every server and start serving (inside a tokio runtime).
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, Error> {
        let (tx, rx) = watch::channel(false);
        let seed = config.seed;
        let p = config.ports;
        let listeners = [
            (Server::Vercel, bind(Server::Vercel, p.vercel).await?),
            (
                Server::Cloudflare,
                bind(Server::Cloudflare, p.cloudflare).await?,
            ),
            (Server::Supabase, bind(Server::Supabase, p.supabase).await?),
            (Server::Railway, bind(Server::Railway, p.railway).await?),
            (Server::Apps, bind(Server::Apps, p.apps).await?),
        ];
        let url = |s: Server| -> Result<String, Error> {
            let (_, l) = listeners.iter().find(|(k, _)| *k == s).ok_or(Error::Bind {
                server: s.name(),
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                source: std::io::Error::other("no listener"),
            })?;
            base(l, s)
        };
        let urls = Urls {
            vercel: url(Server::Vercel)?,
            cloudflare: url(Server::Cloudflare)?,
            supabase: url(Server::Supabase)?,
            railway: url(Server::Railway)?,
            apps: url(Server::Apps)?,
        };

        let faults = |s: Server| Arc::new(Faults::new(s.name(), seed, window(s)));
        let common = |s: Server, f: &Arc<Faults>, world: &Arc<World>| Common {
            rng: Mutex::new(StdRng::seed_from_u64(seed.wrapping_add(s as u64 + 1))),
            steps: config.steps,
            faults: f.clone(),
            world: world.clone(),
            shutdown: rx.clone(),
        };

        let cf_faults = faults(Server::Cloudflare);
        let cf_rng = Mutex::new(StdRng::seed_from_u64(
            seed.wrapping_add(Server::Cloudflare as u64 + 1),
        ));
        let cf = Arc::new(cloudflare::State::new(
            cf_rng,
            &config.fixtures.cloudflare_zones,
        ));
        let resolved = config
            .dns_server
            .map(|server| Arc::new(resolver::Resolved::new(server)));
        let world = Arc::new(World {
            declared: Mutex::new(Vec::new()),
            cloudflare: cf.clone(),
            verify_after: config.domain_verify_after,
            resolved: resolved.clone(),
        });

        let v_faults = faults(Server::Vercel);
        let vercel = Arc::new(vercel::State::new(
            common(Server::Vercel, &v_faults, &world),
            &config.fixtures.vercel_projects,
            &config.fixtures.vercel_team,
        ));
        let s_faults = faults(Server::Supabase);
        let supabase = Arc::new(supabase::State::new(
            common(Server::Supabase, &s_faults, &world),
            &config.fixtures.supabase_projects,
        ));
        let r_faults = faults(Server::Railway);
        let railway = Arc::new(railway::State::new(
            common(Server::Railway, &r_faults, &world),
            &config.fixtures,
            config.tokens.clone(),
        ));
        let a_faults = faults(Server::Apps);

        let routers: Vec<(Server, Router, Arc<Faults>)> = vec![
            (
                Server::Vercel,
                vercel::router(
                    vercel.clone(),
                    &config.tokens.vercel,
                    v_faults.clone(),
                    &world,
                ),
                v_faults.clone(),
            ),
            (
                Server::Cloudflare,
                cloudflare::router(
                    cf.clone(),
                    &config.tokens.cloudflare,
                    cf_faults.clone(),
                    &world,
                ),
                cf_faults.clone(),
            ),
            (
                Server::Supabase,
                supabase::router(supabase, &config.tokens.supabase, s_faults.clone(), &world),
                s_faults.clone(),
            ),
            (
                Server::Railway,
                railway::router(railway.clone(), r_faults.clone(), &world),
                r_faults.clone(),
            ),
            (
                Server::Apps,
                apps::router(vercel, railway, a_faults.clone(), &world),
                a_faults.clone(),
            ),
        ];

        let mut tasks = Vec::new();
        if let Some(r) = resolved {
            tasks.push(tokio::spawn(resolver::run(r, rx.clone())));
        }
        let mut all_faults = Vec::new();
        for ((server, listener), (_, router, f)) in listeners.into_iter().zip(routers) {
            all_faults.push((server, f));
            let mut stop = rx.clone();
            tasks.push(tokio::spawn(async move {
                let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                });
                if let Err(e) = serve.await {
                    tracing::warn!(server = server.name(), error = %e, "sandbox server stopped");
                }
            }));
        }
        Ok(SandboxHandle {
            urls,
            tokens: config.tokens,
            faults: all_faults,
            world,
            tasks,
            shutdown: tx,
        })
    }
}

/// Each provider's documented request window.
fn window(s: Server) -> faults::RateWindow {
    let (limit, secs) = match s {
        // "api-projects" at 120 per minute is the bucket seen in the wild.
        Server::Vercel => (120, 60),
        Server::Cloudflare => (1200, 300),
        Server::Supabase => (120, 60),
        // Pro plan: 10,000 per hour.
        Server::Railway => (10_000, 3600),
        Server::Apps => (u32::MAX, 60),
    };
    faults::RateWindow {
        limit,
        window: Duration::from_secs(secs),
    }
}

impl SandboxHandle {
    /// Every base URL.
    pub fn urls(&self) -> &Urls {
        &self.urls
    }
    /// Vercel base URL (stands for `https://api.vercel.com`).
    pub fn vercel_url(&self) -> &str {
        &self.urls.vercel
    }
    /// Cloudflare base URL (stands for `https://api.cloudflare.com/client/v4`).
    pub fn cloudflare_url(&self) -> &str {
        &self.urls.cloudflare
    }
    /// Supabase base URL (stands for `https://api.supabase.com`).
    pub fn supabase_url(&self) -> &str {
        &self.urls.supabase
    }
    /// Railway base URL; the endpoint is `{railway_url}/graphql/v2`.
    pub fn railway_url(&self) -> &str {
        &self.urls.railway
    }
    /// The apps server (deployed services' hostnames).
    pub fn apps_url(&self) -> &str {
        &self.urls.apps
    }
    /// The apps server's socket address, for `reqwest::ClientBuilder::resolve`.
    pub fn apps_addr(&self) -> Option<SocketAddr> {
        self.urls.apps.trim_start_matches("http://").parse().ok()
    }
    /// The accepted tokens.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }
    /// A server's fault switchboard.
    pub fn faults(&self, server: Server) -> Option<&Faults> {
        self.faults
            .iter()
            .find(|(s, _)| *s == server)
            .map(|(_, f)| f.as_ref())
    }
    /// Declare DNS records as existing (see the module docs on domain verification).
    pub fn declare_dns(&self, records: impl IntoIterator<Item = DnsRecord>) {
        self.world.declare(records);
    }
    /// Stop every server now.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `berth sandbox` arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct SandboxArgs {
    /// Vercel simulator port (0 = any free port).
    #[arg(long, default_value_t = 4001, env = "BERTH_SANDBOX_VERCEL_PORT")]
    pub vercel_port: u16,
    /// Cloudflare simulator port.
    #[arg(long, default_value_t = 4002, env = "BERTH_SANDBOX_CLOUDFLARE_PORT")]
    pub cloudflare_port: u16,
    /// Supabase simulator port.
    #[arg(long, default_value_t = 4003, env = "BERTH_SANDBOX_SUPABASE_PORT")]
    pub supabase_port: u16,
    /// Railway simulator port.
    #[arg(long, default_value_t = 4004, env = "BERTH_SANDBOX_RAILWAY_PORT")]
    pub railway_port: u16,
    /// Apps server port (deployed services' URLs).
    #[arg(long, default_value_t = 4005, env = "BERTH_SANDBOX_APPS_PORT")]
    pub apps_port: u16,
    /// Seed for ids and injected faults; replay a run with the same seed.
    #[arg(long, default_value_t = 0, env = "BERTH_SANDBOX_SEED")]
    pub seed: u64,
    /// Accepted Vercel token.
    #[arg(
        long,
        default_value = "sandbox-vercel-token",
        env = "BERTH_SANDBOX_VERCEL_TOKEN"
    )]
    pub vercel_token: String,
    /// Accepted Cloudflare token.
    #[arg(
        long,
        default_value = "sandbox-cloudflare-token",
        env = "BERTH_SANDBOX_CLOUDFLARE_TOKEN"
    )]
    pub cloudflare_token: String,
    /// Accepted Supabase access token.
    #[arg(
        long,
        default_value = "sbp_sandbox0000000000000000000000000000000",
        env = "BERTH_SANDBOX_SUPABASE_TOKEN"
    )]
    pub supabase_token: String,
    /// Accepted Railway account token (Bearer).
    #[arg(
        long,
        default_value = "sandbox-railway-token",
        env = "BERTH_SANDBOX_RAILWAY_TOKEN"
    )]
    pub railway_token: String,
    /// Accepted Railway project token (`Project-Access-Token`).
    #[arg(
        long,
        default_value = "sandbox-railway-project-token",
        env = "BERTH_SANDBOX_RAILWAY_PROJECT_TOKEN"
    )]
    pub railway_project_token: String,
    /// Queue step (ms).
    #[arg(long, default_value_t = 50)]
    pub queue_ms: u64,
    /// Build step (ms).
    #[arg(long, default_value_t = 200)]
    pub build_ms: u64,
    /// Deploy step (ms); also the Supabase restore time.
    #[arg(long, default_value_t = 200)]
    pub deploy_ms: u64,
    /// Verify custom domains after this many ms even without their DNS records.
    #[arg(long)]
    pub domain_verify_after_ms: Option<u64>,
    /// A name server (`ip:port`) whose answers count as public DNS for domain verification,
    /// e.g. the PowerDNS that serves the zone berth writes to.
    #[arg(long, env = "BERTH_SANDBOX_DNS_SERVER")]
    pub dns_server: Option<SocketAddr>,
    /// The accounts that exist at start: a small generic set, or the Vocilia example's
    /// projects and ids (so `manifests/examples/vocilia` reconciles against the sandbox).
    #[arg(long, value_enum, default_value_t = FixtureSet::Generic, env = "BERTH_SANDBOX_FIXTURES")]
    pub fixtures: FixtureSet,
}

/// Named fixture sets for `berth sandbox --fixtures`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FixtureSet {
    /// `web`, `example.com`, `db`, `app` with `api` and `worker`, random ids.
    Generic,
    /// [`Fixtures::vocilia`].
    Vocilia,
}

impl SandboxArgs {
    /// The configuration these flags describe.
    pub fn config(&self) -> SandboxConfig {
        SandboxConfig {
            ports: Ports {
                vercel: self.vercel_port,
                cloudflare: self.cloudflare_port,
                supabase: self.supabase_port,
                railway: self.railway_port,
                apps: self.apps_port,
            },
            seed: self.seed,
            tokens: Tokens {
                vercel: self.vercel_token.clone(),
                cloudflare: self.cloudflare_token.clone(),
                supabase: self.supabase_token.clone(),
                railway: self.railway_token.clone(),
                railway_project: self.railway_project_token.clone(),
            },
            steps: Steps {
                queue: Duration::from_millis(self.queue_ms),
                build: Duration::from_millis(self.build_ms),
                deploy: Duration::from_millis(self.deploy_ms),
            },
            fixtures: match self.fixtures {
                FixtureSet::Generic => Fixtures::default(),
                FixtureSet::Vocilia => Fixtures::vocilia(),
            },
            domain_verify_after: self.domain_verify_after_ms.map(Duration::from_millis),
            dns_server: self.dns_server,
        }
    }
}

/// `berth sandbox`: start, print the URLs and tokens, serve until Ctrl-C.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let handle = Sandbox::start(args.config()).await?;
    let u = handle.urls();
    let t = handle.tokens();
    println!("berth sandbox (seed {})", args.seed);
    println!("  vercel      {}    token {}", u.vercel, t.vercel);
    println!("  cloudflare  {}    token {}", u.cloudflare, t.cloudflare);
    println!("  supabase    {}    token {}", u.supabase, t.supabase);
    println!(
        "  railway     {}/graphql/v2    token {} (project token {})",
        u.railway, t.railway, t.railway_project
    );
    println!("  apps        {}", u.apps);
    println!("admin on every server: /_sandbox/faults, /_sandbox/state, /_sandbox/dns");
    tokio::signal::ctrl_c().await?;
    handle.shutdown();
    Ok(())
}

/// A provider's API router behind its fault/auth guard, plus the admin API.
pub(crate) fn assemble(
    api: Router,
    dialect: Arc<dyn Dialect>,
    faults: Arc<Faults>,
    world: &Arc<World>,
    state: Arc<dyn Snapshot>,
) -> Router {
    let guard = faults::Guard {
        dialect,
        faults: faults.clone(),
    };
    api.layer(axum::middleware::from_fn_with_state(guard, faults::guard))
        .merge(admin_routes(Admin {
            faults,
            world: world.clone(),
            state,
        }))
}
