//! Vercel deployments: `POST /v13/deployments`, `GET /v13/deployments/{idOrUrl}` and
//! `GET /v6/deployments` (list items use `uid`, not `id`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Meta, Pagination, list};

string_enum! {
    /// `readyState` (and `status`, `state`); `DELETED` appears in lists only.
    pub enum ReadyState {
        Blocked = "BLOCKED",
        Building = "BUILDING",
        Canceled = "CANCELED",
        Deleted = "DELETED",
        Error = "ERROR",
        Initializing = "INITIALIZING",
        Queued = "QUEUED",
        Ready = "READY",
    }
}

impl ReadyState {
    /// No further transitions: `READY`, `ERROR`, `CANCELED`, `BLOCKED`, `DELETED`.
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Ready | Self::Error | Self::Canceled | Self::Blocked | Self::Deleted
        )
    }
}

string_enum! {
    /// `readySubstate` (only when `READY`).
    pub enum ReadySubstate {
        /// Never served production traffic.
        Staged = "STAGED",
        /// A rolling release is in progress.
        Rolling = "ROLLING",
        /// Has served production traffic.
        Promoted = "PROMOTED",
    }
}

string_enum! {
    /// `target`: `production`, `staging`, or (as `Unknown`) a custom environment id.
    pub enum DeploymentTarget {
        Production = "production",
        Staging = "staging",
    }
}

string_enum! {
    /// `checksState`.
    pub enum ChecksState {
        Registered = "registered",
        Running = "running",
        Completed = "completed",
    }
}

string_enum! {
    /// `checksConclusion`.
    pub enum ChecksConclusion {
        Succeeded = "succeeded",
        Failed = "failed",
        Skipped = "skipped",
        Canceled = "canceled",
    }
}

string_enum! {
    /// `gitSource.type`.
    pub enum GitSourceType {
        Github = "github",
        GithubLimited = "github-limited",
        Gitlab = "gitlab",
        Bitbucket = "bitbucket",
        Vercel = "vercel",
        CursorOrigin = "cursor-origin",
    }
}

/// An id Vercel sends as a number or a string (`repoId`, `projectId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IdValue {
    /// Numeric id.
    Number(i64),
    /// Textual id.
    Text(String),
}

/// `gitSource`, flattened over its variants (which fields apply depends on `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitSource {
    /// The variant.
    #[serde(rename = "type")]
    pub kind: GitSourceType,
    /// GitHub / Cursor repository id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_id: Option<IdValue>,
    /// GitHub organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// GitHub repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// GitLab project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<IdValue>,
    /// Bitbucket repository UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_uuid: Option<String>,
    /// Bitbucket workspace UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_uuid: Option<String>,
    /// Bitbucket owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Bitbucket repository slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Branch or tag.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
}

impl GitSource {
    /// `{type:"github", org, repo, ref}`.
    #[must_use]
    pub fn github(org: &str, repo: &str, git_ref: &str) -> Self {
        Self {
            kind: GitSourceType::Github,
            repo_id: None,
            org: Some(org.to_owned()),
            repo: Some(repo.to_owned()),
            project_id: None,
            repo_uuid: None,
            workspace_uuid: None,
            owner: None,
            slug: None,
            git_ref: Some(git_ref.to_owned()),
            sha: None,
        }
    }
}

/// The body of `POST /v13/deployments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentRequest {
    /// Project name (required; `project` overrides it).
    pub name: String,
    /// Project id or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `production`, `staging` or a custom environment id; `None` = preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<DeploymentTarget>,
    /// Redeploy this deployment, inheriting its settings and env.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// With `deployment_id`: build the latest commit instead of the old sha.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_latest_commit: Option<bool>,
    /// Custom environment slug or id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_environment_slug_or_id: Option<String>,
    /// String metadata.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub meta: std::collections::BTreeMap<String, String>,
    /// The git source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_source: Option<GitSource>,
    /// Project settings (needed on a project's first deploy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_settings: Option<Map<String, Value>>,
}

/// `aliasAssigned`: a boolean in current responses, a timestamp in older ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AliasAssigned {
    /// Assigned or not.
    Flag(bool),
    /// Assigned at this epoch-ms time.
    At(i64),
}

/// `aliasError` / `aliasWarning`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AliasError {
    /// The code.
    #[serde(default)]
    pub code: String,
    /// The message.
    #[serde(default)]
    pub message: String,
}

