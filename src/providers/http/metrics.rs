//! Provider call metrics, exported at `/metrics`: one set shared by every provider client.

use std::sync::atomic::AtomicI64;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Labels: provider, operation and the outcome of one attempt on the wire.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub provider: String,
    pub operation: String,
    pub outcome: String,
}

/// Labels: provider and operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    pub provider: String,
    pub operation: String,
}

/// Labels: provider and why a request waited or was refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub provider: String,
    pub reason: String,
}

/// Labels: provider.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabel {
    pub provider: String,
}

/// Outcomes of an attempt, the `outcome` label of `berth_provider_requests`.
pub const OUTCOMES: [&str; 7] = [
    "ok",
    "client_error",
    "auth_error",
    "rate_limited",
    "server_error",
    "timeout",
    "transport",
];

/// The metrics of every provider client.
pub struct HttpMetrics {
    requests: Family<CallLabels, Counter>,
    duration: Family<OpLabels, Histogram>,
    retries: Family<OpLabels, Counter>,
    throttled: Family<ReasonLabels, Counter>,
    circuit: Family<ProviderLabel, Gauge<i64, AtomicI64>>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new([
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ])
            }),
            retries: Family::default(),
            throttled: Family::default(),
            circuit: Family::default(),
        }
    }
}

impl HttpMetrics {
    /// Registers every metric under `berth_provider_`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "berth_provider_requests",
            "HTTP attempts sent to providers by provider, operation and outcome",
            self.requests.clone(),
        );
        registry.register(
            "berth_provider_request_duration_seconds",
            "Duration of one HTTP attempt by provider and operation",
            self.duration.clone(),
        );
        registry.register(
            "berth_provider_retries",
            "Retries by provider and operation",
            self.retries.clone(),
        );
        registry.register(
            "berth_provider_throttled",
            "Requests that waited or were refused by provider and reason (budget, retry_after, budget_exhausted, circuit_open)",
            self.throttled.clone(),
        );
        registry.register(
            "berth_provider_circuit_state",
            "Circuit state by provider: 0 closed, 1 half-open, 2 open",
            self.circuit.clone(),
        );
    }

    pub(super) fn attempt(&self, provider: &str, operation: &str, outcome: &str, secs: f64) {
        self.requests
            .get_or_create(&CallLabels {
                provider: provider.into(),
                operation: operation.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.duration
            .get_or_create(&op(provider, operation))
            .observe(secs);
    }

    pub(super) fn retry(&self, provider: &str, operation: &str) {
        self.retries.get_or_create(&op(provider, operation)).inc();
    }

    pub(super) fn throttled(&self, provider: &str, reason: &str) {
        self.throttled
            .get_or_create(&ReasonLabels {
                provider: provider.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub(super) fn circuit_state(&self, provider: &str, gauge: i64) {
        self.circuit
            .get_or_create(&ProviderLabel {
                provider: provider.into(),
            })
            .set(gauge);
    }

    /// HTTP attempts sent for `operation` of `provider` with `outcome`.
    #[must_use]
    pub fn requests(&self, provider: &str, operation: &str, outcome: &str) -> u64 {
        self.requests
            .get(&CallLabels {
                provider: provider.into(),
                operation: operation.into(),
                outcome: outcome.into(),
            })
            .map_or(0, |c| c.get())
    }

    /// HTTP attempts sent for `operation` of `provider`, whatever their outcome.
    #[must_use]
    pub fn sent(&self, provider: &str, operation: &str) -> u64 {
        OUTCOMES
            .iter()
            .map(|o| self.requests(provider, operation, o))
            .sum()
    }

    /// Retries of `operation` of `provider`.
    #[must_use]
    pub fn retries(&self, provider: &str, operation: &str) -> u64 {
        self.retries
            .get(&op(provider, operation))
            .map_or(0, |c| c.get())
    }

    /// Waits or refusals of `provider` for `reason`.
    #[must_use]
    pub fn throttled_count(&self, provider: &str, reason: &str) -> u64 {
        self.throttled
            .get(&ReasonLabels {
                provider: provider.into(),
                reason: reason.into(),
            })
            .map_or(0, |c| c.get())
    }
}

fn op(provider: &str, operation: &str) -> OpLabels {
    OpLabels {
        provider: provider.into(),
        operation: operation.into(),
    }
}
