//! Background probes of the Kubernetes API and the database, so health handlers answer from
//! memory. Each probe is bounded by a short time-out; a dead dependency cannot stall anything.

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

use crate::store::{DatabaseHealth, Store};

/// Reachability of the Kubernetes API.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeHealth {
    /// Whether `/version` answered.
    pub reachable: bool,
    /// Round trip in milliseconds.
    pub latency_ms: Option<f64>,
    /// Server version.
    pub version: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// The latest results.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probes {
    /// Kubernetes API.
    pub kubernetes: KubeHealth,
    /// Database; `None` when no database is configured.
    pub database: Option<DatabaseHealth>,
    /// When these were taken.
    pub checked_at: Option<DateTime<Utc>>,
}

/// Shared, always-current probe results.
pub type Shared = Arc<RwLock<Probes>>;

/// Reads the latest probe results.
#[must_use]
pub fn read(shared: &Shared) -> Probes {
    shared
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// How often dependencies are probed.
pub const INTERVAL: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(2);

/// Probes every [`INTERVAL`] until `shutdown` turns true.
pub async fn run(
    client: kube::Client,
    store: Option<Store>,
    shared: Shared,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (kubernetes, database) = tokio::join!(probe_kube(&client), async {
            match &store {
                Some(s) => Some(s.health().await),
                None => None,
            }
        });
        *shared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Probes {
            kubernetes,
            database,
            checked_at: Some(Utc::now()),
        };
        tokio::select! {
            () = tokio::time::sleep(INTERVAL) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

async fn probe_kube(client: &kube::Client) -> KubeHealth {
    let start = Instant::now();
    match tokio::time::timeout(TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(v)) => KubeHealth {
            reachable: true,
            latency_ms: Some(start.elapsed().as_secs_f64() * 1000.0),
            version: Some(v.git_version),
            error: None,
        },
        Ok(Err(e)) => KubeHealth {
            reachable: false,
            latency_ms: None,
            version: None,
            error: Some(e.to_string()),
        },
        Err(_) => KubeHealth {
            reachable: false,
            latency_ms: None,
            version: None,
            error: Some(format!("no answer within {} s", TIMEOUT.as_secs())),
        },
    }
}
