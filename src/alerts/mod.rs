//! Alerts: rules over the cluster state and the probe rollups, their life cycle in the history
//! database, Kubernetes Events, webhook notifications and `/metrics` gauges.
//!
//! ```text
//! every 30 s on the leader (evaluate):
//!   snapshot (caches, provider circuits) ─► rules  (pure) ─┐
//!   probe_rollups (SQL) ──────────────────► slo    (pure) ─┴► findings
//!   findings ─► lifecycle (alerts table: fire / dedup / resolve) ─► Events
//!            ─► notify (receivers Secret, alert_notifications) ─► metrics
//!            ─► open (each Deployment's `Alerting` condition, written by its reconciler)
//! ```
//! Every step takes `now` explicitly, so tests drive it with a simulated clock.

pub mod burn_rate;
pub mod evaluate;
pub mod lifecycle;
pub mod metrics;
pub mod notify;
pub mod open;
pub mod rules;
pub mod slo;

use serde::Serialize;

pub use evaluate::{Evaluator, Snapshot};
pub use lifecycle::{Alert, AlertState};
pub use metrics::AlertMetrics;
pub use open::OpenAlerts;

/// How urgent an alert is (the `severity` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// Every severity, least urgent first.
    pub const ALL: [Self; 3] = [Self::Info, Self::Warning, Self::Critical];

    /// The severity stored as `name`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// What an alert is about: a berth object (`vocilia/Deployment/api`), or a provider instance
/// (namespace empty, kind `Provider`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    pub namespace: String,
    pub kind: String,
    pub name: String,
}

impl Resource {
    /// A namespaced berth object.
    #[must_use]
    pub fn object(namespace: &str, kind: &str, name: &str) -> Self {
        Self {
            namespace: namespace.into(),
            kind: kind.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.namespace, self.kind, self.name)
        }
    }
}

/// A rule that holds now for a resource: an alert to fire, or to keep open.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub resource: Resource,
    pub severity: Severity,
    pub message: String,
}

/// Errors of the alert job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A query on the history database failed.
    #[error("failed to {action}")]
    Store {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// The receivers Secret could not be read.
    #[error("failed to read the alert receivers Secret {namespace}/{name}")]
    Receivers {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl Error {
    fn store(action: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Store { action, source }
    }
}

/// A `Result` of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
