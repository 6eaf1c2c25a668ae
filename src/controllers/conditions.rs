//! Condition types, reasons, and the one function that turns a reconcile verdict into the four
//! conditions every berth status carries (Ready, Synced, and kstatus' Reconciling and Stalled).
//!
//! Conditions are merged by type and keep `lastTransitionTime` unless their status changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types.
pub mod types {
    /// Is the thing usable?
    pub const READY: &str = "Ready";
    /// Did berth's last provider call succeed?
    pub const SYNCED: &str = "Synced";
    /// kstatus: work is under way.
    pub const RECONCILING: &str = "Reconciling";
    /// kstatus: no progress without outside intervention.
    pub const STALLED: &str = "Stalled";
}

/// Condition reasons (PascalCase, stable: tools match on them).
pub mod reasons {
    /// A new generation was seen and work has started.
    pub const PROGRESSING: &str = "Progressing";
    /// A referenced object is missing or not usable yet.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// The provider this resource needs has no client in this berth build yet.
    pub const PROVIDER_NOT_CONNECTED: &str = "ProviderNotConnected";
    /// `spec.suspend` is true.
    pub const SUSPENDED: &str = "Suspended";
    /// Everything matches the spec.
    pub const SUCCEEDED: &str = "Succeeded";
    /// The spec cannot be acted on as written.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// A transient error; berth retries with backoff.
    pub const RETRYING: &str = "Retrying";
    /// Nothing was attempted yet.
    pub const NOT_ATTEMPTED: &str = "NotAttempted";
    /// The object is being deleted.
    pub const DELETING: &str = "Deleting";
    /// The provider rejected berth's credentials (401/403): fix the token Secret.
    pub const CREDENTIALS_REJECTED: &str = "CredentialsRejected";
    /// The provider refused the request as written (4xx other than auth and rate limits).
    pub const PROVIDER_REJECTED: &str = "ProviderRejected";
    /// The provider answered in a way berth could not read.
    pub const PROVIDER_ERROR: &str = "ProviderError";
}

/// What a reconcile concluded, before it is spelled out as conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The spec is realised and usable.
    Ready { message: String },
    /// Work is under way and will finish without help (a build, a propagation wait).
    Progressing {
        reason: &'static str,
        message: String,
    },
    /// Waiting for a referenced object; resolves by itself once it appears (watched).
    Blocked { message: String },
    /// Cannot progress without a change by someone: bad spec, rejected credentials, a missing
    /// provider client.
    Stalled {
        reason: &'static str,
        message: String,
    },
    /// A transient failure; retried with backoff.
    Retrying { message: String },
    /// `spec.suspend` is set.
    Suspended,
}

/// Whether the last provider call succeeded (the `Synced` condition).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncResult {
    /// It did.
    Succeeded,
    /// It failed, or could not be made.
    Failed {
        reason: &'static str,
        message: String,
    },
    /// No provider call was made yet.
    NotAttempted { message: String },
}

impl Verdict {
    /// Waiting for dependencies; nothing was attempted at the provider.
    #[must_use]
    pub fn blocked(message: String) -> (Self, SyncResult) {
        (
            Self::Blocked {
                message: message.clone(),
            },
            SyncResult::NotAttempted { message },
        )
    }

    /// A failed provider call: permanent errors stall with the provider's message (the user
    /// must act), transient ones retry. The message never carries a secret: provider errors
    /// are scrubbed by the HTTP layer.
    #[must_use]
    pub fn provider_failed(error: &crate::providers::Error) -> (Self, SyncResult) {
        use crate::providers::Error as E;
        let message = error.to_string();
        let reason = match error {
            E::CredentialsRejected { .. } => reasons::CREDENTIALS_REJECTED,
            E::Decode { .. } | E::UnexpectedStatus { .. } | E::Request { .. } => {
                reasons::PROVIDER_ERROR
            }
            _ if error.is_permanent() => reasons::PROVIDER_REJECTED,
            _ => reasons::RETRYING,
        };
        let sync = SyncResult::Failed {
            reason,
            message: message.clone(),
        };
        if error.is_permanent() {
            (Self::Stalled { reason, message }, sync)
        } else {
            (Self::Retrying { message }, sync)
        }
    }

