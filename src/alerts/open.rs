//! The alerts open on each object, for the `Alerting` condition the Deployment reconciler
//! shows (`kubectl get`, `kubectl wait`, GitOps health checks read conditions, not Events).
//!
//! The evaluator publishes the open alerts after every pass and names each object whose
//! condition disagrees with them, so its controller reconciles it; the reconcile (the one
//! writer of the object's status) reads them here. Until this replica's first pass they are
//! unknown, and the condition is left as it is: a new leader would otherwise clear it and
//! raise it again 30 s later.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
};

use chrono::SecondsFormat;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use tokio::sync::broadcast;

use super::{Alert, AlertState, Resource, Severity};
use crate::controllers::conditions::Desired;

/// The condition's type.
pub const ALERTING: &str = "Alerting";
/// Its reason while alerts are open.
pub const ALERTS_OPEN: &str = "AlertsOpen";
/// Its reason when none is.
pub const NO_ALERTS: &str = "NoOpenAlerts";

/// Open alerts by object, most urgent first.
type ByResource = HashMap<Resource, Vec<Alert>>;

/// Past this many bytes the message names how many more alerts are open instead of listing
/// them (a Deployment has at most a handful of rules; this bounds the status write).
const MESSAGE_BUDGET: usize = 2048;

/// Shared between the evaluator and the controllers; cheap to clone.
#[derive(Clone)]
pub struct OpenAlerts {
    /// `None` until the first pass.
    open: Arc<RwLock<Option<ByResource>>>,
    wake: broadcast::Sender<Resource>,
}

impl Default for OpenAlerts {
    fn default() -> Self {
        // A lagging receiver loses names, not correctness: the next pass names them again.
        Self {
            open: Arc::default(),
            wake: broadcast::channel(4096).0,
        }
    }
}

impl std::fmt::Debug for OpenAlerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAlerts").finish_non_exhaustive()
    }
}

impl OpenAlerts {
    /// The `Alerting` condition `resource` should carry, or `None` before the first pass.
    #[must_use]
    pub fn condition(&self, resource: &Resource) -> Option<Desired> {
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        let open = open.as_ref()?;
        Some(condition(open.get(resource).map_or(&[][..], Vec::as_slice)))
    }

    /// Replaces the open alerts with `alerts` and wakes every object of `shown` (its resource
    /// and current conditions) whose condition disagrees with them.
    pub fn publish<'a>(
        &self,
        alerts: Vec<Alert>,
        shown: impl IntoIterator<Item = (Resource, &'a [Condition])>,
    ) {
        let mut by_resource = ByResource::new();
        for a in alerts {
            by_resource.entry(a.resource()).or_default().push(a);
        }
        for list in by_resource.values_mut() {
            // Most urgent first, then oldest: the order the message lists them in.
            list.sort_by(|a, b| {
                Severity::parse(&b.severity)
                    .cmp(&Severity::parse(&a.severity))
                    .then(a.fired_at.cmp(&b.fired_at))
                    .then(a.id.cmp(&b.id))
            });
        }
        let stale: Vec<Resource> = shown
            .into_iter()
            .filter(|(resource, conditions)| {
                let want = condition(by_resource.get(resource).map_or(&[][..], Vec::as_slice));
                let have = crate::controllers::conditions::find(conditions, ALERTING);
                match have {
                    Some(c) => c.status != want.status || c.message != want.message,
                    // Absent: the next reconcile adds it; only an open alert is worth a wake.
                    None => want.status == "True",
                }
            })
            .map(|(resource, _)| resource)
            .collect();
        *self.open.write().unwrap_or_else(PoisonError::into_inner) = Some(by_resource);
        for resource in stale {
            // No receiver (no controller running): nothing to wake.
            let _ = self.wake.send(resource);
        }
    }

    /// The objects to reconcile because their condition is stale.
    #[must_use]
    pub fn wakes(&self) -> broadcast::Receiver<Resource> {
        self.wake.subscribe()
    }
}

