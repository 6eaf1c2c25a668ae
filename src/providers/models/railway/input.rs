//! Railway mutation and query inputs: deployment filters, variable writes and custom domain
//! creation (camelCase, optional fields omitted).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::DeploymentStatus;
use crate::providers::models::Secret;

/// `DeploymentListInput`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentListInput {
    /// Project filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Environment filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    /// Service filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// Include removed deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_deleted: Option<bool>,
    /// Status filter (`DeploymentStatusInput`: only `in` / `notIn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeploymentStatusInput>,
}

/// `DeploymentStatusInput`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatusInput {
    /// Only these statuses.
    #[serde(rename = "in", default, skip_serializing_if = "Vec::is_empty")]
    pub in_: Vec<DeploymentStatus>,
    /// None of these statuses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_in: Vec<DeploymentStatus>,
}

/// `VariableUpsertInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableUpsertInput {
    /// The project.
    pub project_id: String,
    /// The environment.
    pub environment_id: String,
    /// The service; `None` for an environment-shared variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The variable name.
    pub name: String,
    /// Its value.
    pub value: Secret,
    /// Do not redeploy affected services.
    #[serde(default)]
    pub skip_deploys: bool,
}

/// `VariableCollectionUpsertInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableCollectionUpsertInput {
    /// The project.
    pub project_id: String,
    /// The environment.
    pub environment_id: String,
    /// The service; `None` for environment-shared variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// Name → value.
    pub variables: BTreeMap<String, Secret>,
    /// Delete every variable not in `variables`.
    #[serde(default)]
    pub replace: bool,
    /// Do not redeploy affected services.
    #[serde(default)]
    pub skip_deploys: bool,
}

/// `VariableDeleteInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableDeleteInput {
    /// The project.
    pub project_id: String,
    /// The environment.
    pub environment_id: String,
    /// The service; `None` for an environment-shared variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The variable name.
    pub name: String,
}

/// `CustomDomainCreateInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomDomainCreateInput {
    /// The project.
    pub project_id: String,
    /// The environment.
    pub environment_id: String,
    /// The service.
    pub service_id: String,
    /// The domain name.
    pub domain: String,
    /// The port traffic goes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u16>,
}
