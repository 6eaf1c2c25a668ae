//! The rules read from the cluster state (pure): certificates close to expiry, backups that are
//! stale or failed verification, deployments that failed or were rolled back, and provider
//! circuits that are open. Each reads what the owning reconciler already wrote to status (the
//! BackupPolicy's `Alerting` condition, the Deployment's phase) instead of recomputing it.

use chrono::{DateTime, Utc};
use kube::ResourceExt;

use super::{Finding, Resource, Severity};
use crate::{
    api::{
        BackupPolicy, Certificate, Deployment, common::parse_duration, deployment::DeploymentPhase,
    },
    controllers::{backup_policy::plan as backup_plan, conditions::find},
    providers::{http::CircuitState, pool::ProviderCircuit},
};

/// A certificate expires within its warning window (or has expired).
pub const CERTIFICATE_EXPIRING: &str = "certificate-expiring";
/// The newest backup is older than twice its schedule.
pub const BACKUP_STALE: &str = "backup-stale";
/// The newest restore verification failed.
pub const BACKUP_VERIFICATION_FAILED: &str = "backup-verification-failed";
/// A release failed and nothing was rolled back.
pub const DEPLOYMENT_FAILED: &str = "deployment-failed";
/// A release was rolled back; the Deployment is held on the good revision.
pub const DEPLOYMENT_ROLLED_BACK: &str = "deployment-rolled-back";
/// A provider instance's circuit breaker is not closed.
pub const PROVIDER_CIRCUIT_OPEN: &str = "provider-circuit-open";
/// Every rule of this module.
pub const RULES: [&str; 6] = [
    CERTIFICATE_EXPIRING,
    BACKUP_STALE,
    BACKUP_VERIFICATION_FAILED,
    DEPLOYMENT_FAILED,
    DEPLOYMENT_ROLLED_BACK,
    PROVIDER_CIRCUIT_OPEN,
];

/// The kind of provider-instance alerts (which have no namespace).
pub const PROVIDER_KIND: &str = "Provider";

/// The warning window of a Certificate without `endpointCheck.warningWindow` (14 days).
const DEFAULT_WARNING: &str = "336h";

/// Certificates whose `notAfter` (issued, or served by the endpoint, whichever is sooner) falls
/// within their warning window of `now`.
#[must_use]
pub fn certificates(certs: &[std::sync::Arc<Certificate>], now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in certs {
        let Some(status) = &c.status else { continue };
        let served = status.served.as_ref().and_then(|s| s.not_after.as_deref());
        let Some(not_after) = [status.not_after.as_deref(), served]
            .into_iter()
            .flatten()
            .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .min()
        else {
            continue;
        };
        let window = c
            .spec
            .endpoint_check
            .as_ref()
            .and_then(|e| parse_duration(&e.warning_window))
            .or_else(|| parse_duration(DEFAULT_WARNING))
            .and_then(|d| chrono::TimeDelta::from_std(d).ok())
            .unwrap_or(chrono::TimeDelta::days(14));
        let left = not_after - now;
        if left > window {
            continue;
        }
        let names = c.spec.dns_names.join(", ");
        let (severity, message) = if left <= chrono::TimeDelta::zero() {
            (
                Severity::Critical,
                format!(
                    "the certificate for {names} expired at {}",
                    rfc3339(not_after)
                ),
            )
        } else {
            (
                Severity::Warning,
                format!(
                    "the certificate for {names} expires at {} (in {}h), within its warning window",
                    rfc3339(not_after),
                    left.num_hours()
                ),
            )
        };
        out.push(Finding {
            rule: CERTIFICATE_EXPIRING,
            resource: object(c.as_ref(), "Certificate"),
            severity,
            message,
        });
    }
    out
}

