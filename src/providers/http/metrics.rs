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

#[cfg(test)]
mod tests {
    use super::*;

    // The names and labels dashboards rely on, as Prometheus text.
    #[test]
    fn metrics_encode_with_provider_operation_and_outcome() {
        let m = HttpMetrics::default();
        let mut registry = Registry::default();
        m.register(&mut registry);
        m.attempt("powerdns", "patch rrsets", "ok", 0.01);
        m.retry("powerdns", "get zone");
        m.throttled("powerdns", "budget");
        m.circuit_state("powerdns", 2);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            r#"berth_provider_requests_total{provider="powerdns",operation="patch rrsets",outcome="ok"} 1"#,
            r#"berth_provider_retries_total{provider="powerdns",operation="get zone"} 1"#,
            r#"berth_provider_throttled_total{provider="powerdns",reason="budget"} 1"#,
            r#"berth_provider_circuit_state{provider="powerdns"} 2"#,
            "berth_provider_request_duration_seconds_bucket",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert_eq!(m.sent("powerdns", "patch rrsets"), 1);
    }
}