    /// A permanent problem (`reason`) before any provider call.
    #[must_use]
    pub fn stalled(reason: &'static str, message: String) -> (Self, SyncResult) {
        (
            Self::Stalled {
                reason,
                message: message.clone(),
            },
            SyncResult::NotAttempted { message },
        )
    }
}

/// The desired state of one condition (no timestamps yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

fn cond(
    type_: &'static str,
    status: &'static str,
    reason: &'static str,
    message: impl Into<String>,
) -> Desired {
    Desired {
        type_,
        status,
        reason,
        message: message.into(),
    }
}

/// The "status first" conditions written before any slow work on a new generation.
#[must_use]
pub fn starting(message: &str) -> Vec<Desired> {
    vec![
        cond(types::READY, "Unknown", reasons::PROGRESSING, message),
        cond(types::RECONCILING, "True", reasons::PROGRESSING, message),
        cond(types::STALLED, "False", reasons::PROGRESSING, ""),
    ]
}

/// Spells a verdict and a sync result out as the four conditions.
#[must_use]
pub fn from_verdict(verdict: &Verdict, sync: &SyncResult) -> Vec<Desired> {
    use types::{READY, RECONCILING, STALLED};
    let mut out = match verdict {
        Verdict::Ready { message } => vec![
            cond(READY, "True", reasons::SUCCEEDED, message.clone()),
            cond(RECONCILING, "False", reasons::SUCCEEDED, ""),
            cond(STALLED, "False", reasons::SUCCEEDED, ""),
        ],
        Verdict::Progressing { reason, message } => vec![
            cond(READY, "False", reason, message.clone()),
            cond(RECONCILING, "True", reason, message.clone()),
            cond(STALLED, "False", reason, ""),
        ],
        Verdict::Blocked { message } => vec![
            cond(
                READY,
                "False",
                reasons::DEPENDENCY_NOT_READY,
                message.clone(),
            ),
            cond(
                RECONCILING,
                "True",
                reasons::DEPENDENCY_NOT_READY,
                message.clone(),
            ),
            cond(STALLED, "False", reasons::DEPENDENCY_NOT_READY, ""),
        ],
        Verdict::Stalled { reason, message } => vec![
            cond(READY, "False", reason, message.clone()),
            cond(RECONCILING, "False", reason, ""),
            cond(STALLED, "True", reason, message.clone()),
        ],
        Verdict::Retrying { message } => vec![
            cond(READY, "False", reasons::RETRYING, message.clone()),
            cond(RECONCILING, "True", reasons::RETRYING, message.clone()),
            cond(STALLED, "False", reasons::RETRYING, ""),
        ],
        Verdict::Suspended => vec![
            cond(
                READY,
                "False",
                reasons::SUSPENDED,
                "spec.suspend is true: berth makes no provider writes",
            ),
            cond(RECONCILING, "False", reasons::SUSPENDED, ""),
            cond(STALLED, "False", reasons::SUSPENDED, ""),
        ],
    };
    out.push(match sync {
        SyncResult::Succeeded => cond(types::SYNCED, "True", reasons::SUCCEEDED, ""),
        SyncResult::Failed { reason, message } => {
            cond(types::SYNCED, "False", reason, message.clone())
        }
        SyncResult::NotAttempted { message } => cond(
            types::SYNCED,
            "False",
            reasons::NOT_ATTEMPTED,
            message.clone(),
        ),
    });
    out
}

/// Merges `desired` into `conditions` by type. `lastTransitionTime` moves only when a
/// condition's status changes; reason and message are always refreshed.
/// Returns the types whose status changed (for Events).
pub fn merge(
    conditions: &mut Vec<Condition>,
    desired: &[Desired],
    generation: Option<i64>,
    now: &Time,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
    for d in desired {
        let next = Condition {
            type_: d.type_.to_string(),
            status: d.status.to_string(),
            reason: d.reason.to_string(),
            message: d.message.clone(),
            observed_generation: generation,
            last_transition_time: now.clone(),
        };
        match conditions.iter_mut().find(|c| c.type_ == d.type_) {
            Some(existing) if existing.status == d.status => {
                existing.reason = next.reason;
                existing.message = next.message;
                existing.observed_generation = generation;
            }
            Some(existing) => {
                *existing = next;
                changed.push(d.type_);
            }
            None => {
                conditions.push(next);
                changed.push(d.type_);
            }
        }
    }
    // A stable order keeps status patches minimal and output predictable.
    conditions.sort_by_key(|c| order(&c.type_));
    changed
}

