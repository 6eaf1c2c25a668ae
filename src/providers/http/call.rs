//! One request ([`Call`]) and its answer ([`Response`]), and how a non-2xx answer becomes a
//! typed [`Error`]. Neither prints a body in `Debug`: bodies can carry secret values.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use reqwest::{Method, header::HeaderMap};
use serde::{Serialize, de::DeserializeOwned};

use super::{Secret, Verdict};
use crate::providers::error::{Error, Limiter, Result, excerpt};
use crate::providers::models::DecodeError;

/// How long quoted provider bodies may be in errors.
const EXCERPT_CHARS: usize = 200;

/// One request: the operation's name (for errors and metrics), method, path below the base
/// URL, query, JSON body, and whether repeating it is harmless.
#[derive(Clone)]
pub struct Call {
    pub(super) operation: &'static str,
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Option<Vec<u8>>,
    pub(super) idempotent: bool,
}

impl Call {
    /// A request; `idempotent` decides whether it may be retried.
    #[must_use]
    pub fn new(
        method: Method,
        operation: &'static str,
        path: impl Into<String>,
        idempotent: bool,
    ) -> Self {
        Self {
            operation,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotent,
        }
    }

    /// An idempotent GET.
    #[must_use]
    pub fn get(operation: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::GET, operation, path, true)
    }

    /// A POST, not idempotent unless [`Call::idempotent`] says so.
    #[must_use]
    pub fn post(operation: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::POST, operation, path, false)
    }

    /// An idempotent DELETE.
    #[must_use]
    pub fn delete(operation: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, operation, path, true)
    }

    /// Overrides whether the request may be repeated.
    #[must_use]
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Adds a query parameter.
    #[must_use]
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// Sets a JSON body.
    #[must_use]
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = Some(body.to_string().into_bytes());
        self
    }

    /// Sets a JSON body from any serialisable value.
    pub fn json_from<T: Serialize>(self, provider: &'static str, body: &T) -> Result<Self> {
        let value = serde_json::to_value(body).map_err(|e| Error::Request {
            provider,
            operation: self.operation,
            detail: e.to_string(),
        })?;
        Ok(self.json(&value))
    }

    /// The operation's name.
    #[must_use]
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

// Bodies can carry secret values (variables); Debug shows only their size.
impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("operation", &self.operation)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

/// A successful (2xx) answer. Its `Debug` omits the body, which may hold secret values.
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub(super) provider: &'static str,
    pub(super) operation: &'static str,
    pub(super) secret: Option<Secret>,
    pub(super) account: Option<String>,
    /// The instance's count of credential rejections, for one found in the body.
    pub(super) rejections: Arc<AtomicU64>,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("provider", &self.provider)
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The typed error for this non-2xx answer; `hint` is the wait it asked for.
    pub(super) fn error(&self, hint: Option<Duration>) -> Error {
        let (provider, operation, r) = (self.provider, self.operation, self);
        let message = || scrub(self.secret.as_ref(), &message_of(&r.body));
        match r.status {
            401 | 403 => Error::CredentialsRejected {
                provider,
                operation,
                account: r.account.clone(),
                status: r.status,
            },
            404 => Error::NotFound {
                provider,
                operation,
                message: message(),
            },
            409 => Error::Conflict {
                provider,
                operation,
                message: message(),
            },
            429 => Error::RateLimited {
                provider,
                operation,
                limiter: Limiter::Provider,
                retry_after: hint,
            },
            400..=499 => Error::Invalid {
                provider,
                operation,
                status: r.status,
                message: message(),
            },
            500..=599 => Error::Server {
                provider,
                operation,
                status: r.status,
                message: message(),
            },
            status => Error::UnexpectedStatus {
                provider,
                operation,
                status,
            },
        }
    }

    /// The body decoded as JSON; a mismatch is a typed [`Error::Decode`] quoting the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode {
            provider: self.provider,
            operation: self.operation,
            detail: e.to_string(),
            excerpt: scrub(self.secret.as_ref(), &excerpt(&self.body, EXCERPT_CHARS)),
        })
    }

    /// The body through a provider's typed decoder (`models::<provider>::decode`). An error
    /// the provider put in a successful answer (a GraphQL `errors[]`, Cloudflare's
    /// `success: false`) becomes the same typed [`Error`] an HTTP status would have.
    pub fn decode<T>(
        &self,
        decoder: impl FnOnce(u16, &[u8]) -> Result<T, DecodeError>,
    ) -> Result<T> {
        decoder(self.status, &self.body).map_err(|e| self.decode_error(&e))
    }

    fn decode_error(&self, e: &DecodeError) -> Error {
        let (provider, operation) = (self.provider, self.operation);
        let scrubbed = |text: String| scrub(self.secret.as_ref(), &text);
        match e.rejection() {
            Some(r) if r.is_auth_rejected() => {
                self.rejections.fetch_add(1, Ordering::Relaxed);
                Error::CredentialsRejected {
                    provider,
                    operation,
                    account: self.account.clone(),
                    status: if e.status() == 200 { 403 } else { e.status() },
                }
            }
            Some(r) if r.is_rate_limited() => Error::RateLimited {
                provider,
                operation,
                limiter: Limiter::Provider,
                retry_after: None,
            },
            Some(r) => {
                let message = scrubbed(r.to_string());
                let lower = message.to_ascii_lowercase();
                if lower.contains("not found") {
                    Error::NotFound {
                        provider,
                        operation,
                        message,
                    }
                } else if lower.contains("already exists") {
                    Error::Conflict {
                        provider,
                        operation,
                        message,
                    }
                } else {
                    Error::Invalid {
                        provider,
                        operation,
                        status: e.status(),
                        message,
                    }
                }
            }
            None => Error::Decode {
                provider,
                operation,
                detail: "unexpected answer".into(),
                excerpt: scrubbed(e.to_string()),
            },
        }
    }
}

