//! Lease-based leader election. With two replicas only the Lease holder reconciles and runs
//! jobs; the other keeps its caches warm and takes over when the Lease is not renewed.
//!
//! Expiry is judged on the local clock from when this replica last saw the Lease record
//! change (as client-go does), so clock skew between replicas cannot cause two leaders.

use std::time::{Duration, Instant};

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::MicroTime,
};
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
};
use tokio::sync::watch;

/// Leader election settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This replica's identity (the pod name, plus a random suffix so a restarted pod with the
    /// same name does not inherit a lease it never held).
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews and the others retry.
    pub retry_period: Duration,
}

impl Config {
    /// Defaults that hand over within 15 s: a 10 s lease, tried every 2 s.
    #[must_use]
    pub fn new(namespace: &str, identity: &str) -> Self {
        Self {
            namespace: namespace.into(),
            name: "berth-controller".into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Errors talking to the Lease API.
#[derive(Debug, thiserror::Error)]
#[error("failed to {action} Lease {namespace}/{name}")]
pub struct Error {
    action: &'static str,
    namespace: String,
    name: String,
    #[source]
    source: kube::Error,
}

/// Runs the election until `shutdown` turns true, publishing leadership on the returned channel.
/// On shutdown the Lease is released so the other replica takes over at once.
pub fn spawn(
    client: Client,
    config: Config,
    mut shutdown: watch::Receiver<bool>,
) -> (watch::Receiver<bool>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut elector = Elector {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
            last_renewed: None,
        };
        loop {
            let leading = elector.try_lead().await;
            tx.send_if_modified(|v| std::mem::replace(v, leading) != leading);
            tokio::select! {
                () = tokio::time::sleep(elector.config.retry_period) => {}
                _ = shutdown.wait_for(|s| *s) => break,
            }
        }
        if *tx.borrow() {
            tx.send_replace(false);
            elector.release().await;
        }
    });
    (rx, task)
}

struct Elector {
    api: Api<Lease>,
    config: Config,
    /// The last Lease record seen and when it was first seen.
    observed: Option<(Record, Instant)>,
    /// When this replica last renewed successfully.
    last_renewed: Option<Instant>,
}

impl Elector {
    /// One round: acquire or renew. Returns whether this replica leads now.
    async fn try_lead(&mut self) -> bool {
        match self.round().await {
            Ok(leading) => {
                if leading {
                    self.last_renewed = Some(Instant::now());
                }
                leading
            }
            Err(e) => {
                tracing::warn!(error = %crate::controllers::runtime::error_chain(&e), "leader election round failed");
                // Keep leading only while our last renewal is still valid.
                self.last_renewed
                    .is_some_and(|t| t.elapsed() < self.config.lease_duration)
            }
        }
    }

    async fn round(&mut self) -> Result<bool, Error> {
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let Some(mut lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.err("read", e))?
        else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now.clone(), now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(self.err("create", e)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let record = (spec.holder_identity.clone(), spec.renew_time.clone());
        if self
            .observed
            .as_ref()
            .is_none_or(|(seen, _)| *seen != record)
        {
            self.observed = Some((record, Instant::now()));
        }
        let ours = spec.holder_identity.as_deref() == Some(self.config.identity.as_str());
        let expired = spec.holder_identity.is_none()
            || self.observed.as_ref().is_some_and(|(_, since)| {
                since.elapsed() > lease_duration(&spec).unwrap_or(self.config.lease_duration)
            });
        if !ours && !expired {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        let acquired = if ours {
            spec.acquire_time.clone().unwrap_or_else(|| now.clone())
        } else {
            now.clone()
        };
        lease.spec = Some(self.spec(acquired, now, transitions));
        // `replace` carries the resourceVersion we read: if another replica wrote in between,
        // the API server answers 409 and we simply did not win this round.
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                if !ours {
                    tracing::info!(identity = %self.config.identity, "acquired leadership");
                }
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(self.err("update", e)),
        }
    }

    fn spec(&self, acquired: MicroTime, renewed: MicroTime, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: i32::try_from(self.config.lease_duration.as_secs()).ok(),
            acquire_time: Some(acquired),
            renew_time: Some(renewed),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Gives the Lease up on a clean shutdown.
    async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        if let Err(e) = self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(error = %e, "failed to release the leader Lease");
        } else {
            tracing::info!("released leadership");
        }
    }

    fn err(&self, action: &'static str, source: kube::Error) -> Error {
        Error {
            action,
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            source,
        }
    }
}

/// What identifies one renewal of a Lease: its holder and renew time.
type Record = (Option<String>, Option<MicroTime>);

fn lease_duration(spec: &LeaseSpec) -> Option<Duration> {
    spec.lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
}
