//! The typed decoding error every provider decoder returns, and the helpers they share.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::excerpt::{MAX_CHARS, Mask, excerpt};
use super::{cloudflare, powerdns, railway, supabase, vercel};

/// The provider a body came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Railway's GraphQL API.
    Railway,
    /// Vercel's REST API.
    Vercel,
    /// Supabase's Management API.
    Supabase,
    /// Cloudflare's API v4.
    Cloudflare,
    /// The PowerDNS Authoritative HTTP API.
    PowerDns,
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Railway => "Railway",
            Self::Vercel => "Vercel",
            Self::Supabase => "Supabase",
            Self::Cloudflare => "Cloudflare",
            Self::PowerDns => "PowerDNS",
        })
    }
}

/// A well-formed error answer, in the provider's own shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    /// GraphQL `errors[]`.
    Railway(Vec<railway::GraphqlError>),
    /// `{"error": {...}}`.
    Vercel(Box<vercel::VercelError>),
    /// `{"message": "..."}`.
    Supabase(supabase::SupabaseError),
    /// The v4 envelope's `errors[]` (possibly empty when only `success` was false).
    Cloudflare(Vec<cloudflare::ApiMessage>),
    /// `{"error": "...", "errors": [...]}`.
    PowerDns(powerdns::PdnsError),
}

impl Rejection {
    /// Whether the provider says the request was rate limited.
    #[must_use]
    pub fn is_rate_limited(&self) -> bool {
        match self {
            Self::Railway(errors) => errors
                .iter()
                .any(|e| e.message.to_ascii_lowercase().contains("rate limit")),
            Self::Vercel(error) => error.code == "rate_limited",
            Self::Cloudflare(errors) => errors
                .iter()
                .any(|e| cloudflare::RATE_LIMIT_CODES.contains(&e.code)),
            Self::Supabase(_) | Self::PowerDns(_) => false,
        }
    }

    /// Whether the provider says the credentials were rejected.
    #[must_use]
    pub fn is_auth_rejected(&self) -> bool {
        match self {
            Self::Railway(errors) => errors.iter().any(|e| {
                let message = e.message.to_ascii_lowercase();
                message.contains("not authorized") || message.contains("project token not found")
            }),
            Self::Vercel(error) => error.code == "forbidden",
            Self::Cloudflare(errors) => errors
                .iter()
                .any(|e| e.code == cloudflare::AUTHENTICATION_ERROR),
            Self::Supabase(_) | Self::PowerDns(_) => false,
        }
    }

    fn messages(&self) -> Vec<String> {
        match self {
            Self::Railway(errors) => errors.iter().map(|e| e.message.clone()).collect(),
            Self::Vercel(e) => vec![format!("{}: {}", e.code, e.message)],
            Self::Supabase(e) => vec![e.message.clone()],
            Self::Cloudflare(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.code, e.message))
                .collect(),
            Self::PowerDns(e) => std::iter::once(e.error.clone())
                .chain(e.errors.iter().cloned())
                .collect(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages = self.messages();
        if messages.is_empty() {
            return f.write_str("no error message given");
        }
        let shown: Vec<String> = messages
            .iter()
            .take(3)
            .map(|m| m.chars().take(MAX_CHARS).collect())
            .collect();
        f.write_str(&shown.join("; "))?;
        if messages.len() > 3 {
            write!(f, " (and {} more)", messages.len() - 3)?;
        }
        Ok(())
    }
}

/// Why a response body could not be turned into the expected value.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body was empty where a JSON document was expected.
    #[error("{provider}: empty body (HTTP {status}) where {expected} was expected")]
    Empty {
        /// The provider.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// The type that was expected.
        expected: String,
    },
    /// The body is not JSON, or is truncated.
    #[error(
        "{provider}: HTTP {status} body is not valid JSON for {expected} ({detail}); body: {excerpt}"
    )]
    Syntax {
        /// The provider.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// The type that was expected.
        expected: String,
        /// What the parser said, without body values.
        detail: String,
        /// A short redacted excerpt of the body.
        excerpt: String,
    },
    /// The body is JSON but not of the expected shape.
    #[error("{provider}: HTTP {status} body does not match {expected} ({detail}); body: {excerpt}")]
    Shape {
        /// The provider.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// The type that was expected.
        expected: String,
        /// What the decoder said, without body values.
        detail: String,
        /// A short redacted excerpt of the body.
        excerpt: String,
    },
    /// A successful envelope without the payload (`data`/`result` null).
    #[error("{provider}: HTTP {status} success without {expected}; body: {excerpt}")]
    Missing {
        /// The provider.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// The type that was expected.
        expected: String,
        /// A short redacted excerpt of the body.
        excerpt: String,
    },
    /// The provider answered with a well-formed error.
    #[error("{provider} rejected the request (HTTP {status}): {rejection}")]
    Rejected {
        /// The provider.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// The error in the provider's shape.
        rejection: Box<Rejection>,
    },
    /// An error status whose body is not the provider's error shape (a proxy page, say).
    #[error("{provider}: unexpected HTTP {status}; body: {excerpt}")]
    UnexpectedStatus {
        /// The provider.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// A short redacted excerpt of the body.
        excerpt: String,
    },
}