/// The condition for these open alerts (pure): each as `rule (severity, since when[,
/// acknowledged by who])`. Not the alert's message: an SLO alert's burn rates change every
/// pass, and a message that changes would wake the Deployment (and its provider reads) every
/// pass; the message is in the alert's Event and the admin API.
fn condition(open: &[Alert]) -> Desired {
    if open.is_empty() {
        return Desired {
            type_: ALERTING,
            status: "False",
            reason: NO_ALERTS,
            message: String::new(),
        };
    }
    let mut message = String::new();
    for (i, a) in open.iter().enumerate() {
        if message.len() > MESSAGE_BUDGET {
            message.push_str(&format!("; and {} more", open.len() - i));
            break;
        }
        if i > 0 {
            message.push_str("; ");
        }
        let ack = match (
            &a.acknowledged_by,
            a.state == AlertState::Acknowledged.as_str(),
        ) {
            (Some(by), true) => format!(", acknowledged by {by}"),
            _ => String::new(),
        };
        let since = a.fired_at.to_rfc3339_opts(SecondsFormat::Secs, true);
        message.push_str(&format!("{} ({}, since {since}{ack})", a.rule, a.severity));
    }
    Desired {
        type_: ALERTING,
        status: "True",
        reason: ALERTS_OPEN,
        message,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn alert(id: i64, rule: &str, severity: &str, fired: &str, state: &str) -> Alert {
        Alert {
            id,
            rule: rule.into(),
            namespace: "shop".into(),
            kind: "Deployment".into(),
            name: "api".into(),
            severity: severity.into(),
            state: state.into(),
            fired_at: fired.parse::<DateTime<Utc>>().unwrap(),
            acknowledged_at: None,
            acknowledged_by: (state == "acknowledged").then(|| "alice".into()),
            resolved_at: None,
            message: format!("{rule} holds"),
        }
    }

    fn shown(status: &str, message: &str) -> Vec<Condition> {
        vec![Condition {
            type_: ALERTING.into(),
            status: status.into(),
            reason: "X".into(),
            message: message.into(),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            observed_generation: None,
        }]
    }

    // Protects: the condition lists open alerts most urgent first, says who acknowledged,
    // is False with none open, and is unknown before the first pass.
    #[test]
    fn condition_lists_open_alerts_most_urgent_first() {
        let open = OpenAlerts::default();
        let api = Resource::object("shop", "Deployment", "api");
        assert!(open.condition(&api).is_none(), "unknown before a pass");
        open.publish(
            vec![
                alert(
                    1,
                    "deployment-rolled-back",
                    "warning",
                    "2026-01-01T10:00:00Z",
                    "acknowledged",
                ),
                alert(
                    2,
                    "slo-availability-page",
                    "critical",
                    "2026-01-01T11:00:00Z",
                    "firing",
                ),
            ],
            [],
        );
        let c = open.condition(&api).unwrap();
        assert_eq!((c.status, c.reason), ("True", ALERTS_OPEN));
        assert_eq!(
            c.message,
            "slo-availability-page (critical, since 2026-01-01T11:00:00Z); \
             deployment-rolled-back (warning, since 2026-01-01T10:00:00Z, acknowledged by alice)"
        );
        let other = Resource::object("shop", "Deployment", "web");
        let c = open.condition(&other).unwrap();
        assert_eq!(
            (c.status, c.reason, c.message.as_str()),
            ("False", NO_ALERTS, "")
        );
    }

    // Protects: however many alerts are open, the message stays bounded and says how many
    // it left out.
    #[test]
    fn a_long_list_is_cut_and_counted() {
        let many: Vec<Alert> = (0..200)
            .map(|i| {
                alert(
                    i,
                    "slo-latency-ticket",
                    "warning",
                    "2026-01-01T10:00:00Z",
                    "firing",
                )
            })
            .collect();
        let c = condition(&many);
        assert!(
            c.message.len() < MESSAGE_BUDGET + 200,
            "{}",
            c.message.len()
        );
        let listed = c.message.matches("slo-latency-ticket (warning, ").count();
        assert!(
            c.message.ends_with(&format!("; and {} more", 200 - listed)),
            "{}",
            c.message
        );
    }

    // Protects: a pass wakes exactly the objects whose condition disagrees with the open
    // alerts (raised, changed or cleared), not those already right (whatever the alert's
    // current message) or quietly without one.
    #[test]
    fn a_pass_wakes_objects_whose_condition_is_stale() {
        let open = OpenAlerts::default();
        let mut wakes = open.wakes();
        let r = |name: &str| Resource::object("shop", "Deployment", name);
        let firing = vec![alert(
            2,
            "slo-availability-page",
            "critical",
            "2026-01-01T11:00:00Z",
            "firing",
        )];
        let right = condition(&firing).message;
        let (raise, keep, clear, quiet, settled, changed) = (
            vec![],
            shown("True", &right),
            shown("True", "old"),
            vec![],
            shown("False", ""),
            shown("True", "other"),
        );
        let mut alerts = firing.clone();
        for name in ["raise", "keep", "changed"] {
            let mut a = firing[0].clone();
            a.name = name.into();
            // A new burn rate in the alert's message alone is no reason to wake anything.
            a.message = "burning at 66.7x".into();
            alerts.push(a);
        }
        open.publish(
            alerts,
            [
                (r("raise"), raise.as_slice()),
                (r("keep"), keep.as_slice()),
                (r("clear"), clear.as_slice()),
                (r("quiet"), quiet.as_slice()),
                (r("settled"), settled.as_slice()),
                (r("changed"), changed.as_slice()),
            ],
        );
        let mut woken = Vec::new();
        while let Ok(x) = wakes.try_recv() {
            woken.push(x.name);
        }
        woken.sort();
        assert_eq!(woken, ["changed", "clear", "raise"]);
    }
}
