//! The controllers: one reconciler a kind, and the runtime they share.
//!
//! ```text
//! watch ──► runtime::reconcile (leader gate, finalizer, status first)
//!              │
//!              ├─► <kind>::reconcile   observe (I/O) → plan (pure) → act (I/O)
//!              │
//!              └─► status::write (server-side apply, only when changed) + Events
//! ```
//! Each kind module implements [`Reconciler`]; everything common (conditions, backoff,
//! finalizers, the reconcile-now annotation, metrics) lives here once.

pub mod backoff;
pub mod conditions;
pub mod deps;
pub mod kinds;
pub mod metrics;
pub mod runtime;
pub mod status;

pub mod backup_policy;
mod certificate;
pub mod connect;
pub(crate) mod deployment;
pub mod domain;
pub(crate) mod environment;

use std::{fmt::Debug, future::Future, sync::Arc, time::Duration};

use kube::{Client, Resource, runtime::events::Recorder};
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::watch;

pub use self::{
    conditions::{SyncResult, Verdict},
    metrics::Metrics,
    runtime::{Caches, Changes, run_all},
};
use crate::api::CommonStatus;

/// The finalizer berth puts on every object it manages, so provider cleanup runs before the
/// object goes away.
pub const FINALIZER: &str = "berth.dev/cleanup";

/// Reconciles of one kind that may run at once, unless configured.
pub const DEFAULT_CONCURRENCY: u16 = 16;

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "berth-controller";

/// Shared by every reconcile.
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// Publishes Kubernetes Events.
    pub recorder: Recorder,
    /// Reconcile counters and timings, per kind.
    pub metrics: Arc<Metrics>,
    /// Per-object failure backoff.
    pub backoff: backoff::Backoff,
    /// True while this replica holds the leader Lease. Only the leader writes.
    pub leader: watch::Receiver<bool>,
    /// How often a healthy object is reconciled again to find drift at the provider.
    pub resync: Duration,
    /// Watch only this namespace (a namespace-scoped install); `None` watches all.
    pub namespace: Option<String>,
    /// The history store (deployments, rollbacks), when one is configured.
    pub store: Option<crate::store::Store>,
    /// Send health checks to this base URL with the host as the first path segment (the berth
    /// sandbox's apps server) instead of to the deployment's URL.
    pub health_check_via: Option<String>,
    /// Provider HTTP layers shared by every reconcile (budgets and circuits per account).
    pub providers: crate::providers::Pool,
    /// Reconciles of one kind that may run at once.
    pub concurrency: u16,
    /// Runs backups and verifications; `None` without a history database, where runs could
    /// not be recorded.
    pub backups: Option<Arc<backup_policy::Runner>>,
    /// The open alerts of each object, published by the alert job (on the leader).
    pub alerts: crate::alerts::OpenAlerts,
}

impl Context {
    /// Dependency look-ups in `obj`'s namespace.
    #[must_use]
    pub fn dependencies<K: Resource>(&self, obj: &K) -> deps::Dependencies {
        deps::Dependencies::new(
            self.client.clone(),
            obj.meta().namespace.as_deref().unwrap_or_default(),
        )
    }

    /// An API for watching kind `K` in the namespaces this process manages.
    #[must_use]
    pub fn watch_api<K>(&self) -> kube::Api<K>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
    {
        match &self.namespace {
            Some(ns) => kube::Api::namespaced(self.client.clone(), ns),
            None => kube::Api::all(self.client.clone()),
        }
    }
}

/// Errors of the shared runtime (the Kubernetes side of a reconcile).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A status write failed.
    #[error("failed to write status of {kind} {namespace}/{name}")]
    WriteStatus {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    /// A status write did not finish in time.
    #[error("timed out writing status of {kind} {namespace}/{name}")]
    StatusTimeout {
        kind: &'static str,
        namespace: String,
        name: String,
    },
    /// Reading a dependency failed.
    #[error("failed to read {what}")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// A provider call failed where no condition can carry it (cleanup on deletion).
    #[error(transparent)]
    Provider(#[from] crate::providers::Error),
    /// Cleanup on deletion could not finish yet; it is tried again.
    #[error("failed to clean up {what}: {message}")]
    Cleanup { what: String, message: String },
    /// Adding or removing the finalizer failed.
    #[error("failed to update the finalizer")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    /// A short, stable label for metrics and Events.
    #[must_use]
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::WriteStatus { .. } => "write_status",
            Self::StatusTimeout { .. } => "status_timeout",
            Self::Read { .. } => "read",
            Self::Provider(e) => e.metric_label(),
            Self::Cleanup { .. } => "cleanup",
            Self::Finalizer(_) => "finalizer",
        }
    }
}