impl DecodeError {
    /// The provider the body came from.
    #[must_use]
    pub fn provider(&self) -> Provider {
        match self {
            Self::Empty { provider, .. }
            | Self::Syntax { provider, .. }
            | Self::Shape { provider, .. }
            | Self::Missing { provider, .. }
            | Self::Rejected { provider, .. }
            | Self::UnexpectedStatus { provider, .. } => *provider,
        }
    }

    /// The HTTP status of the response.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Empty { status, .. }
            | Self::Syntax { status, .. }
            | Self::Shape { status, .. }
            | Self::Missing { status, .. }
            | Self::Rejected { status, .. }
            | Self::UnexpectedStatus { status, .. } => *status,
        }
    }

    /// The provider's error, when it sent one.
    #[must_use]
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Self::Rejected { rejection, .. } => Some(rejection),
            _ => None,
        }
    }

    /// HTTP 429 or a provider rate-limit error code.
    #[must_use]
    pub fn is_rate_limited(&self) -> bool {
        self.status() == 429 || self.rejection().is_some_and(Rejection::is_rate_limited)
    }

    /// HTTP 401/403 or a provider "credentials rejected" error: not worth retrying.
    #[must_use]
    pub fn is_auth_rejected(&self) -> bool {
        matches!(self.status(), 401 | 403)
            || self.rejection().is_some_and(Rejection::is_auth_rejected)
    }
}

/// One response being decoded: the provider, status and body, and how to excerpt it.
pub(crate) struct Body<'a> {
    pub(crate) provider: Provider,
    pub(crate) status: u16,
    pub(crate) bytes: &'a [u8],
    pub(crate) mask: Mask,
}

impl<'a> Body<'a> {
    pub(crate) fn new(provider: Provider, status: u16, bytes: &'a [u8]) -> Self {
        Self {
            provider,
            status,
            bytes,
            mask: Mask::SecretKeys,
        }
    }

    /// Hides every string value in excerpts of this body.
    pub(crate) fn mask_all(mut self) -> Self {
        self.mask = Mask::AllValues;
        self
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub(crate) fn excerpt(&self) -> String {
        excerpt(self.bytes, self.mask)
    }

    /// Parses the body as JSON.
    pub(crate) fn json<T>(&self) -> Result<Value, DecodeError> {
        let expected = type_label::<T>();
        if self.bytes.trim_ascii().is_empty() {
            return Err(DecodeError::Empty {
                provider: self.provider,
                status: self.status,
                expected,
            });
        }
        serde_json::from_slice(self.bytes).map_err(|e| DecodeError::Syntax {
            provider: self.provider,
            status: self.status,
            expected,
            detail: detail(&e),
            excerpt: self.excerpt(),
        })
    }

    /// Decodes an already parsed value (or part of it) as `T`.
    pub(crate) fn typed<T: DeserializeOwned>(&self, value: Value) -> Result<T, DecodeError> {
        T::deserialize(value).map_err(|e| DecodeError::Shape {
            provider: self.provider,
            status: self.status,
            expected: type_label::<T>(),
            detail: detail(&e),
            excerpt: self.excerpt(),
        })
    }

    /// Parses an error body: the provider's shape becomes `Rejected`, anything else
    /// `UnexpectedStatus`.
    pub(crate) fn error<E: DeserializeOwned>(
        &self,
        wrap: impl FnOnce(E) -> Rejection,
    ) -> DecodeError {
        serde_json::from_slice::<E>(self.bytes)
            .map_or_else(|_| self.unexpected_status(), |e| self.rejected(wrap(e)))
    }

    pub(crate) fn rejected(&self, rejection: Rejection) -> DecodeError {
        DecodeError::Rejected {
            provider: self.provider,
            status: self.status,
            rejection: Box::new(rejection),
        }
    }

    pub(crate) fn unexpected_status(&self) -> DecodeError {
        DecodeError::UnexpectedStatus {
            provider: self.provider,
            status: self.status,
            excerpt: self.excerpt(),
        }
    }

    pub(crate) fn missing<T>(&self) -> DecodeError {
        DecodeError::Missing {
            provider: self.provider,
            status: self.status,
            expected: type_label::<T>(),
            excerpt: self.excerpt(),
        }
    }
}

/// The parser's message, unless it quotes a value from the body (which may be a secret).
fn detail(error: &serde_json::Error) -> String {
    let message = error.to_string();
    if !message.contains('"') {
        return message;
    }
    let kind = match error.classify() {
        serde_json::error::Category::Data => "invalid type or value",
        serde_json::error::Category::Eof => "unexpected end of input",
        serde_json::error::Category::Syntax | serde_json::error::Category::Io => "syntax error",
    };
    if error.line() == 0 {
        kind.to_owned()
    } else {
        format!("{kind} at line {} column {}", error.line(), error.column())
    }
}

/// `T`'s name without module paths (`Vec<Deployment>`, not `alloc::vec::Vec<berth::…>`).
fn type_label<T>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or_default());
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_labels_drop_paths() {
        assert_eq!(
            type_label::<Vec<vercel::EnvVar>>(),
            "Vec<EnvVar>".to_owned()
        );
        assert_eq!(type_label::<Option<u32>>(), "Option<u32>".to_owned());
    }

    #[test]
    fn details_never_quote_body_values() {
        let error = serde_json::from_str::<u32>(r#""sekrit""#).err();
        let text = error.map(|e| detail(&e)).unwrap_or_default();
        assert!(!text.contains("sekrit"), "{text}");
    }
}
