//! Reconcile metrics per kind, exported at `/metrics` and read by `/health/detailed`.

use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Labels: the kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

/// Labels: the kind and an outcome or error label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindOutcome {
    pub kind: String,
    pub outcome: String,
}

/// Controller metrics.
pub struct Metrics {
    reconciles: Family<KindOutcome, Counter>,
    errors: Family<KindOutcome, Counter>,
    duration: Family<KindLabel, Histogram>,
    last_success: Family<KindLabel, Gauge<i64, AtomicI64>>,
    in_flight: Family<KindLabel, Gauge<i64, AtomicI64>>,
    status_writes: Family<KindLabel, Counter<u64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            reconciles: Family::default(),
            errors: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new([
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ])
            }),
            last_success: Family::default(),
            in_flight: Family::default(),
            status_writes: Family::default(),
        }
    }
}

impl Metrics {
    /// Registers every metric under `berth_`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "berth_reconcile",
            "Reconciles by kind and outcome",
            self.reconciles.clone(),
        );
        registry.register(
            "berth_reconcile_errors",
            "Failed reconciles by kind and error",
            self.errors.clone(),
        );
        registry.register(
            "berth_reconcile_duration_seconds",
            "Reconcile duration by kind",
            self.duration.clone(),
        );
        registry.register(
            "berth_reconcile_last_success_timestamp_seconds",
            "Unix time of the last successful reconcile by kind",
            self.last_success.clone(),
        );
        registry.register(
            "berth_reconcile_in_flight",
            "Reconciles running now by kind",
            self.in_flight.clone(),
        );
        registry.register(
            "berth_status_writes",
            "Status patches sent by kind",
            self.status_writes.clone(),
        );
    }

    /// Marks the start of a reconcile; the guard records its end.
    #[must_use]
    pub fn start(&self, kind: &'static str) -> ReconcileTimer<'_> {
        self.in_flight.get_or_create(&label(kind)).inc();
        ReconcileTimer {
            metrics: self,
            kind,
            start: std::time::Instant::now(),
        }
    }

    /// Counts a failed reconcile.
    pub fn error(&self, kind: &'static str, error: &'static str) {
        self.errors
            .get_or_create(&KindOutcome {
                kind: kind.into(),
                outcome: error.into(),
            })
            .inc();
    }

    /// Counts a status write.
    pub fn status_written(&self, kind: &'static str) {
        self.status_writes.get_or_create(&label(kind)).inc();
    }

    /// Unix time of the last successful reconcile of `kind`.
    #[must_use]
    pub fn last_success(&self, kind: &'static str) -> Option<i64> {
        let v = self.last_success.get_or_create(&label(kind)).get();
        (v > 0).then_some(v)
    }

    /// Reconciles of `kind` with `outcome` so far.
    #[must_use]
    pub fn reconciles(&self, kind: &'static str, outcome: &str) -> u64 {
        self.reconciles
            .get_or_create(&KindOutcome {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .get()
    }

    /// Reconciles of `kind` running now.
    #[must_use]
    pub fn in_flight(&self, kind: &'static str) -> i64 {
        self.in_flight.get_or_create(&label(kind)).get()
    }
}

fn label(kind: &'static str) -> KindLabel {
    KindLabel { kind: kind.into() }
}

/// Records duration and outcome of one reconcile when finished.
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    kind: &'static str,
    start: std::time::Instant,
}

impl ReconcileTimer<'_> {
    /// Records the outcome (`ok` or `error`).
    pub fn finish(self, ok: bool) {
        let m = self.metrics;
        let l = label(self.kind);
        m.in_flight.get_or_create(&l).dec();
        m.duration
            .get_or_create(&l)
            .observe(self.start.elapsed().as_secs_f64());
        let outcome = if ok { "ok" } else { "error" };
        m.reconciles
            .get_or_create(&KindOutcome {
                kind: self.kind.into(),
                outcome: outcome.into(),
            })
            .inc();
        if ok {
            m.last_success
                .get_or_create(&l)
                .set(chrono::Utc::now().timestamp());
        }
        // The guard is consumed; Drop must not count it again.
        std::mem::forget(self);
    }
}

impl Drop for ReconcileTimer<'_> {
    // A reconcile future dropped mid-way (shutdown, cancellation) still leaves in-flight.
    fn drop(&mut self) {
        self.metrics
            .in_flight
            .get_or_create(&label(self.kind))
            .dec();
    }
}