/// A deployment as `POST /v13/deployments` and `GET /v13/deployments/{id}` return it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// `dpl_…`.
    pub id: String,
    /// Its URL (without scheme).
    #[serde(default)]
    pub url: String,
    /// Project name.
    #[serde(default)]
    pub name: String,
    /// Project id.
    #[serde(default)]
    pub project_id: Option<String>,
    /// Build/serve state.
    pub ready_state: ReadyState,
    /// Sub-state once `READY`.
    #[serde(default)]
    pub ready_substate: Option<ReadySubstate>,
    /// Same enum as `ready_state`.
    #[serde(default)]
    pub status: Option<ReadyState>,
    /// `None` = preview.
    #[serde(default)]
    pub target: Option<DeploymentTarget>,
    /// Assigned aliases.
    #[serde(default, deserialize_with = "list")]
    pub alias: Vec<String>,
    /// Whether aliases are assigned.
    #[serde(default)]
    pub alias_assigned: Option<AliasAssigned>,
    /// Why aliasing failed.
    #[serde(default)]
    pub alias_error: Option<AliasError>,
    /// An aliasing warning.
    #[serde(default)]
    pub alias_warning: Option<AliasError>,
    /// Build error code.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Build error message.
    #[serde(default)]
    pub error_message: Option<String>,
    /// The step that failed.
    #[serde(default)]
    pub error_step: Option<String>,
    /// Why it is in its state.
    #[serde(default)]
    pub ready_state_reason: Option<String>,
    /// Creation, epoch ms.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Build start, epoch ms.
    #[serde(default)]
    pub building_at: Option<i64>,
    /// Ready time, epoch ms.
    #[serde(default)]
    pub ready: Option<i64>,
    /// Cancel time, epoch ms.
    #[serde(default)]
    pub canceled_at: Option<i64>,
    /// Dashboard link.
    #[serde(default)]
    pub inspector_url: Option<String>,
    /// Metadata.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub meta: Meta,
    /// The git source.
    #[serde(default)]
    pub git_source: Option<GitSource>,
    /// Checks state.
    #[serde(default)]
    pub checks_state: Option<ChecksState>,
    /// Checks outcome.
    #[serde(default)]
    pub checks_conclusion: Option<ChecksConclusion>,
}

impl Deployment {
    /// The Terraform provider's "done": aliases assigned and no alias error.
    #[must_use]
    pub fn is_aliased(&self) -> bool {
        let assigned = match self.alias_assigned {
            Some(AliasAssigned::Flag(flag)) => flag,
            Some(AliasAssigned::At(_)) => true,
            None => false,
        };
        assigned && self.alias_error.is_none()
    }
}

/// `GET /v6/deployments`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeploymentList {
    /// Paging.
    #[serde(default)]
    pub pagination: Pagination,
    /// Newest first.
    #[serde(default, deserialize_with = "list")]
    pub deployments: Vec<DeploymentListItem>,
}

/// The deployment's creator.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Creator {
    /// User id.
    #[serde(default)]
    pub uid: String,
    /// Username.
    #[serde(default)]
    pub username: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Git user.
    #[serde(default)]
    pub github_login: Option<String>,
}

/// One item of a deployment list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentListItem {
    /// `dpl_…` (lists say `uid`).
    pub uid: String,
    /// Project name.
    #[serde(default)]
    pub name: String,
    /// URL.
    #[serde(default)]
    pub url: String,
    /// Creation, epoch ms.
    #[serde(default)]
    pub created: Option<i64>,
    /// Creation, epoch ms.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// State.
    #[serde(default)]
    pub state: Option<ReadyState>,
    /// State.
    #[serde(default)]
    pub ready_state: Option<ReadyState>,
    /// Sub-state once `READY`.
    #[serde(default)]
    pub ready_substate: Option<ReadySubstate>,
    /// `None` = preview.
    #[serde(default)]
    pub target: Option<DeploymentTarget>,
    /// Metadata.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub meta: Meta,
    /// Who created it.
    #[serde(default)]
    pub creator: Option<Creator>,
    /// Dashboard link.
    #[serde(default)]
    pub inspector_url: Option<String>,
    /// Can be rolled back to.
    #[serde(default)]
    pub is_rollback_candidate: Option<bool>,
    /// `git`, `cli`, `redeploy`, … (kept as text).
    #[serde(default)]
    pub source: Option<String>,
    /// `LAMBDAS`, … (kept as text).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

impl DeploymentListItem {
    /// `readyState`, else `state`.
    #[must_use]
    pub fn ready_state(&self) -> Option<&ReadyState> {
        self.ready_state.as_ref().or(self.state.as_ref())
    }
}
