//! The one error type every provider client returns, and its classification.
//!
//! Reconcilers branch on [`Error::class`]: [`Class::Permanent`] becomes `Stalled` with the
//! message shown to the user and a slow retry; [`Class::Transient`] becomes a per-object
//! jittered backoff. Messages name the provider and the operation and never carry a token:
//! the HTTP layer scrubs the client's own secret from every body excerpt it quotes.

use std::time::Duration;

/// `Result` with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether retrying later can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Rejected credentials, invalid input, conflicts, undecodable answers: a person must act.
    Permanent,
    /// Rate limits, 5xx, time-outs, transport errors, an open circuit: try again later.
    Transient,
}

/// Who said "slow down".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limiter {
    /// The provider answered 429 (or asked for a longer wait than we are willing to sleep).
    Provider,
    /// Our own per-provider request budget had no token within its deadline.
    Budget,
}

impl std::fmt::Display for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Provider => "rate limited by the provider",
            Self::Budget => "the local request budget is exhausted",
        })
    }
}

/// A failed provider call. `provider` is the display name ("PowerDNS"), `operation` a short
/// verb phrase naming the call ("patch rrsets").
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401/403: never retried, the credentials must be fixed. `account` names whose
    /// credentials they were ("team team_abc"), when the client knows.
    #[error(
        "failed to {operation}: credentials rejected by {provider}{} (HTTP {status})",
        for_account(account.as_deref())
    )]
    CredentialsRejected {
        provider: &'static str,
        operation: &'static str,
        account: Option<String>,
        status: u16,
    },
    /// 404.
    #[error("failed to {operation}: not found at {provider}: {message}")]
    NotFound {
        provider: &'static str,
        operation: &'static str,
        message: String,
    },
    /// 409.
    #[error("failed to {operation}: conflict at {provider}: {message}")]
    Conflict {
        provider: &'static str,
        operation: &'static str,
        message: String,
    },
    /// 400, 422 and other 4xx: the request itself is wrong.
    #[error("failed to {operation}: {provider} rejected the request (HTTP {status}): {message}")]
    Invalid {
        provider: &'static str,
        operation: &'static str,
        status: u16,
        message: String,
    },
    /// 429 from the provider, or our own budget ran dry.
    #[error("failed to {operation} at {provider}: {limiter}{}", retry_hint(*.retry_after))]
    RateLimited {
        provider: &'static str,
        operation: &'static str,
        limiter: Limiter,
        retry_after: Option<Duration>,
    },
    /// 5xx.
    #[error("failed to {operation}: {provider} answered HTTP {status}: {message}")]
    Server {
        provider: &'static str,
        operation: &'static str,
        status: u16,
        message: String,
    },
    /// A status that is neither success nor a known error (1xx/3xx).
    #[error("failed to {operation}: unexpected HTTP {status} from {provider}")]
    UnexpectedStatus {
        provider: &'static str,
        operation: &'static str,
        status: u16,
    },
    /// The attempt did not finish within the per-request timeout.
    #[error("failed to {operation} at {provider}: no answer within {after:?}")]
    Timeout {
        provider: &'static str,
        operation: &'static str,
        after: Duration,
    },
    /// Connecting, sending or reading failed.
    #[error("failed to {operation} at {provider}: transport error")]
    Transport {
        provider: &'static str,
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The circuit breaker is open: the call was not sent.
    #[error("failed to {operation}: {provider} is failing, circuit open for another {retry_in:?}")]
    CircuitOpen {
        provider: &'static str,
        operation: &'static str,
        retry_in: Duration,
    },
    /// A response body did not have the expected shape.
    #[error(
        "failed to decode the answer of {provider} to {operation}: {detail}; body starts: {excerpt}"
    )]
    Decode {
        provider: &'static str,
        operation: &'static str,
        detail: String,
        excerpt: String,
    },
    /// A request could not be built (bad base URL, unencodable body, bad header value).
    #[error("failed to {operation} at {provider}: invalid request: {detail}")]
    Request {
        provider: &'static str,
        operation: &'static str,
        detail: String,
    },
}

