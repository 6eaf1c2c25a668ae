//! Uptime and latency monitoring: probes of every Ready Deployment and every Domain with an
//! endpoint, their samples in Postgres, minute/hour/day rollups, retention, and the uptime and
//! performance reports the admin API serves.
//!
//! ```text
//! caches ─► targets (pure) ─► scheduler (stable offset a target) ─► probe (HTTP, TLS timed)
//!                                                                     │ Sample
//!                     /metrics ◄── metrics ◄──────────────────────────┤
//!                                                                     ▼
//!             report ◄── probe_rollups ◄── rollup (minute→hour→day) ◄── ingest (batched)
//! ```
//! Only the leader probes and rolls up ([`job`]); every replica reports from the database.
//! A target is named `"<namespace>/<Kind>/<name>"`, the name the alerts read rollups by.

pub mod ingest;
pub mod job;
pub mod metrics;
pub mod probe;
pub mod report;
pub mod rollup;
pub mod scheduler;
pub mod seed;
pub mod targets;

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use self::{job::Config, metrics::ProbeMetrics};

/// Something to probe: one URL, how to judge the answer, and how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `"<namespace>/<Kind>/<name>"`.
    pub name: String,
    /// The URL requested.
    pub url: String,
    /// Which status counts as up.
    pub expect: Expect,
    /// Per-request time-out.
    pub timeout: Duration,
    /// A slower answer is a failure.
    pub latency_budget: Duration,
    /// Time between probes.
    pub interval: Duration,
}

/// Which answers count as up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this status (a Deployment's `healthCheck.expectedStatus`).
    Status(u16),
    /// Any status below 400 (a Domain's endpoint, which may well redirect).
    BelowFourHundred,
}

impl Expect {
    /// Whether `status` counts as up.
    #[must_use]
    pub fn accepts(self, status: u16) -> bool {
        match self {
            Self::Status(want) => status == want,
            Self::BelowFourHundred => status < 400,
        }
    }
}

/// Why a probe failed, as stored in `probe_samples.error_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The URL is not one berth can request.
    InvalidUrl,
    /// The hostname did not resolve.
    Dns,
    /// The TCP connection failed.
    Connect,
    /// The TLS handshake failed (an untrusted or mismatched certificate, say).
    Tls,
    /// The request failed after connecting (a malformed answer, a reset).
    Http,
    /// No answer within the time-out.
    Timeout,
    /// An answer with a status that does not count as up.
    Status,
    /// An answer slower than the latency budget.
    Latency,
}

impl ErrorKind {
    /// The stored and exported name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidUrl => "invalid_url",
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Http => "http",
            Self::Timeout => "timeout",
            Self::Status => "status",
            Self::Latency => "latency",
        }
    }

    /// What went wrong, in words.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::InvalidUrl => "not a URL berth can request",
            Self::Dns => "the host name did not resolve",
            Self::Connect => "the connection was refused or failed",
            Self::Tls => "the TLS handshake failed",
            Self::Http => "the HTTP exchange failed",
            Self::Timeout => "no answer in time",
            Self::Status => "an unexpected status",
            Self::Latency => "an answer over the latency budget",
        }
    }
}

/// One probe's result, a row of `probe_samples`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub target: String,
    /// When the probe started.
    pub at: DateTime<Utc>,
    /// The answer's status, when there was one.
    pub status_code: Option<i32>,
    /// From the start to the answer's head, or to the failure (a time-out counts in full).
    pub latency_ms: f64,
    /// The TLS handshake alone, for `https` targets that got that far.
    pub tls_ms: Option<f64>,
    /// Why it failed; `None` when `ok`.
    pub error_kind: Option<ErrorKind>,
    /// Up: the expected status within the latency budget.
    pub ok: bool,
}

/// The target name of object `name` of `kind` in `namespace`.
#[must_use]
pub fn target_name(namespace: &str, kind: &str, name: &str) -> String {
    format!("{namespace}/{kind}/{name}")
}

/// The (namespace, kind, name) of a target name.
#[must_use]
pub fn split_target(target: &str) -> Option<(&str, &str, &str)> {
    let mut parts = target.splitn(3, '/');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// Errors of the monitoring store work (ingest, rollups, reports, seeding).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to {action}")]
    Query {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl Error {
    pub(crate) fn query(action: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Query { action, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: target names round-trip, and a name with a slash in its last part stays whole.
    #[test]
    fn target_names_split_back_into_their_parts() {
        let t = target_name("vocilia", "Domain", "app-vocilia-com");
        assert_eq!(t, "vocilia/Domain/app-vocilia-com");
        assert_eq!(
            split_target(&t),
            Some(("vocilia", "Domain", "app-vocilia-com"))
        );
        assert_eq!(split_target("a/b/c/d"), Some(("a", "b", "c/d")));
        assert_eq!(split_target("a/b"), None);
    }

    // Protects: a Deployment wants its exact status; a Domain accepts redirects but not errors.
    #[test]
    fn expectations_judge_statuses() {
        assert!(Expect::Status(204).accepts(204));
        assert!(!Expect::Status(200).accepts(204));
        assert!(Expect::BelowFourHundred.accepts(301));
        assert!(!Expect::BelowFourHundred.accepts(404));
    }
}
