//! Alert metrics at `/metrics`: open alerts by rule and state, and notification outcomes.
//! Kept current by the evaluating replica (the leader); the others export zeros.

use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, PoisonError, atomic::AtomicI64},
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

/// Labels of the alert gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleState {
    pub rule: String,
    pub state: String,
}

/// Labels of the notification counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Delivery {
    pub receiver: String,
    pub event: String,
    pub outcome: String,
}

/// The alert metrics.
#[derive(Default)]
pub struct AlertMetrics {
    alerts: Family<RuleState, Gauge<i64, AtomicI64>>,
    notifications: Family<Delivery, Counter>,
    /// Label sets set last time, so those that disappeared drop to 0 instead of going stale.
    seen: Mutex<HashSet<RuleState>>,
}

impl AlertMetrics {
    /// Registers the metrics under `berth_`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "berth_alerts",
            "Open alerts by rule and state (firing, acknowledged)",
            self.alerts.clone(),
        );
        registry.register(
            "berth_alert_notifications",
            "Webhook notifications by receiver, event (firing, resolved) and outcome (ok, error)",
            self.notifications.clone(),
        );
    }

    /// Replaces the gauge values with the counts of the `open` alerts by rule and state.
    pub fn set_open(&self, open: &[super::Alert]) {
        let mut counts: HashMap<RuleState, i64> = HashMap::new();
        for a in open {
            *counts
                .entry(RuleState {
                    rule: a.rule.clone(),
                    state: a.state.clone(),
                })
                .or_default() += 1;
        }
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, n) in &counts {
            self.alerts.get_or_create(key).set(*n);
        }
        let now: HashSet<RuleState> = counts.into_keys().collect();
        for gone in seen.difference(&now) {
            self.alerts.get_or_create(gone).set(0);
        }
        *seen = now;
    }

    /// Counts one notification outcome.
    pub fn notification(&self, receiver: &str, event: &str, ok: bool) {
        self.notifications
            .get_or_create(&Delivery {
                receiver: receiver.into(),
                event: event.into(),
                outcome: if ok { "ok" } else { "error" }.into(),
            })
            .inc();
    }
}
