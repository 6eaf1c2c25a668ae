//! The provider pool shared by reconciles, and its circuits in `/health/detailed`: the real
//! HTTP router over a pool whose Cloudflare instance met a failing sandbox.

use std::{
    sync::{Arc, RwLock, atomic::AtomicBool},
    time::Duration,
};

use berth::{
    controllers::{Caches, Metrics},
    http::{AppState, probes::Probes, router},
    jobs,
    providers::{
        Error, Pool,
        dns::{DnsRecords, cloudflare::Cloudflare},
        http::{CircuitConfig, RetryConfig, Secret},
    },
    sandbox::{FaultConfig, Sandbox, SandboxConfig, Server},
    store::DatabaseHealth,
};
use kube::runtime::reflector;
use serde_json::Value;

/// Application state with healthy probes, so only the providers can degrade it.
fn state(pool: Pool) -> AppState {
    let probes = Probes {
        kubernetes: berth::http::probes::KubeHealth {
            reachable: true,
            ..Default::default()
        },
        database: Some(DatabaseHealth {
            reachable: true,
            latency_ms: Some(1.0),
            migration_version: Some(1),
            pool_size: 1,
            pool_idle: 1,
            pool_max: 1,
            error: None,
        }),
        checked_at: None,
    };
    AppState {
        caches: Caches {
            environments: reflector::store().0,
            deployments: reflector::store().0,
            domains: reflector::store().0,
            certificates: reflector::store().0,
            backup_policies: reflector::store().0,
            changes: Default::default(),
        },
        metrics: Arc::new(Metrics::default()),
        registry: Arc::new(prometheus_client::registry::Registry::default()),
        probes: Arc::new(RwLock::new(probes)),
        leader: tokio::sync::watch::channel(true).1,
        identity: "test".into(),
        ready: Arc::new(AtomicBool::new(true)),
        jobs: Arc::new(jobs::Registry::default()),
        providers: pool,
    }
}

async fn serve(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let admin = berth::admin::AdminState::new(
        crate::support::client().await,
        state.caches.clone(),
        None,
        berth::monitoring::rollup::Retention::default(),
    );
    tokio::spawn(async move { axum::serve(listener, router(state, admin)).await.unwrap() });
    format!("http://{addr}")
}

async fn get(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

// Five reconciles building their own client for one binding share one circuit: after the
// sandbox answers 500 three times it is open for all of them, `/health/detailed` shows it
// and says degraded (200), and liveness is unaffected. Once the provider recovers and the
// cool-down passes, a probe closes it again.
#[tokio::test]
async fn an_open_circuit_shows_in_health_detailed_as_degraded() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let pool = Pool::default();
    let binding = || {
        let mut config = Cloudflare::config(
            Some(sb.cloudflare_url()),
            Secret::new(sb.tokens().cloudflare.clone()),
            Some("acc_0123"),
        );
        config.retry = RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        };
        config.circuit = CircuitConfig {
            failure_threshold: 3,
            cool_down: Duration::from_millis(800),
        };
        Cloudflare::new(pool.http(config).unwrap(), Some("acc_0123".into()))
    };
    let base = serve(state(pool.clone())).await;

    let (code, healthy) = get(&format!("{base}/health/detailed")).await;
    assert_eq!((code, healthy["status"].as_str()), (200, Some("ok")));
    assert_eq!(healthy["providers"], serde_json::json!([]));

    let faults = sb.faults(Server::Cloudflare).unwrap();
    faults.set(FaultConfig {
        error_rate: 1.0,
        error_status: Some(500),
        ..FaultConfig::default()
    });
    for _ in 0..3 {
        let err = binding().list_records("example.com").await.unwrap_err();
        assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    }
    let err = binding().list_records("example.com").await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err:?}");
    assert_eq!(faults.injected(), 3, "the open circuit sent nothing");

    let (code, degraded) = get(&format!("{base}/health/detailed")).await;
    assert_eq!(code, 200, "degraded is not down");
    assert_eq!(degraded["status"], "degraded");
    let providers = degraded["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 1, "one instance for five clients");
    let cf = &providers[0];
    assert_eq!(cf["provider"], "Cloudflare");
    assert_eq!(cf["instance"], "account acc_0123");
    assert_eq!(cf["state"], "open");
    assert_eq!(cf["consecutiveFailures"], 3);
    assert!(cf["retryInMs"].as_u64().unwrap() > 0, "{cf}");
    let text = degraded.to_string();
    assert!(!text.contains(&sb.tokens().cloudflare), "{text}");
    let (code, live) = get(&format!("{base}/health")).await;
    assert_eq!((code, live["status"].as_str()), (200, Some("ok")));

    faults.clear();
    tokio::time::sleep(Duration::from_millis(900)).await;
    binding().list_records("example.com").await.unwrap();
    let (_, recovered) = get(&format!("{base}/health/detailed")).await;
    assert_eq!(recovered["status"], "ok");
    assert_eq!(recovered["providers"][0]["state"], "closed");
    assert_eq!(recovered["providers"][0]["consecutiveFailures"], 0);
}

// A rotated token gets a fresh instance (the old one, with its open circuit, is dropped).
#[tokio::test]
async fn a_new_credential_replaces_the_pooled_instance() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let pool = Pool::default();
    let config = |token: &str| {
        let mut c = Cloudflare::config(Some(sb.cloudflare_url()), Secret::new(token), None);
        c.retry.max_attempts = 1;
        c.circuit.failure_threshold = 1;
        c
    };
    let stale = pool.http(config("cf-revoked-token-0000")).unwrap();
    sb.faults(Server::Cloudflare).unwrap().set(FaultConfig {
        error_rate: 1.0,
        error_status: Some(502),
        ..FaultConfig::default()
    });
    let err = Cloudflare::new(stale.clone(), None)
        .list_records("example.com")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(pool.circuits()[0].circuit.state.gauge(), 2, "open");
    sb.faults(Server::Cloudflare).unwrap().clear();

    let fresh = pool.http(config(&sb.tokens().cloudflare)).unwrap();
    assert!(!fresh.shares_state_with(&stale));
    assert_eq!(pool.circuits().len(), 1);
    assert_eq!(pool.circuits()[0].circuit.state.gauge(), 0, "closed");
    assert!(
        pool.circuits()[0].instance.starts_with("http://127.0.0.1:"),
        "no account: named by endpoint"
    );
    Cloudflare::new(fresh, None)
        .list_records("example.com")
        .await
        .unwrap();
    assert!(pool.metrics().sent("cloudflare", "find zone") >= 2);
}
