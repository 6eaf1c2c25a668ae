//! Vercel's REST API (`api.vercel.com`): the `{"error": {...}}` envelope, deployments
//! (create, get, list), projects, project environment variables and project domains. Field names are Vercel's (camelCase); timestamps are epoch milliseconds.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::decode::{Body, DecodeError, Provider, Rejection};
use super::null_as_default;

mod deployment;
mod domain;
mod env;
mod project;

pub use deployment::{
    AliasAssigned, AliasError, ChecksConclusion, ChecksState, CreateDeploymentRequest, Creator,
    Deployment, DeploymentList, DeploymentListItem, DeploymentTarget, GitSource, GitSourceType,
    IdValue, ReadyState, ReadySubstate,
};
pub use domain::{
    AddDomainRequest, DomainConfig, DomainVerification, ProjectDomain, ProjectDomainList,
    RecommendedCname, RecommendedIpv4,
};
pub use env::{
    EnvCreateResponse, EnvFailure, EnvList, EnvPatchRequest, EnvTarget, EnvType, EnvUpsertItem,
    EnvVar,
};
pub use project::{LastAliasRequest, Project, ProjectTargets, TargetDeployment};

/// `{"error": {...}}`, the error body of every endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: VercelError,
}

/// The error object: `code`, `message` and endpoint-specific extras.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VercelError {
    /// `forbidden`, `bad_request`, `not_found`, `rate_limited`, `ENV_CONFLICT`, …
    #[serde(default)]
    pub code: String,
    /// Human-readable text.
    #[serde(default)]
    pub message: String,
    /// The rate-limit bucket (`api-projects`, …) on 429s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The bucket's state on 429s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<RateLimit>,
    /// The env var key a failure is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_var_key: Option<String>,
    /// The env var id a failure is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_var_id: Option<String>,
    /// The key a failure is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The git branch a failure is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    /// A link to docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A suggested action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Other fields (`target`, …), kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `error.limit` on 429s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// The bucket size.
    #[serde(default)]
    pub total: Option<u64>,
    /// Requests left.
    #[serde(default)]
    pub remaining: Option<u64>,
    /// Reset time, epoch seconds.
    #[serde(default)]
    pub reset: Option<i64>,
    /// Reset time, epoch milliseconds.
    #[serde(default)]
    pub reset_ms: Option<i64>,
}

/// `{"pagination": {...}}` of list responses; page on with `until=<next>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Pagination {
    /// Items in this page.
    #[serde(default)]
    pub count: u64,
    /// Timestamp to pass as `until` for the next page; `None` on the last page.
    #[serde(default)]
    pub next: Option<i64>,
    /// Timestamp of the previous page.
    #[serde(default)]
    pub prev: Option<i64>,
}

/// Decodes a Vercel response: an `{"error": {...}}` body (at any status) becomes
/// [`DecodeError::Rejected`]; a non-2xx status without it, [`DecodeError::UnexpectedStatus`].
///
/// # Errors
/// A typed [`DecodeError`] for empty, non-JSON, mis-shaped or error responses.
pub fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, DecodeError> {
    let body = Body::new(Provider::Vercel, status, body);
    let value = match body.json::<T>() {
        Ok(value) => value,
        Err(_) if !body.is_success() => return Err(body.unexpected_status()),
        Err(e) => return Err(e),
    };
    if value.get("error").is_some_and(Value::is_object) {
        return match body.typed::<ErrorEnvelope>(value) {
            Ok(envelope) => Err(body.rejected(Rejection::Vercel(Box::new(envelope.error)))),
            Err(_) if !body.is_success() => Err(body.unexpected_status()),
            Err(e) => Err(e),
        };
    }
    if !body.is_success() {
        return Err(body.unexpected_status());
    }
    body.typed(value)
}

/// Deployment `meta`: string keys, values as sent.
pub type Meta = BTreeMap<String, Value>;

/// Deserialises a nullable list (`alias`, `verification`, …).
fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    null_as_default(deserializer)
}