/// What the shared runtime needs to know about a kind.
pub trait Managed:
    Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    /// The kind's status type.
    type Status: Serialize + DeserializeOwned + Clone + Default + PartialEq + Debug + Send + Sync;
    /// The kind name, for metrics and logs.
    const KIND: &'static str;
    /// The current status.
    fn status(&self) -> Option<&Self::Status>;
    /// The common part of a status.
    fn common(status: &Self::Status) -> &CommonStatus;
    /// The common part of a status, mutably.
    fn common_mut(status: &mut Self::Status) -> &mut CommonStatus;
    /// Whether `spec.suspend` is set.
    fn suspended(&self) -> bool;
    /// This object with `status` in place of its own.
    #[must_use]
    fn with_status(&self, status: Self::Status) -> Self;
}

/// [`Outcome::requeue`] for "write this status, then go on at once": the runtime runs the
/// kind's reconcile again in the same reconcile, from the status written (the watch cache may
/// not hold it yet). For a step that must be recorded before it is acted on.
pub const AT_ONCE: Duration = Duration::ZERO;

/// The result of one kind-specific reconcile.
#[derive(Debug)]
pub struct Outcome<S> {
    /// What the reconcile concluded.
    pub verdict: Verdict,
    /// Whether the provider calls succeeded.
    pub sync: SyncResult,
    /// The kind-specific part of the status (the common part is filled in by the runtime).
    pub status: S,
    /// When to look again; `None` means the regular resync interval, [`AT_ONCE`] right
    /// after this status is written, in the same reconcile.
    pub requeue: Option<Duration>,
    /// Kind-specific conditions besides the four every kind has (merged by type).
    pub conditions: Vec<conditions::Desired>,
}

impl<S> Outcome<S> {
    /// A plan's verdict, with the kind-specific `status` to write and the regular resync.
    #[must_use]
    pub fn of(status: S, (verdict, sync): (Verdict, SyncResult)) -> Self {
        Self {
            verdict,
            sync,
            status,
            requeue: None,
            conditions: Vec::new(),
        }
    }

    /// A failed provider call (see [`Verdict::provider_failed`]), looking again when the
    /// provider or the circuit said to.
    #[must_use]
    pub fn provider_failed(status: S, error: &crate::providers::Error) -> Self {
        Self {
            requeue: error.retry_after(),
            ..Self::of(status, Verdict::provider_failed(error))
        }
    }
}

/// The kind-specific part of a reconcile: observe, plan, act.
pub trait Reconciler: Managed {
    /// The kind's own conditions that are alerts: raising (`True`, a Warning) or clearing one is
    /// announced as an Event by the runtime.
    const ALERT_CONDITIONS: &'static [&'static str] = &[];

    /// Whether the kind's objects carry the `Alerting` condition of their open alerts (see
    /// [`crate::alerts::open`]); the alert job announces those with Events of its own.
    const SHOWS_OPEN_ALERTS: bool = false;

    /// Brings the world closer to the spec and says how far it got.
    fn reconcile(
        obj: Arc<Self>,
        ctx: Arc<Context>,
    ) -> impl Future<Output = Result<Outcome<Self::Status>, Error>> + Send;

    /// The status to show while `spec.suspend` is true, from the current one: kinds clear what
    /// would go stale while nothing runs (a next run time). Default: unchanged.
    fn suspended_status(status: Self::Status) -> Self::Status {
        status
    }

    /// Removes what berth created outside Kubernetes, honouring `deletionPolicy`. Must be
    /// idempotent and succeed when nothing was ever created.
    fn cleanup(
        obj: Arc<Self>,
        ctx: Arc<Context>,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let _ = (obj, ctx);
        async { Ok(()) }
    }
}
