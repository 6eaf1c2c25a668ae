//! Types every berth resource shares: references, the common spec switches (suspend, deletion
//! and management policy) and the status block with `observedGeneration` and conditions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The annotation that asks for an immediate reconcile; its value (any string, usually a
/// timestamp) is echoed in `status.lastHandledReconcileAt` once handled.
pub const RECONCILE_REQUESTED_ANNOTATION: &str = "berth.dev/reconcile-requested";

/// What happens to provider objects berth created when the resource is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the provider objects berth created or adopted (never foreign ones).
    #[default]
    Delete,
    /// Leave everything at the provider as it is; only the Kubernetes object goes away.
    Orphan,
}

/// How far berth may act on the provider for this resource.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update and delete provider objects to match the spec.
    #[default]
    Manage,
    /// Only read: report what exists and how it differs from the spec, change nothing.
    /// Use it to adopt an existing estate before letting berth manage it.
    Observe,
}

/// A reference to another berth resource in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
pub struct LocalRef {
    /// Name of the referenced object in this namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// A key in a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
pub struct SecretKeyRef {
    /// Name of the Secret in this namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret's data.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A key in a ConfigMap in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
pub struct ConfigMapKeyRef {
    /// Name of the ConfigMap in this namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the ConfigMap's data.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// The status fields every berth resource carries.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Synced, Reconciling and Stalled (kstatus), merged by type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The value of the `berth.dev/reconcile-requested` annotation last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Pattern of a Go-style duration such as `90s`, `15m` or `1h30m`. Written without backslashes
/// so the same text can sit inside a CEL string literal (see [`duration_rule`]).
pub const DURATION_PATTERN: &str = "^([0-9]+([.][0-9]+)?(ms|s|m|h))+$";

/// Longest duration string accepted; it bounds the cost of the CEL rules on duration fields.
pub const DURATION_MAX_LENGTH: u32 = 32;

/// A CEL rule on a duration string field whose condition `cond` is evaluated only once the value
/// has the shape of [`DURATION_PATTERN`]. A malformed value (`10 days`) then gets the pattern's
/// error alone, not a second, cryptic "type conversion error" from CEL's `duration()`.
#[must_use]
pub fn duration_rule(cond: &str) -> kube::core::Rule {
    kube::core::Rule::new(format!("!self.matches('{DURATION_PATTERN}') || ({cond})"))
}

/// Pattern of a DNS hostname (lower case, dot separated labels, no trailing dot).
pub const HOSTNAME_PATTERN: &str =
    r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$";

/// Parses a Go-style duration matching [`DURATION_PATTERN`] (`90s`, `1h30m`, `1.5s`, `250ms`).
/// `None` for anything else; admission already rejects such values, so callers fall back to
/// the field's default.
#[must_use]
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&n| n > 0)?;
        let value: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else {
            return None;
        };
        total += value * unit;
        rest = &rest[len..];
    }
    std::time::Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_duration;

    // Protects: every spec duration (deadlines, intervals) is read as the user wrote it.
    #[test]
    fn go_durations_parse_and_nonsense_does_not() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("336h"),
            Some(Duration::from_secs(336 * 3600))
        );
        for bad in ["", "10", "10 days", "s", "5x", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