fn for_account(account: Option<&str>) -> String {
    account.map_or_else(String::new, |a| format!(" for {a}"))
}

fn retry_hint(after: Option<Duration>) -> String {
    after.map_or_else(String::new, |d| format!("; retry in {d:?}"))
}

impl Error {
    /// Permanent (a person must act) or transient (try again later).
    #[must_use]
    pub fn class(&self) -> Class {
        match self {
            Self::CredentialsRejected { .. }
            | Self::NotFound { .. }
            | Self::Conflict { .. }
            | Self::Invalid { .. }
            | Self::UnexpectedStatus { .. }
            | Self::Decode { .. }
            | Self::Request { .. } => Class::Permanent,
            Self::RateLimited { .. }
            | Self::Server { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::CircuitOpen { .. } => Class::Transient,
        }
    }

    /// Shorthand for `class() == Class::Permanent`.
    #[must_use]
    pub fn is_permanent(&self) -> bool {
        self.class() == Class::Permanent
    }

    /// A short label for metrics and Events.
    #[must_use]
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::CredentialsRejected { .. } => "credentials_rejected",
            Self::NotFound { .. } => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::Invalid { .. } => "invalid",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server_error",
            Self::UnexpectedStatus { .. } => "unexpected_status",
            Self::Timeout { .. } => "timeout",
            Self::Transport { .. } => "transport",
            Self::CircuitOpen { .. } => "circuit_open",
            Self::Decode { .. } => "decode",
            Self::Request { .. } => "request",
        }
    }

    /// The HTTP status behind the error, when there was an answer.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::CredentialsRejected { status, .. }
            | Self::Invalid { status, .. }
            | Self::Server { status, .. }
            | Self::UnexpectedStatus { status, .. } => Some(*status),
            Self::NotFound { .. } => Some(404),
            Self::Conflict { .. } => Some(409),
            Self::RateLimited {
                limiter: Limiter::Provider,
                ..
            } => Some(429),
            _ => None,
        }
    }

    /// How long the caller should wait before trying again, when the provider or the
    /// circuit said so; reconcilers use it as the requeue delay.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::CircuitOpen { retry_in, .. } => Some(*retry_in),
            _ => None,
        }
    }
}

/// At most `max` characters of `body`, lossily decoded, on one line.
#[must_use]
pub fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reconcilers' Stalled-vs-backoff decision rests on this table.
    #[test]
    fn credentials_and_input_errors_are_permanent_and_overload_is_transient() {
        let p = "Vercel";
        let o = "list deployments";
        let permanent = [
            Error::CredentialsRejected {
                provider: p,
                operation: o,
                account: Some("team team_abc".into()),
                status: 401,
            },
            Error::Invalid {
                provider: p,
                operation: o,
                status: 422,
                message: String::new(),
            },
            Error::Conflict {
                provider: p,
                operation: o,
                message: String::new(),
            },
        ];
        let transient = [
            Error::Server {
                provider: p,
                operation: o,
                status: 503,
                message: String::new(),
            },
            Error::RateLimited {
                provider: p,
                operation: o,
                limiter: Limiter::Provider,
                retry_after: None,
            },
            Error::Timeout {
                provider: p,
                operation: o,
                after: Duration::from_secs(1),
            },
        ];
        assert!(permanent.iter().all(Error::is_permanent));
        assert!(transient.iter().all(|e| e.class() == Class::Transient));
        assert_eq!(
            permanent[0].to_string(),
            "failed to list deployments: credentials rejected by Vercel for team team_abc (HTTP 401)"
        );
    }

    #[test]
    fn excerpts_are_truncated_on_one_line() {
        assert_eq!(excerpt(b"ab\ncd", 10), "ab cd");
        assert_eq!(excerpt("ééééé".as_bytes(), 3), "ééé…");
    }
}