/// BackupPolicies whose `Alerting` condition is `True`, by its reason.
#[must_use]
pub fn backups(policies: &[std::sync::Arc<BackupPolicy>]) -> Vec<Finding> {
    policies
        .iter()
        .filter_map(|p| {
            let status = p.status.as_ref()?;
            let c = find(&status.common.conditions, backup_plan::ALERTING)?;
            if c.status != "True" {
                return None;
            }
            let (rule, severity) = match c.reason.as_str() {
                backup_plan::reason::BACKUP_STALE => (BACKUP_STALE, Severity::Warning),
                backup_plan::reason::VERIFICATION_FAILED => {
                    (BACKUP_VERIFICATION_FAILED, Severity::Critical)
                }
                _ => return None,
            };
            Some(Finding {
                rule,
                resource: object(p.as_ref(), "BackupPolicy"),
                severity,
                message: c.message.clone(),
            })
        })
        .collect()
}

/// Deployments in phase `Failed` or `Held` (rolled back).
#[must_use]
pub fn deployments(deployments: &[std::sync::Arc<Deployment>]) -> Vec<Finding> {
    deployments
        .iter()
        .filter_map(|d| {
            let s = d.status.as_ref()?;
            let held = s
                .held_revision
                .as_deref()
                .unwrap_or("the declared revision");
            let (rule, severity, message) = match s.phase? {
                DeploymentPhase::Failed => {
                    let why = s
                        .history
                        .first()
                        .and_then(|r| r.message.clone())
                        .or_else(|| find(&s.common.conditions, "Ready").map(|c| c.message.clone()))
                        .unwrap_or_default();
                    (
                        DEPLOYMENT_FAILED,
                        Severity::Critical,
                        format!("the release of {held} failed and nothing was rolled back: {why}"),
                    )
                }
                DeploymentPhase::Held => {
                    let message = match &s.last_rollback {
                        Some(r) => format!(
                            "rolled back from {} to {} ({}); {held} is held until the spec changes",
                            r.from_revision, r.to_revision, r.reason
                        ),
                        None => format!("rolled back; {held} is held until the spec changes"),
                    };
                    (DEPLOYMENT_ROLLED_BACK, Severity::Warning, message)
                }
                _ => return None,
            };
            Some(Finding {
                rule,
                resource: object(d.as_ref(), "Deployment"),
                severity,
                message,
            })
        })
        .collect()
}

/// Provider instances whose circuit is open or half-open (still probing counts as open, so a
/// flapping provider stays one alert).
#[must_use]
pub fn circuits(circuits: &[ProviderCircuit]) -> Vec<Finding> {
    circuits
        .iter()
        .filter(|c| c.circuit.state != CircuitState::Closed)
        .map(|c| Finding {
            rule: PROVIDER_CIRCUIT_OPEN,
            resource: Resource {
                namespace: String::new(),
                kind: PROVIDER_KIND.into(),
                name: format!("{} {}", c.provider, c.instance),
            },
            severity: Severity::Warning,
            message: format!(
                "calls to {} ({}) fail fast after {} failures in a row; its objects wait",
                c.provider, c.instance, c.circuit.consecutive_failures
            ),
        })
        .collect()
}

