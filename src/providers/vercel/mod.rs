//! Vercel's REST API (`api.vercel.com`, `Authorization: Bearer`): production deployments with
//! promote as the rollback, project environment variables in one batched upsert, and project
//! domains with their verification and routing records.
//!
//! ```text
//!   VercelClient (one team, or the personal account)
//!     ├── deploys    Deploys        /v13/deployments · /v6/deployments · /v10/…/promote
//!     ├── variables  Variables      /v10/projects/{p}/env?upsert=true · /v9/…/env/{id}
//!     └── domains    CustomDomains  /v10 and /v9/projects/{p}/domains · /v6/domains/{d}/config
//!           │
//!           ▼
//!   ProviderHttp (retries only what is idempotent; 401/403 name the team)
//! ```
//!
//! Team scoping: a client made for a team adds `teamId=<id>` to every call, and its HTTP
//! layer's `account` is "team <id>", so rejected credentials read "credentials rejected by
//! Vercel for team team_abc (HTTP 403)". A `service` is a project id or name.

mod deploys;
mod domains;
mod variables;

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::providers::{
    Result,
    http::{Auth, Call, HttpConfig, HttpMetrics, ProviderHttp, Response, Secret},
    models::vercel::{self, Project},
};

/// The provider's display name, used in errors and (lower-cased) in metrics.
pub const PROVIDER: &str = "Vercel";

/// Vercel's API endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://api.vercel.com";

/// A Vercel account: one team, or the token owner's personal account.
#[derive(Clone, Debug)]
pub struct VercelClient {
    http: ProviderHttp,
    team_id: Option<String>,
}

impl VercelClient {
    /// A client over an existing HTTP layer, scoped to `team_id` (`None`: the personal
    /// account). Build `http` from [`VercelClient::config`] so errors name the team.
    #[must_use]
    pub fn new(http: ProviderHttp, team_id: Option<String>) -> Self {
        Self { http, team_id }
    }

    /// The HTTP configuration of a client for `endpoint` (default policy), with the account
    /// named for error messages.
    #[must_use]
    pub fn config(endpoint: &str, token: Secret, team_id: Option<&str>) -> HttpConfig {
        let mut config = HttpConfig::new(PROVIDER, endpoint, Auth::Bearer(token));
        config.account = Some(account(team_id));
        config
    }

    /// A client for `endpoint` (`None`: [`DEFAULT_ENDPOINT`]) with default policy.
    pub fn connect(
        endpoint: Option<&str>,
        token: Secret,
        team_id: Option<String>,
        metrics: Arc<HttpMetrics>,
    ) -> Result<Self> {
        let config = Self::config(
            endpoint.unwrap_or(DEFAULT_ENDPOINT),
            token,
            team_id.as_deref(),
        );
        Ok(Self::new(ProviderHttp::new(config, metrics)?, team_id))
    }

    /// The HTTP layer (for its circuit state and metrics).
    #[must_use]
    pub fn http(&self) -> &ProviderHttp {
        &self.http
    }

    /// The team every call is scoped to; `None` is the personal account.
    #[must_use]
    pub fn team_id(&self) -> Option<&str> {
        self.team_id.as_deref()
    }

    /// Sends `call` in the client's scope.
    async fn send(&self, call: Call) -> Result<Response> {
        let call = match &self.team_id {
            Some(team) => call.query("teamId", team.clone()),
            None => call,
        };
        self.http.send(call).await
    }

    /// Sends `call` in the client's scope and decodes the answer.
    async fn fetch<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        self.send(call).await?.decode(vercel::decode)
    }

    /// One cheap team-scoped read: proves the token works for the team.
    pub async fn check_access(&self) -> Result<()> {
        let call = Call::get("list deployments", "/v6/deployments").query("limit", "1");
        let _: serde_json::Value = self.fetch(call).await?;
        Ok(())
    }

    /// The project `service` (id or name).
    async fn project(&self, service: &str) -> Result<Project> {
        self.fetch(Call::get(
            "get project",
            format!("/v9/projects/{}", segment(service)),
        ))
        .await
    }
}

/// How errors name the account: "team team_abc" or "personal account".
#[must_use]
pub fn account(team_id: Option<&str>) -> String {
    team_id.map_or_else(|| "personal account".to_owned(), |t| format!("team {t}"))
}

/// `value` made safe as one path segment: project names and domains are, but the names come
/// from users, and a `/` or `?` would address another endpoint.
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_path_segments() {
        assert_eq!(account(Some("team_abc")), "team team_abc");
        assert_eq!(account(None), "personal account");
        assert_eq!(segment("prj_AbC-1.x"), "prj_AbC-1.x");
        assert_eq!(segment("a/b?c d"), "a%2Fb%3Fc%20d");
    }
}
