//! Vercel project domains (`/v9` and `/v10/projects/{idOrName}/domains`) and the domain DNS
//! configuration (`GET /v6/domains/{domain}/config`).

use serde::{Deserialize, Serialize};

use super::{Pagination, list};

/// The body of `POST /v10/projects/{idOrName}/domains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddDomainRequest {
    /// The domain.
    pub name: String,
    /// Serve this git branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    /// Serve this custom environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_environment_id: Option<String>,
    /// Redirect to this domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// 301, 302, 307 or 308.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_status_code: Option<u16>,
}

/// One ownership challenge (`type: "TXT"` ⇒ a TXT record at `domain` with `value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainVerification {
    /// Record type (`TXT`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Where the record goes (`_vercel.<apex>`).
    pub domain: String,
    /// The record's value.
    pub value: String,
    /// Why verification is needed.
    #[serde(default)]
    pub reason: String,
}

/// A project domain; `verification` disappears once `verified`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectDomain {
    /// The domain.
    pub name: String,
    /// Its apex.
    #[serde(default)]
    pub apex_name: String,
    /// The project.
    #[serde(default)]
    pub project_id: String,
    /// Redirect target.
    #[serde(default)]
    pub redirect: Option<String>,
    /// Redirect status.
    #[serde(default)]
    pub redirect_status_code: Option<u16>,
    /// Git branch served.
    #[serde(default)]
    pub git_branch: Option<String>,
    /// Custom environment served.
    #[serde(default)]
    pub custom_environment_id: Option<String>,
    /// Creation, epoch ms.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last update, epoch ms.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Ownership verified.
    pub verified: bool,
    /// Outstanding challenges.
    #[serde(default, deserialize_with = "list")]
    pub verification: Vec<DomainVerification>,
}

/// `GET /v9/projects/{idOrName}/domains`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProjectDomainList {
    /// The domains.
    #[serde(default, deserialize_with = "list")]
    pub domains: Vec<ProjectDomain>,
    /// Paging.
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

/// `GET /v6/domains/{domain}/config`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainConfig {
    /// `CNAME`, `A`, `http`, `dns-01` or `None`.
    #[serde(default)]
    pub configured_by: Option<String>,
    /// `dns-01`, `http-01`.
    #[serde(default, deserialize_with = "list")]
    pub accepted_challenges: Vec<String>,
    /// `false` ⇒ DNS is right and a certificate can be issued.
    pub misconfigured: bool,
    /// The A-record addresses to use at an apex, best rank first.
    #[serde(rename = "recommendedIPv4", default, deserialize_with = "list")]
    pub recommended_ipv4: Vec<RecommendedIpv4>,
    /// The CNAME target to use below an apex, best rank first.
    #[serde(rename = "recommendedCNAME", default, deserialize_with = "list")]
    pub recommended_cname: Vec<RecommendedCname>,
}

/// One ranked set of addresses in `recommendedIPv4` (rank 1 is preferred).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecommendedIpv4 {
    /// Preference, 1 first.
    #[serde(default)]
    pub rank: u32,
    /// The addresses.
    #[serde(default, deserialize_with = "list")]
    pub value: Vec<String>,
}

/// One ranked target in `recommendedCNAME` (rank 1 is preferred).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecommendedCname {
    /// Preference, 1 first.
    #[serde(default)]
    pub rank: u32,
    /// The host name (Vercel writes it with a trailing dot).
    pub value: String,
}
