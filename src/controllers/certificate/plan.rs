//! The pure heart of the Certificate reconciler: from the spec, the status and the pair in
//! the Secret (already parsed), at a given `now`, what to do next — hold, order, resume the
//! pending order, or wait out the backoff of a failed one — and how to spell the result as
//! a verdict and the kind's own conditions (`Issuing`, `ExpiringSoon`).
//!
//! A renewal never takes the current certificate away: the Secret is replaced only by a
//! complete new pair (in `act`), so while a renewal is pending or failing the verdict stays
//! Ready on the old certificate and the `Issuing` condition carries the trouble.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::x509::CertInfo;
use crate::{
    api::{
        certificate::{CertificateSpec, IssuanceFailure, KeyAlgorithm},
        common::parse_duration,
    },
    controllers::conditions::{Desired, SyncResult, Verdict},
};

/// Kind-specific condition types.
pub mod types {
    /// True while an ACME order is in progress; False with the ACME problem after a failure.
    pub const ISSUING: &str = "Issuing";
    /// True when the certificate (served, or in the Secret) expires within the warning window.
    pub const EXPIRING_SOON: &str = "ExpiringSoon";
}

/// Kind-specific reasons.
pub mod reasons {
    pub const ORDER_PENDING: &str = "OrderPending";
    pub const ORDER_FAILED: &str = "OrderFailed";
    pub const ISSUED: &str = "Issued";
    pub const UP_TO_DATE: &str = "UpToDate";
    pub const EXPIRES_SOON: &str = "ExpiresSoon";
    pub const NOT_EXPIRING: &str = "NotExpiring";
    pub const ISSUING: &str = "Issuing";
    pub const PLATFORM_PENDING: &str = "PlatformPending";
    pub const PLATFORM_FAILED: &str = "PlatformCertificateFailed";
}

/// The first retry of a failed order waits this long; each further failure doubles it.
pub const FAILURE_BACKOFF_BASE: Duration = Duration::from_secs(30);
/// The longest wait between failed orders.
pub const FAILURE_BACKOFF_MAX: Duration = Duration::from_secs(6 * 3600);
/// Default endpoint-check warning window (the CRD's default too).
pub const DEFAULT_WARNING: Duration = Duration::from_secs(336 * 3600);

/// Why a new certificate is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// The Secret holds no complete, readable pair.
    Missing,
    /// The names on the certificate differ from `spec.dnsNames`.
    NamesChanged,
    /// The key differs from `spec.privateKey`.
    KeyChanged,
    /// The renewal time has come.
    RenewalDue,
    /// The certificate has expired.
    Expired,
}

impl Need {
    fn describe(self) -> &'static str {
        match self {
            Self::Missing => "no certificate yet",
            Self::NamesChanged => "spec.dnsNames changed",
            Self::KeyChanged => "spec.privateKey changed",
            Self::RenewalDue => "renewal is due",
            Self::Expired => "the certificate expired",
        }
    }
}

/// The next step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The current certificate is fine.
    Hold,
    /// Create a new order.
    Order(Need),
    /// Continue the order recorded in status.
    Resume(String),
    /// The last order failed; wait until `until` before ordering again.
    Backoff { need: Need, until: DateTime<Utc> },
}

/// What the plan decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub step: Step,
    /// When the current certificate is renewed.
    pub renewal_time: Option<DateTime<Utc>>,
    /// When to look again if nothing else happens (renewal or end of backoff).
    pub wake: Option<Duration>,
}

/// The inputs of [`plan`].
pub struct Input<'a> {
    pub spec: &'a CertificateSpec,
    pub pending_order: Option<&'a str>,
    pub last_failure: Option<&'a IssuanceFailure>,
    /// The complete pair in the Secret, if any.
    pub current: Option<&'a CertInfo>,
    pub now: DateTime<Utc>,
}

/// Checks what the API server cannot: every name lies in the environment's zone.
pub fn validate(spec: &CertificateSpec, zone: &str) -> Result<(), String> {
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();
    let outside: Vec<&str> = spec
        .dns_names
        .iter()
        .map(String::as_str)
        .filter(|n| {
            let base = n.trim_start_matches("*.");
            base != zone && !base.ends_with(&format!(".{zone}"))
        })
        .collect();
    if outside.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "spec.dnsNames {outside:?} lie outside the environment's zone {zone}: DNS-01 can only answer for names in it"
        ))
    }
}