fn order(type_: &str) -> usize {
    [
        types::READY,
        types::SYNCED,
        types::RECONCILING,
        types::STALLED,
    ]
    .iter()
    .position(|t| *t == type_)
    .unwrap_or(usize::MAX)
}

/// Whether `type_` is one of the four conditions the runtime writes from a verdict.
#[must_use]
pub fn is_standard(type_: &str) -> bool {
    order(type_) != usize::MAX
}

/// The conditions a kind writes itself (any type but the four standard ones), in order.
#[must_use]
pub fn kind_specific(conditions: &[Condition]) -> Vec<Condition> {
    conditions
        .iter()
        .filter(|c| !is_standard(&c.type_))
        .cloned()
        .collect()
}

/// The condition of `type_`, if present.
#[must_use]
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap())
    }

    // Protects: lastTransitionTime changes only on a real transition (kstatus and `kubectl wait` rely on it).
    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let mut conds = Vec::new();
        merge(&mut conds, &starting("starting"), Some(1), &at(100));
        let ready_at = find(&conds, types::READY)
            .unwrap()
            .last_transition_time
            .clone();
        let changed = merge(&mut conds, &starting("still starting"), Some(1), &at(200));
        assert!(changed.is_empty());
        assert_eq!(
            find(&conds, types::READY).unwrap().last_transition_time,
            ready_at
        );
        assert_eq!(
            find(&conds, types::READY).unwrap().message,
            "still starting"
        );

        let stalled = Verdict::Stalled {
            reason: reasons::PROVIDER_NOT_CONNECTED,
            message: "no client".into(),
        };
        let changed = merge(
            &mut conds,
            &from_verdict(
                &stalled,
                &SyncResult::NotAttempted {
                    message: String::new(),
                },
            ),
            Some(2),
            &at(300),
        );
        assert_eq!(
            changed,
            vec![
                types::READY,
                types::RECONCILING,
                types::STALLED,
                types::SYNCED
            ]
        );
        assert_eq!(
            find(&conds, types::READY).unwrap().last_transition_time,
            at(300)
        );
        assert_eq!(
            find(&conds, types::STALLED).unwrap().observed_generation,
            Some(2)
        );
    }

    // Protects: each verdict maps onto kstatus' meaning: Stalled is terminal, Blocked keeps reconciling.
    #[test]
    fn verdicts_map_to_kstatus_conditions() {
        let status_of = |v: &Verdict, t: &str| {
            from_verdict(v, &SyncResult::Succeeded)
                .into_iter()
                .find(|d| d.type_ == t)
                .unwrap()
                .status
        };
        let blocked = Verdict::Blocked {
            message: "Environment production not found".into(),
        };
        assert_eq!(status_of(&blocked, types::RECONCILING), "True");
        assert_eq!(status_of(&blocked, types::STALLED), "False");
        let stalled = Verdict::Stalled {
            reason: reasons::INVALID_SPEC,
            message: "x".into(),
        };
        assert_eq!(status_of(&stalled, types::STALLED), "True");
        assert_eq!(status_of(&stalled, types::READY), "False");
        assert_eq!(
            status_of(
                &Verdict::Ready {
                    message: String::new()
                },
                types::READY
            ),
            "True"
        );
        assert_eq!(status_of(&Verdict::Suspended, types::RECONCILING), "False");
    }

    // Protects: conditions come out in one order whatever order they were merged in.
    #[test]
    fn conditions_are_sorted_by_type() {
        let mut conds = Vec::new();
        merge(
            &mut conds,
            &from_verdict(&Verdict::Suspended, &SyncResult::Succeeded),
            None,
            &at(1),
        );
        let types: Vec<_> = conds.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "Synced", "Reconciling", "Stalled"]);
    }
}
