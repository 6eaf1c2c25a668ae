//! What monitoring adds to `/metrics`: probe results by target and outcome, probe latency and
//! TLS handshake histograms by target, and each controller's queue depth (objects whose status
//! does not reflect their generation yet, read from the caches at scrape time).

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        MetricType, counter::Counter, family::Family, gauge::ConstGauge, histogram::Histogram,
    },
    registry::Registry,
};

use super::Sample;
use crate::controllers::{Caches, Managed};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetOutcome {
    target: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabel {
    target: String,
}

/// Probe counters and histograms.
#[derive(Clone)]
pub struct ProbeMetrics {
    results: Family<TargetOutcome, Counter>,
    latency: Family<TargetLabel, Histogram>,
    tls: Family<TargetLabel, Histogram>,
}

/// Seconds; the same bounds as the rollups' latency buckets.
fn latency_histogram() -> Histogram {
    Histogram::new(crate::store::LATENCY_BUCKETS_MS.map(|ms| ms / 1000.0))
}

impl Default for ProbeMetrics {
    fn default() -> Self {
        Self {
            results: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            tls: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl ProbeMetrics {
    /// Registers the probe metrics, and the queue depth of the controllers behind `caches`.
    pub fn register(&self, registry: &mut Registry, caches: Caches) {
        registry.register(
            "berth_probe_results",
            "Probes by target and outcome (ok, or why they failed)",
            self.results.clone(),
        );
        registry.register(
            "berth_probe_latency_seconds",
            "Probe latency to the answer's head by target",
            self.latency.clone(),
        );
        registry.register(
            "berth_probe_tls_handshake_seconds",
            "TLS handshake time of HTTPS probes by target",
            self.tls.clone(),
        );
        registry.register_collector(Box::new(QueueDepth(caches)));
    }

    /// Counts one sample.
    pub fn observe(&self, s: &Sample) {
        let outcome = s.error_kind.map_or("ok", super::ErrorKind::as_str);
        self.results
            .get_or_create(&TargetOutcome {
                target: s.target.clone(),
                outcome: outcome.into(),
            })
            .inc();
        let label = TargetLabel {
            target: s.target.clone(),
        };
        self.latency
            .get_or_create(&label)
            .observe(s.latency_ms / 1000.0);
        if let Some(tls) = s.tls_ms {
            self.tls.get_or_create(&label).observe(tls / 1000.0);
        }
    }

    /// Probes of `target` with `outcome` so far (for tests and health).
    #[must_use]
    pub fn results(&self, target: &str, outcome: &str) -> u64 {
        self.results
            .get_or_create(&TargetOutcome {
                target: target.into(),
                outcome: outcome.into(),
            })
            .get()
    }
}

/// `berth_reconcile_queue_depth{kind}`, computed from the caches on each scrape.
struct QueueDepth(Caches);

impl std::fmt::Debug for QueueDepth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueueDepth")
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

fn depth<K: Managed>(store: &kube::runtime::reflector::Store<K>) -> (&'static str, i64) {
    let n = crate::controllers::runtime::backlog(store);
    (K::KIND, i64::try_from(n).unwrap_or(i64::MAX))
}

impl Collector for QueueDepth {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let c = &self.0;
        let depths = [
            depth(&c.environments),
            depth(&c.deployments),
            depth(&c.domains),
            depth(&c.certificates),
            depth(&c.backup_policies),
        ];
        let mut family = encoder.encode_descriptor(
            "berth_reconcile_queue_depth",
            "Objects per kind whose status does not reflect their current generation yet",
            None,
            MetricType::Gauge,
        )?;
        for (kind, depth) in depths {
            ConstGauge::new(depth).encode(family.encode_family(&KindLabel { kind })?)?;
        }
        Ok(())
    }
}