/// When `cert` is renewed: `renew_before` ahead of expiry, by default a third of its lifetime.
#[must_use]
pub fn renewal_time(cert: &CertInfo, renew_before: Option<&str>) -> DateTime<Utc> {
    let lifetime = cert.not_after - cert.not_before;
    let before = renew_before
        .and_then(parse_duration)
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .filter(|d| *d < lifetime)
        .unwrap_or(lifetime / 3);
    cert.not_after - before
}

/// Decides the next step.
#[must_use]
pub fn plan(input: &Input<'_>) -> Plan {
    let renewal = input
        .current
        .map(|c| renewal_time(c, input.spec.renew_before.as_deref()));
    let need = match input.current {
        None => Some(Need::Missing),
        Some(c) if c.not_after <= input.now => Some(Need::Expired),
        Some(c) if !same_names(&c.dns_names, &input.spec.dns_names) => Some(Need::NamesChanged),
        Some(c) if c.key != wanted_key(input.spec) => Some(Need::KeyChanged),
        Some(_) if renewal.is_some_and(|r| r <= input.now) => Some(Need::RenewalDue),
        Some(_) => None,
    };
    let until_renewal = renewal.and_then(|r| (r - input.now).to_std().ok());
    let step = match (input.pending_order, need) {
        (Some(url), _) => Step::Resume(url.to_owned()),
        (None, None) => Step::Hold,
        (None, Some(need)) => match input.last_failure.and_then(retry_at) {
            Some(until) if until > input.now => Step::Backoff { need, until },
            _ => Step::Order(need),
        },
    };
    let wake = match &step {
        Step::Hold => until_renewal,
        Step::Backoff { until, .. } => (*until - input.now).to_std().ok(),
        Step::Order(_) | Step::Resume(_) => None,
    };
    Plan {
        step,
        renewal_time: renewal,
        wake,
    }
}

/// When the order after `failure` may be made.
#[must_use]
pub fn retry_at(failure: &IssuanceFailure) -> Option<DateTime<Utc>> {
    let at = DateTime::parse_from_rfc3339(&failure.time).ok()?;
    let exp = u32::try_from(failure.attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let wait = FAILURE_BACKOFF_BASE
        .saturating_mul(1u32 << exp)
        .min(FAILURE_BACKOFF_MAX);
    Some(at.with_timezone(&Utc) + chrono::Duration::from_std(wait).ok()?)
}

/// The failure record after one more failed order.
#[must_use]
pub fn failed(
    previous: Option<&IssuanceFailure>,
    message: String,
    now: DateTime<Utc>,
) -> IssuanceFailure {
    IssuanceFailure {
        attempts: previous.map_or(0, |p| p.attempts).saturating_add(1),
        time: now.to_rfc3339(),
        message,
    }
}

fn same_names(have: &[String], want: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_ascii_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    norm(have) == norm(want)
}

fn wanted_key(spec: &CertificateSpec) -> String {
    match spec.private_key.algorithm {
        KeyAlgorithm::ECDSA => format!("ECDSA-{}", spec.private_key.size),
        KeyAlgorithm::RSA => format!("RSA-{}", spec.private_key.size),
    }
}

/// Whether `cert` is valid at `now` for every name in `names` (wildcards cover one label).
#[must_use]
pub fn covers(cert: &CertInfo, names: &[String], now: DateTime<Utc>) -> bool {
    let covered = |name: &str| {
        cert.dns_names.iter().any(|c| {
            c == name
                || c.strip_prefix("*.").is_some_and(|base| {
                    name.split_once('.')
                        .is_some_and(|(label, rest)| label != "*" && rest == base)
                })
        })
    };
    cert.not_before <= now && now < cert.not_after && names.iter().all(|n| covered(n))
}

/// What the act step achieved with ACME this reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issuance {
    /// Nothing was needed.
    Idle,
    /// An order is under way (detail for the condition).
    InProgress(String),
    /// A new pair was written to the Secret.
    Issued,
    /// The order failed (the ACME problem); the next one waits out the backoff.
    Failed(String),
    /// Something transient got in the way (DNS provider, network); retried.
    Interrupted(String),
}

