//! Vercel projects (`GET /v9/projects/{idOrName}`): only what a client needs to know which
//! deployment serves production and whether an alias change is still running.

use serde::Deserialize;

/// A project. Vercel sends many more fields; they are not needed here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// `prj_…`.
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The owning team or user.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The deployment each target serves.
    #[serde(default)]
    pub targets: ProjectTargets,
    /// The last promote or rollback.
    #[serde(default)]
    pub last_alias_request: Option<LastAliasRequest>,
}

impl Project {
    /// The id of the deployment serving production, if any.
    #[must_use]
    pub fn production_id(&self) -> Option<&str> {
        self.targets.production.as_ref().map(|t| t.id.as_str())
    }
}

/// `targets`: the deployment behind each target (`production` is the one berth needs).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ProjectTargets {
    /// The production deployment; `null` before the first one.
    #[serde(default)]
    pub production: Option<TargetDeployment>,
}

/// The deployment a target points at (Vercel sends a whole deployment; the id is enough).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TargetDeployment {
    /// `dpl_…`.
    pub id: String,
}

/// `lastAliasRequest`: the alias job of the last promote or rollback.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastAliasRequest {
    /// The deployment production pointed at before.
    #[serde(default)]
    pub from_deployment_id: Option<String>,
    /// The deployment it points at now (or will).
    #[serde(default)]
    pub to_deployment_id: Option<String>,
    /// `pending`, `in-progress`, `succeeded`, `failed`, `skipped` (kept as text).
    #[serde(default)]
    pub job_status: Option<String>,
    /// `promote`, `rollback`, … (kept as text).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}
