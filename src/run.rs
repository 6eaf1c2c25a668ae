//! Wiring for the long-running commands: `berth controller` and `berth up`.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use anyhow::Context as _;
use kube::runtime::events::{Recorder, Reporter};
use tokio::sync::watch;

use crate::{
    controllers::{self, Context, Metrics, backoff::Backoff},
    http, jobs, leader,
    store::Store,
};

/// Arguments of `berth controller`.
#[derive(clap::Args, Debug, Clone)]
pub struct ControllerArgs {
    /// Address for health, metrics and the admin API.
    #[arg(long, env = "BERTH_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// The history store (`--database-url`).
    #[command(flatten)]
    pub database: crate::store::DatabaseArgs,
    /// Namespace of the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "berth-system")]
    pub lease_namespace: String,
    /// This replica's name (the pod name in a cluster).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// How often healthy objects are re-checked for provider drift (seconds).
    #[arg(long, env = "BERTH_RESYNC_SECONDS", default_value_t = 300)]
    pub resync_seconds: u64,
    /// Manage only this namespace (a namespace-scoped install); default: all namespaces.
    #[arg(long, env = "BERTH_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// Send deployment health checks to this base URL, with the deployment's host as the first
    /// path segment, instead of to the deployment's own URL (for the berth sandbox's apps server).
    #[arg(long, env = "BERTH_HEALTH_CHECK_VIA")]
    pub health_check_via: Option<String>,
    /// The Secret (`namespace/name`, or `name` in the lease namespace) whose keys are alert
    /// webhook receivers (see docs/monitoring.md); without it alerts are stored and published
    /// as Events only.
    #[arg(long, env = "BERTH_ALERT_RECEIVERS_SECRET")]
    pub alert_receivers_secret: Option<String>,
    /// How often the leader evaluates the alert rules (seconds).
    #[arg(long, env = "BERTH_ALERT_INTERVAL_SECONDS", default_value_t = 30)]
    pub alert_interval_seconds: u64,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "BERTH_LOG_JSON")]
    pub log_json: bool,
    /// Requests per second berth allows itself per provider account (burst: twice that).
    /// Default: 10, under every provider's documented limit; raise it for accounts with
    /// higher limits.
    #[arg(long, env = "BERTH_PROVIDER_RATE")]
    pub provider_rate: Option<f64>,
    /// Reconciles of one kind that may run at once. A reconcile mostly waits (on the API
    /// server, a provider, a health check), so this is well above the core count.
    #[arg(long, env = "BERTH_CONCURRENCY", default_value_t = controllers::DEFAULT_CONCURRENCY)]
    pub concurrency: u16,
    /// Probe history retention.
    #[command(flatten)]
    pub monitoring: crate::monitoring::job::Args,
}

/// Arguments of `berth up`.
#[derive(clap::Args, Debug, Clone)]
pub struct UpArgs {
    /// Address for health, metrics and the admin API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the example estate to apply (a kustomization).
    #[arg(long, default_value = "manifests/examples/vocilia")]
    pub example: PathBuf,
    /// Start everything, apply the example, print the endpoints, wait until all objects have
    /// status, then exit (for smoke tests) instead of running until Ctrl-C.
    #[arg(long)]
    pub check: bool,
}

/// Runs the controller process until SIGTERM or Ctrl-C.
pub async fn controller(args: ControllerArgs) -> anyhow::Result<()> {
    init_tracing(args.log_json);
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes configuration (in-cluster or KUBECONFIG)")?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    serve(client, args, rx).await
}