fn object<K: kube::Resource>(obj: &K, kind: &str) -> Resource {
    Resource::object(&obj.namespace().unwrap_or_default(), kind, &obj.name_any())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::providers::http::CircuitSnapshot;

    fn now() -> DateTime<Utc> {
        "2030-06-01T12:00:00Z".parse().unwrap()
    }

    fn cert(window: Option<&str>, not_after: &str) -> Arc<Certificate> {
        let check = window.map_or(String::new(), |w| {
            format!("  endpointCheck: {{warningWindow: {w}}}\n")
        });
        Arc::new(
            serde_yaml::from_str(&format!(
                "apiVersion: berth.dev/v1alpha1\nkind: Certificate\nmetadata: {{name: api, namespace: shop}}\nspec:\n  environmentRef: {{name: prod}}\n  dnsNames: [api.shop.test]\n  issuer: {{platform: {{provider: Vercel}}}}\n{check}status:\n  notAfter: \"{not_after}\"\n"
            ))
            .unwrap(),
        )
    }

    // Protects: the warning window comes from the Certificate (default 14 days); outside it is
    // quiet, inside it warns, past expiry it is critical.
    #[test]
    fn certificate_expiry_uses_its_warning_window() {
        assert!(certificates(&[cert(None, "2030-06-20T12:00:00Z")], now()).is_empty());
        let f = certificates(&[cert(None, "2030-06-10T12:00:00Z")], now());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, CERTIFICATE_EXPIRING);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].resource.to_string(), "shop/Certificate/api");
        assert!(f[0].message.contains("api.shop.test"), "{}", f[0].message);
        assert!(certificates(&[cert(Some("24h"), "2030-06-10T12:00:00Z")], now()).is_empty());
        let expired = certificates(&[cert(Some("24h"), "2030-06-01T11:00:00Z")], now());
        assert_eq!(expired[0].severity, Severity::Critical);
    }

    // Protects: the backup rules follow the reconciler's Alerting condition and its reason.
    #[test]
    fn backup_alerts_follow_the_alerting_condition() {
        let policy = |status: &str, reason: &str| -> Arc<BackupPolicy> {
            Arc::new(serde_yaml::from_str(&format!(
                "apiVersion: berth.dev/v1alpha1\nkind: BackupPolicy\nmetadata: {{name: db, namespace: shop}}\nspec:\n  database: {{connectionSecretRef: {{name: db, key: uri}}}}\n  schedule: \"0 3 * * *\"\n  destination: {{filesystem: {{path: /backups}}}}\nstatus:\n  conditions:\n  - {{type: Alerting, status: \"{status}\", reason: {reason}, message: newest backup is 3d old, lastTransitionTime: \"2030-06-01T00:00:00Z\"}}\n"
            )).unwrap())
        };
        let f = backups(&[policy("True", "BackupStale")]);
        assert_eq!(
            (f[0].rule, f[0].severity),
            (BACKUP_STALE, Severity::Warning)
        );
        assert_eq!(f[0].message, "newest backup is 3d old");
        let f = backups(&[policy("True", "VerificationFailed")]);
        assert_eq!(f[0].rule, BACKUP_VERIFICATION_FAILED);
        assert!(backups(&[policy("False", "NoAlert")]).is_empty());
    }

    // Protects: Failed and Held (rolled back) Deployments alert; Live ones do not.
    #[test]
    fn failed_and_rolled_back_deployments_alert() {
        let dep = |phase: &str| -> Arc<Deployment> {
            Arc::new(serde_yaml::from_str(&format!(
                "apiVersion: berth.dev/v1alpha1\nkind: Deployment\nmetadata: {{name: api, namespace: shop}}\nspec:\n  environmentRef: {{name: prod}}\n  service: {{vercel: {{project: web}}}}\n  source: {{repo: a/b, commit: bad0001}}\nstatus:\n  phase: {phase}\n  heldRevision: bad0001\n  lastRollback: {{fromRevision: bad0001, toRevision: good001, reason: HealthCheckFailed, time: \"2030-06-01T00:00:00Z\"}}\n"
            )).unwrap())
        };
        let f = deployments(&[dep("Held")]);
        assert_eq!(f[0].rule, DEPLOYMENT_ROLLED_BACK);
        assert!(
            f[0].message.contains("from bad0001 to good001"),
            "{}",
            f[0].message
        );
        assert_eq!(deployments(&[dep("Failed")])[0].rule, DEPLOYMENT_FAILED);
        assert!(deployments(&[dep("Live")]).is_empty());
    }

    // Protects: open and half-open circuits alert, closed ones do not; no namespace.
    #[test]
    fn open_circuits_alert() {
        let c = |state| ProviderCircuit {
            provider: "Vercel",
            instance: "team t1".into(),
            circuit: CircuitSnapshot {
                state,
                consecutive_failures: 5,
                retry_in_ms: None,
            },
        };
        let f = circuits(&[
            c(CircuitState::Open),
            c(CircuitState::HalfOpen),
            c(CircuitState::Closed),
        ]);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].resource.to_string(), "Provider/Vercel team t1");
    }
}