/// The verdict for an ACME certificate: Ready as long as a valid certificate is in the
/// Secret, whatever a renewal is doing.
#[must_use]
pub fn acme_verdict(
    current: Option<&CertInfo>,
    spec: &CertificateSpec,
    issuance: &Issuance,
    renewal: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (Verdict, SyncResult) {
    let usable = current.filter(|c| covers(c, &spec.dns_names, now));
    let sync = match issuance {
        Issuance::Failed(m) => SyncResult::Failed {
            reason: reasons::ORDER_FAILED,
            message: m.clone(),
        },
        Issuance::Interrupted(m) => SyncResult::Failed {
            reason: crate::controllers::conditions::reasons::RETRYING,
            message: m.clone(),
        },
        _ => SyncResult::Succeeded,
    };
    let verdict = match (usable, issuance) {
        (Some(c), _) => {
            let mut message = format!(
                "certificate {} valid until {}",
                c.serial,
                c.not_after.to_rfc3339()
            );
            if let Some(r) = renewal {
                message.push_str(&format!(", renews at {}", r.to_rfc3339()));
            }
            match issuance {
                Issuance::InProgress(d) => message.push_str(&format!("; renewing: {d}")),
                Issuance::Failed(m) | Issuance::Interrupted(m) => message.push_str(&format!(
                    "; renewal failed, still serving the current certificate: {m}"
                )),
                Issuance::Idle | Issuance::Issued => {}
            }
            Verdict::Ready { message }
        }
        (None, Issuance::InProgress(d)) => Verdict::Progressing {
            reason: reasons::ISSUING,
            message: d.clone(),
        },
        (None, Issuance::Failed(m) | Issuance::Interrupted(m)) => {
            Verdict::Retrying { message: m.clone() }
        }
        // Issued or nothing to do, yet no usable certificate: only a clock that jumped.
        (None, Issuance::Idle | Issuance::Issued) => Verdict::Progressing {
            reason: reasons::ISSUING,
            message: "waiting for a usable certificate".into(),
        },
    };
    (verdict, sync)
}

/// The `Issuing` condition for this reconcile's issuance.
#[must_use]
pub fn issuing_condition(issuance: &Issuance, need: Option<Need>) -> Desired {
    let (status, reason, message) = match issuance {
        Issuance::InProgress(d) => (
            "True",
            reasons::ORDER_PENDING,
            match need {
                Some(n) => format!("{}: {d}", n.describe()),
                None => d.clone(),
            },
        ),
        Issuance::Interrupted(m) => ("True", reasons::ORDER_PENDING, m.clone()),
        Issuance::Failed(m) => ("False", reasons::ORDER_FAILED, m.clone()),
        Issuance::Issued => ("False", reasons::ISSUED, String::new()),
        Issuance::Idle => ("False", reasons::UP_TO_DATE, String::new()),
    };
    Desired {
        type_: types::ISSUING,
        status,
        reason,
        message,
    }
}

/// The `ExpiringSoon` condition: `expiry` is the served certificate's (or the stored one's)
/// end of validity, `what` says which.
#[must_use]
pub fn expiry_condition(
    expiry: DateTime<Utc>,
    what: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> Desired {
    let soon = chrono::Duration::from_std(window)
        .ok()
        .is_none_or(|w| expiry - now <= w);
    if soon {
        Desired {
            type_: types::EXPIRING_SOON,
            status: "True",
            reason: reasons::EXPIRES_SOON,
            message: format!(
                "{what} expires at {} (warning window {}h)",
                expiry.to_rfc3339(),
                window.as_secs() / 3600
            ),
        }
    } else {
        Desired {
            type_: types::EXPIRING_SOON,
            status: "False",
            reason: reasons::NOT_EXPIRING,
            message: format!("{what} expires at {}", expiry.to_rfc3339()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> CertificateSpec {
        crate::yaml::from_str(&format!(
            "environmentRef: {{name: production}}\ndnsNames: [api.example.test]\nsecretName: api-tls\nissuer: {{acme: {{server: 'https://acme.test/dir', email: ops@example.test}}}}\n{extra}"
        ))
        .unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A 90-day certificate for api.example.test from 2030-01-01.
    fn cert() -> CertInfo {
        CertInfo {
            not_before: at("2030-01-01T00:00:00Z"),
            not_after: at("2030-04-01T00:00:00Z"),
            serial: "abc1".into(),
            issuer: "CN=Test CA".into(),
            dns_names: vec!["api.example.test".into()],
            key: "ECDSA-256".into(),
            spki: Vec::new(),
        }
    }

    fn input<'a>(spec: &'a CertificateSpec, current: Option<&'a CertInfo>, now: &str) -> Input<'a> {
        Input {
            spec,
            pending_order: None,
            last_failure: None,
            current,
            now: at(now),
        }
    }

    // Protects: renewal starts a third of the lifetime before expiry by default, at
    // renewBefore when set, and the controller wakes up exactly then.
    #[test]
    fn renewal_time_is_a_third_of_the_lifetime_or_renew_before() {
        let c = cert();
        let s = spec("");
        let p = plan(&input(&s, Some(&c), "2030-01-10T00:00:00Z"));
        assert_eq!(p.step, Step::Hold);
        assert_eq!(p.renewal_time, Some(at("2030-03-02T00:00:00Z")));
        assert_eq!(p.wake, Some(Duration::from_secs(51 * 86400)));

        let s = spec("renewBefore: 720h");
        let p = plan(&input(&s, Some(&c), "2030-01-10T00:00:00Z"));
        assert_eq!(p.renewal_time, Some(at("2030-03-02T00:00:00Z")));
        let s = spec("renewBefore: 240h");
        let p = plan(&input(&s, Some(&c), "2030-03-21T23:59:59Z"));
        assert_eq!(p.renewal_time, Some(at("2030-03-22T00:00:00Z")));
        assert_eq!(p.step, Step::Hold);
        let p = plan(&input(&s, Some(&c), "2030-03-22T00:00:00Z"));
        assert_eq!(p.step, Step::Order(Need::RenewalDue));
    }

    // Protects: a renewBefore longer than the certificate's whole life (a short-lived test
    // CA) falls back to a third of it instead of renewing in a loop.
    #[test]
    fn renew_before_longer_than_the_lifetime_is_ignored() {
        let mut c = cert();
        c.not_after = c.not_before + chrono::Duration::seconds(60);
        let s = spec("renewBefore: 720h");
        assert_eq!(
            renewal_time(&c, s.renew_before.as_deref()),
            c.not_before + chrono::Duration::seconds(40)
        );
    }

    // Protects: a missing pair, changed names, a changed key kind and expiry each order a
    // new certificate; a pending order is always resumed first.
    #[test]
    fn needs_order_and_pending_orders_resume() {
        let s = spec("");
        assert_eq!(
            plan(&input(&s, None, "2030-01-10T00:00:00Z")).step,
            Step::Order(Need::Missing)
        );
        let mut other = cert();
        other.dns_names = vec!["www.example.test".into()];
        assert_eq!(
            plan(&input(&s, Some(&other), "2030-01-10T00:00:00Z")).step,
            Step::Order(Need::NamesChanged)
        );
        let rsa = spec("privateKey: {algorithm: RSA, size: 2048}");
        assert_eq!(
            plan(&input(&rsa, Some(&cert()), "2030-01-10T00:00:00Z")).step,
            Step::Order(Need::KeyChanged)
        );
        assert_eq!(
            plan(&input(&s, Some(&cert()), "2030-05-01T00:00:00Z")).step,
            Step::Order(Need::Expired)
        );
        let c = cert();
        let mut i = input(&s, Some(&c), "2030-01-10T00:00:00Z");
        i.pending_order = Some("https://acme.test/order/1");
        assert_eq!(
            plan(&i).step,
            Step::Resume("https://acme.test/order/1".into())
        );
    }

    // Protects: failed orders back off (30 s, 60 s, 120 s, …, capped) instead of hammering
    // the CA, and the controller wakes at the end of the wait.
    #[test]
    fn failed_orders_back_off() {
        let s = spec("");
        let now = at("2030-01-10T00:00:00Z");
        let one = failed(None, "unauthorized".into(), now);
        let three = failed(
            Some(&failed(Some(&one), "x".into(), now)),
            "unauthorized".into(),
            now,
        );
        assert_eq!(three.attempts, 3);
        let mut i = input(&s, None, "2030-01-10T00:00:10Z");
        i.last_failure = Some(&one);
        let p = plan(&i);
        assert_eq!(
            p.step,
            Step::Backoff {
                need: Need::Missing,
                until: at("2030-01-10T00:00:30Z")
            }
        );
        assert_eq!(p.wake, Some(Duration::from_secs(20)));
        i.last_failure = Some(&three);
        i.now = at("2030-01-10T00:01:59Z");
        assert!(matches!(plan(&i).step, Step::Backoff { .. }));
        i.now = at("2030-01-10T00:02:00Z");
        assert_eq!(plan(&i).step, Step::Order(Need::Missing));
        let many = IssuanceFailure {
            attempts: 40,
            ..one.clone()
        };
        assert_eq!(
            retry_at(&many),
            Some(now + chrono::Duration::from_std(FAILURE_BACKOFF_MAX).unwrap())
        );
    }

    // Protects: a failing renewal keeps the verdict Ready on the old certificate (the Secret is
    // untouched), says so, and marks Synced and Issuing False with the ACME problem.
    #[test]
    fn failed_renewal_keeps_the_old_certificate_ready() {
        let s = spec("");
        let c = cert();
        let problem = "urn:ietf:params:acme:error:unauthorized: no TXT record".to_string();
        let (v, sync) = acme_verdict(
            Some(&c),
            &s,
            &Issuance::Failed(problem.clone()),
            Some(at("2030-03-02T00:00:00Z")),
            at("2030-03-05T00:00:00Z"),
        );
        let Verdict::Ready { message } = v else {
            panic!("{v:?}")
        };
        assert!(
            message.contains("still serving the current certificate"),
            "{message}"
        );
        assert!(message.contains(&problem), "{message}");
        assert!(
            matches!(sync, SyncResult::Failed { reason, .. } if reason == reasons::ORDER_FAILED)
        );
        let issuing = issuing_condition(&Issuance::Failed(problem.clone()), Some(Need::RenewalDue));
        assert_eq!(
            (issuing.status, issuing.reason),
            ("False", reasons::ORDER_FAILED)
        );
        assert_eq!(issuing.message, problem);

        // Without a usable certificate the same failure is a retry, not Ready.
        let (v, _) = acme_verdict(
            None,
            &s,
            &Issuance::Failed(problem.clone()),
            None,
            at("2030-03-05T00:00:00Z"),
        );
        assert_eq!(v, Verdict::Retrying { message: problem });
    }

    // Protects: the expiry warning turns on inside the window and off outside it.
    #[test]
    fn expiry_warning_inside_the_window() {
        let window = Duration::from_secs(14 * 86400);
        let expiry = at("2030-04-01T00:00:00Z");
        let c = expiry_condition(expiry, "served", window, at("2030-03-18T00:00:01Z"));
        assert_eq!((c.status, c.reason), ("True", reasons::EXPIRES_SOON));
        assert!(
            c.message.contains("2030-04-01T00:00:00+00:00"),
            "{}",
            c.message
        );
        let c = expiry_condition(expiry, "served", window, at("2030-03-17T23:59:59Z"));
        assert_eq!((c.status, c.reason), ("False", reasons::NOT_EXPIRING));
    }

    // Protects: names outside the environment's zone are refused before any order.
    #[test]
    fn names_must_lie_in_the_zone() {
        let s = spec("");
        assert!(validate(&s, "example.test.").is_ok());
        let mut w = s.clone();
        w.dns_names = vec!["*.example.test".into(), "example.test".into()];
        assert!(validate(&w, "example.test").is_ok());
        let err = validate(&s, "other.test").unwrap_err();
        assert!(err.contains("api.example.test"), "{err}");
        let mut tricky = s.clone();
        tricky.dns_names = vec!["notexample.test".into()];
        assert!(validate(&tricky, "example.test").is_err());
    }

    // Protects: wildcards cover exactly one label, and an expired certificate covers nothing.
    #[test]
    fn coverage_of_names() {
        let mut c = cert();
        c.dns_names = vec!["*.example.test".into()];
        let now = at("2030-02-01T00:00:00Z");
        assert!(covers(&c, &["api.example.test".into()], now));
        assert!(!covers(&c, &["a.b.example.test".into()], now));
        assert!(!covers(&c, &["example.test".into()], now));
        assert!(!covers(
            &c,
            &["api.example.test".into()],
            at("2031-01-01T00:00:00Z")
        ));
    }
}