/// Runs the controllers, the leader election, the probes and the HTTP server with `client`
/// until `shutdown` turns true.
pub async fn serve(
    client: kube::Client,
    args: ControllerArgs,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let identity = format!(
        "{}-{}",
        args.identity.clone().unwrap_or_else(hostname),
        short_id()
    );
    let store = args
        .database
        .database_url
        .as_deref()
        .map(|url| Store::connect_lazy(url, 8))
        .transpose()
        .context("invalid --database-url")?;
    if let Some(store) = store.clone() {
        tokio::spawn(migrate_until_done(store, shutdown.clone()));
    }

    let (leading, election) = leader::spawn(
        client.clone(),
        leader::Config::new(&args.lease_namespace, &identity),
        shutdown.clone(),
    );
    let metrics = Arc::new(Metrics::default());
    let mut providers = crate::providers::Pool::default();
    if let Some(rate) = args.provider_rate.filter(|r| *r > 0.0) {
        providers = providers.with_budget(crate::providers::http::BudgetConfig {
            per_second: rate,
            // Rounded up, and at least one request: a budget of zero would stall every call.
            burst: (rate * 2.0).ceil().clamp(1.0, f64::from(u32::MAX)) as u32,
            ..crate::providers::http::BudgetConfig::default()
        });
    }
    let alert_metrics = Arc::new(crate::alerts::AlertMetrics::default());
    let open_alerts = crate::alerts::OpenAlerts::default();
    let ctx = Arc::new(Context {
        client: client.clone(),
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "berth".into(),
                instance: Some(identity.clone()),
            },
        ),
        metrics: metrics.clone(),
        backoff: Backoff::new(Duration::from_secs(5), Duration::from_secs(300)),
        leader: leading.clone(),
        resync: Duration::from_secs(args.resync_seconds),
        namespace: args.watch_namespace.clone(),
        store: store.clone(),
        health_check_via: args.health_check_via.clone(),
        providers: providers.clone(),
        concurrency: args.concurrency,
        backups: store
            .clone()
            .map(|s| Arc::new(controllers::backup_policy::Runner::new(s))),
        alerts: open_alerts.clone(),
    });
    let recorder = ctx.recorder.clone();
    let (caches, controllers) = controllers::run_all(ctx, shutdown.clone());

    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    providers.metrics().register(&mut registry);
    let probe_metrics = crate::monitoring::ProbeMetrics::default();
    probe_metrics.register(&mut registry, caches.clone());
    let jobs = Arc::new(jobs::Registry::default());
    // Probes and rollups need the history database; the leader runs them (see `leader`).
    let monitoring = store.clone().map(|store| {
        let job = crate::monitoring::job::Monitoring {
            caches: caches.clone(),
            store,
            metrics: probe_metrics,
            jobs: jobs.clone(),
            leader: leading.clone(),
            config: crate::monitoring::Config::new(&args.monitoring, args.health_check_via.clone()),
        };
        tokio::spawn(job.run(shutdown.clone()))
    });
    alert_metrics.register(&mut registry);
    let ready = Arc::new(AtomicBool::new(false));
    let state = http::AppState {
        caches: caches.clone(),
        metrics,
        registry: Arc::new(registry),
        probes: http::probes::Shared::default(),
        leader: leading,
        identity: identity.clone(),
        ready: ready.clone(),
        jobs,
        providers,
    };
    let admin = crate::admin::AdminState::new(
        client.clone(),
        caches.clone(),
        store.clone(),
        args.monitoring.retention(),
    );
    if let Some(store) = store.clone() {
        let config = alert_config(&args);
        let evaluator =
            crate::alerts::Evaluator::new(store, client.clone(), recorder, alert_metrics, config)
                .context("cannot build the webhook client")?
                .publishing_to(open_alerts);
        tokio::spawn(Arc::new(evaluator).run(
            caches.clone(),
            state.providers.clone(),
            state.leader.clone(),
            state.jobs.clone(),
            shutdown.clone(),
        ));
    }
    tokio::spawn(http::probes::run(
        client,
        store,
        state.probes.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(mark_ready_when_synced(
        caches.clone(),
        ready.clone(),
        shutdown.clone(),
    ));

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, %identity, "serving health, metrics and admin API");
    // Answers go out whole: Nagle's algorithm would only hold back the last segment of a
    // large one until the client's (possibly delayed) ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let mut stop = shutdown.clone();
    let server =
        axum::serve(listener, http::router(state, admin)).with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
    let (served, (), _) = tokio::join!(server, controllers, election);
    // Probes in flight finish and their samples are written before the process exits.
    if let Some(monitoring) = monitoring {
        let _ = monitoring.await;
    }
    served.context("HTTP server failed")
}

/// The alert job's settings from the command line.
fn alert_config(args: &ControllerArgs) -> crate::alerts::evaluate::Config {
    use crate::alerts::evaluate::{Config, SecretName};
    let receivers = args
        .alert_receivers_secret
        .as_deref()
        .map(|s| match s.split_once('/') {
            Some((namespace, name)) => SecretName {
                namespace: namespace.into(),
                name: name.into(),
            },
            None => SecretName {
                namespace: args.lease_namespace.clone(),
                name: s.into(),
            },
        });
    Config {
        interval: Duration::from_secs(args.alert_interval_seconds.max(1)),
        receivers,
        scope: args.watch_namespace.clone(),
        ..Config::default()
    }
}

/// Applies migrations, retrying while the database is unreachable: the controller keeps
/// reconciling (Kubernetes is the source of truth) and reports itself degraded meanwhile.
async fn migrate_until_done(store: Store, mut shutdown: watch::Receiver<bool>) {
    loop {
        match store.migrate().await {
            Ok(version) => {
                tracing::info!(version, "database migrations applied");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %controllers::runtime::error_chain(&e), "database migrations not applied yet; retrying")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

/// `/readyz` turns true once every controller cache has its initial list, false at shutdown.
async fn mark_ready_when_synced(
    caches: controllers::Caches,
    ready: Arc<AtomicBool>,
    mut shutdown: watch::Receiver<bool>,
) {
    use std::sync::atomic::Ordering;
    // `Store::wait_until_ready` keeps only the latest waker, and the controller itself waits on
    // the same stores, so a single long wait here can miss the wake-up: re-poll briefly instead.
    let synced = async {
        let poll = std::time::Duration::from_millis(100);
        loop {
            let all = tokio::join!(
                tokio::time::timeout(poll, caches.environments.wait_until_ready()),
                tokio::time::timeout(poll, caches.deployments.wait_until_ready()),
                tokio::time::timeout(poll, caches.domains.wait_until_ready()),
                tokio::time::timeout(poll, caches.certificates.wait_until_ready()),
                tokio::time::timeout(poll, caches.backup_policies.wait_until_ready()),
            );
            if matches!(
                all,
                (Ok(Ok(())), Ok(Ok(())), Ok(Ok(())), Ok(Ok(())), Ok(Ok(())))
            ) {
                tracing::info!("all caches synced");
                return;
            }
        }
    };
    tokio::select! {
        () = synced => ready.store(true, Ordering::Release),
        _ = shutdown.wait_for(|s| *s) => return,
    }
    let _ = shutdown.wait_for(|s| *s).await;
    ready.store(false, Ordering::Release);
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "berth".into(), |h| h.trim().to_string())
}

fn short_id() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..5)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

fn init_tracing(json: bool) {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,kube=warn,tower=warn,hyper=warn"));
    let result = if json {
        fmt().json().with_env_filter(filter).try_init()
    } else {
        fmt().with_env_filter(filter).try_init()
    };
    drop(result);
}

/// Runs the local stack.
pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    crate::devstack::up::run(args).await
}
