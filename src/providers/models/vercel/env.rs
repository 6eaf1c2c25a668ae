//! Vercel project environment variables: `GET /v10/projects/{idOrName}/env`,
//! `POST /v10/projects/{idOrName}/env?upsert=true` (one object or an array) and
//! `PATCH /v9/projects/{idOrName}/env/{id}`.

use serde::{Deserialize, Serialize};

use super::{Pagination, VercelError, list};
use crate::providers::models::{Secret, one_or_many};

string_enum! {
    /// `type`: `secret` is legacy and only read back.
    pub enum EnvType {
        Plain = "plain",
        Encrypted = "encrypted",
        Sensitive = "sensitive",
        Secret = "secret",
        System = "system",
    }
}

string_enum! {
    /// One `target` environment.
    pub enum EnvTarget {
        Production = "production",
        Preview = "preview",
        Development = "development",
    }
}

/// An environment variable as read back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    /// The id.
    #[serde(default)]
    pub id: Option<String>,
    /// The name.
    pub key: String,
    /// The value; unusable for `sensitive` (never returned) and encrypted unless decrypted.
    #[serde(default)]
    pub value: Option<Secret>,
    /// How it is stored.
    #[serde(rename = "type")]
    pub kind: EnvType,
    /// Environments (sent as one string or an array).
    #[serde(default, deserialize_with = "one_or_many")]
    pub target: Vec<EnvTarget>,
    /// Preview branch.
    #[serde(default)]
    pub git_branch: Option<String>,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Custom environments.
    #[serde(default, deserialize_with = "list")]
    pub custom_environment_ids: Vec<String>,
    /// Creation, epoch ms.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last update, epoch ms.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Creator.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Last editor.
    #[serde(default)]
    pub updated_by: Option<String>,
    /// Whether `value` is decrypted.
    #[serde(default)]
    pub decrypted: Option<bool>,
    /// Integration configuration.
    #[serde(default)]
    pub configuration_id: Option<String>,
    /// A system variable.
    #[serde(default)]
    pub system: Option<bool>,
}

/// `GET /v10/projects/{idOrName}/env` (`pagination` absent in one variant).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EnvList {
    /// The variables.
    #[serde(default, deserialize_with = "list")]
    pub envs: Vec<EnvVar>,
    /// Paging.
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

/// One item of `POST /v10/projects/{idOrName}/env?upsert=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvUpsertItem {
    /// The name.
    pub key: String,
    /// The value.
    pub value: Secret,
    /// How to store it (`system`, `encrypted`, `plain`, `sensitive`).
    #[serde(rename = "type")]
    pub kind: EnvType,
    /// Environments (either this or `custom_environment_ids`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target: Vec<EnvTarget>,
    /// Preview branch (only with `target = [preview]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    /// Comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Custom environments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_environment_ids: Vec<String>,
}

/// `PATCH /v9/projects/{idOrName}/env/{id}`: only the fields set change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvPatchRequest {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// New value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Secret>,
    /// New storage type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<EnvType>,
    /// New environments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Vec<EnvTarget>>,
    /// New preview branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    /// New comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// New custom environments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_environment_ids: Option<Vec<String>>,
}

/// The 201 answer of the create/upsert: partial failures come back in `failed`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EnvCreateResponse {
    /// What was created (one object or an array on the wire).
    #[serde(default, deserialize_with = "one_or_many")]
    pub created: Vec<EnvVar>,
    /// What failed.
    #[serde(default, deserialize_with = "list")]
    pub failed: Vec<EnvFailure>,
}

/// One failed item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EnvFailure {
    /// The error (`ENV_CONFLICT`, …).
    pub error: VercelError,
}