/// The metric outcome and the circuit's verdict for an answered attempt.
pub(super) fn classify(status: u16) -> (&'static str, Verdict) {
    match status {
        200..=299 => ("ok", Verdict::Healthy),
        401 | 403 => ("auth_error", Verdict::Healthy),
        429 => ("rate_limited", Verdict::Neutral),
        500..=599 => ("server_error", Verdict::Failing),
        _ => ("client_error", Verdict::Healthy),
    }
}

/// The human part of a provider's error body: PowerDNS `{"error"}`, Supabase `{"message"}`,
/// Vercel `{"error":{"message"}}`, Cloudflare/GraphQL `{"errors":[{"message"}]}`, else text.
fn message_of(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let found = [
            &v["error"],
            &v["error"]["message"],
            &v["message"],
            &v["errors"][0]["message"],
            &v["errors"][0],
        ]
        .into_iter()
        .find_map(serde_json::Value::as_str);
        if let Some(m) = found {
            return excerpt(m.as_bytes(), EXCERPT_CHARS);
        }
    }
    excerpt(body, EXCERPT_CHARS)
}

fn scrub(secret: Option<&Secret>, text: &str) -> String {
    secret.map_or_else(|| text.to_owned(), |s| s.scrub(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each provider's error shape yields its message, not the raw JSON.
    #[test]
    fn error_messages_are_read_from_each_providers_shape() {
        assert_eq!(message_of(br#"{"error": "Not Found"}"#), "Not Found");
        assert_eq!(
            message_of(br#"{"message": "Project not found"}"#),
            "Project not found"
        );
        assert_eq!(
            message_of(br#"{"error": {"code": "forbidden", "message": "Not authorized"}}"#),
            "Not authorized"
        );
        assert_eq!(
            message_of(br#"{"success": false, "errors": [{"code": 81057, "message": "Record already exists."}]}"#),
            "Record already exists."
        );
        assert_eq!(message_of(b"Conflict"), "Conflict");
    }

    #[test]
    fn statuses_map_to_metric_outcomes_and_circuit_verdicts() {
        assert_eq!(classify(204), ("ok", Verdict::Healthy));
        assert_eq!(classify(401), ("auth_error", Verdict::Healthy));
        assert_eq!(classify(422), ("client_error", Verdict::Healthy));
        assert_eq!(classify(429), ("rate_limited", Verdict::Neutral));
        assert_eq!(classify(503), ("server_error", Verdict::Failing));
    }
}
