//! Railway's public GraphQL API (`POST /graphql/v2`, `Authorization: Bearer <token>`), bound to
//! one project environment.
//!
//! Every operation is one GraphQL document sent as a POST. Queries are marked idempotent, so
//! the HTTP layer may retry them after a 429/5xx; mutations are not, except the declarative
//! ones (the variable collection upsert, deletes), because repeating `serviceInstanceDeployV2`,
//! `deploymentRollback` or `customDomainCreate` creates a second object. Railway reports most
//! errors inside an HTTP 200 (`errors[]`); [`Response::decode`] turns them into the typed
//! [`Error`] (`Not Authorized` → `CredentialsRejected` naming the account, rate limits →
//! `RateLimited`, "… not found" → `NotFound`).
//!
//! The capabilities live in [`deploys`], [`variables`] and [`domains`].

pub mod deploys;
pub mod domains;
pub mod variables;

use std::{collections::BTreeMap, sync::Arc};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::providers::{
    Error, Result,
    http::{Auth, Call, HttpConfig, HttpMetrics, ProviderHttp, Response, Secret},
    models::railway,
};

/// The provider's display name, used in errors and (lower-cased) in metrics.
pub const PROVIDER: &str = "Railway";

/// Railway's public GraphQL endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://backboard.railway.com/graphql/v2";

/// A Railway client acting in one environment of one project.
#[derive(Clone, Debug)]
pub struct RailwayClient {
    http: ProviderHttp,
    project_id: String,
    environment_id: String,
    skip_deploys: bool,
}

impl RailwayClient {
    /// A client over an existing HTTP layer (one per token: clients of several environments
    /// share it, and with it the budget and the circuit).
    #[must_use]
    pub fn new(
        http: ProviderHttp,
        project_id: impl Into<String>,
        environment_id: impl Into<String>,
    ) -> Self {
        Self {
            http,
            project_id: project_id.into(),
            environment_id: environment_id.into(),
            skip_deploys: false,
        }
    }

    /// The HTTP policy for `endpoint` (the full GraphQL URL, [`DEFAULT_ENDPOINT`] for
    /// Railway itself) with an account token; `account` names the token's owner in errors.
    #[must_use]
    pub fn config(endpoint: &str, token: Secret, account: impl Into<String>) -> HttpConfig {
        let mut config = HttpConfig::new(PROVIDER, endpoint, Auth::Bearer(token));
        config.account = Some(account.into());
        config
    }

    /// A client for `project_id`/`environment_id` at `endpoint` with default policy.
    pub fn connect(
        endpoint: &str,
        token: Secret,
        account: impl Into<String>,
        metrics: Arc<HttpMetrics>,
        project_id: impl Into<String>,
        environment_id: impl Into<String>,
    ) -> Result<Self> {
        let http = ProviderHttp::new(Self::config(endpoint, token, account), metrics)?;
        Ok(Self::new(http, project_id, environment_id))
    }

    /// Whether variable writes skip Railway's automatic redeploy of the service (default:
    /// no, so a changed value reaches the running service as it would from the dashboard).
    #[must_use]
    pub fn with_skip_deploys(mut self, skip: bool) -> Self {
        self.skip_deploys = skip;
        self
    }

    /// The HTTP layer (for its circuit state and metrics).
    #[must_use]
    pub fn http(&self) -> &ProviderHttp {
        &self.http
    }

    /// The project this client acts in.
    #[must_use]
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The environment this client acts in.
    #[must_use]
    pub fn environment_id(&self) -> &str {
        &self.environment_id
    }

    /// Reads the bound environment of the bound project: proves the token works and both
    /// ids exist, with one query.
    pub async fn check_access(&self) -> Result<()> {
        let mut variables = Map::new();
        variables.insert("id".into(), self.environment_id.clone().into());
        variables.insert("projectId".into(), self.project_id.clone().into());
        let _: Value = self
            .query(
                "read the project environment",
                "query($id: String!, $projectId: String) { environment(id: $id, projectId: $projectId) { id } }",
                variables,
            )
            .await?;
        Ok(())
    }

    /// Sends one GraphQL document. Only `idempotent` ones may be retried by the HTTP layer.
    async fn send(
        &self,
        operation: &'static str,
        document: &str,
        variables: Map<String, Value>,
        idempotent: bool,
    ) -> Result<Response> {
        let body = railway::GraphqlRequest {
            query: document.to_owned(),
            variables,
            operation_name: None,
        };
        // The endpoint is the whole URL: the call adds no path.
        let call = Call::post(operation, "")
            .idempotent(idempotent)
            .json_from(PROVIDER, &body)?;
        self.http.send(call).await
    }

    /// A query (retried on 429/5xx), decoded as `T`.
    async fn query<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        document: &str,
        variables: Map<String, Value>,
    ) -> Result<T> {
        self.send(operation, document, variables, true)
            .await?
            .decode(railway::decode)
    }

    /// A mutation, decoded as `T`; `idempotent` only for declarative ones.
    async fn mutate<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        document: &str,
        variables: Map<String, Value>,
        idempotent: bool,
    ) -> Result<T> {
        self.send(operation, document, variables, idempotent)
            .await?
            .decode(railway::decode)
    }

    /// A mutation whose fields return `Boolean!`; `false` means Railway declined.
    async fn mutate_ok(
        &self,
        operation: &'static str,
        document: &str,
        variables: Map<String, Value>,
        idempotent: bool,
    ) -> Result<()> {
        let answer: BTreeMap<String, bool> = self
            .mutate(operation, document, variables, idempotent)
            .await?;
        if answer.values().all(|ok| *ok) {
            Ok(())
        } else {
            Err(Error::Invalid {
                provider: PROVIDER,
                operation,
                status: 200,
                message: "Railway answered false".into(),
            })
        }
    }
}

/// GraphQL variables from `(name, value)` pairs.
fn vars<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// An input object as a GraphQL variable value.
fn input<T: Serialize>(operation: &'static str, value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Request {
        provider: PROVIDER,
        operation,
        detail: e.to_string(),
    })
}

/// Whether Railway's answer says the object is already there ("Domain is already in use",
/// "… already exists"): the text of its duplicate errors is unverified, so match loosely.
fn is_duplicate(error: &Error) -> bool {
    match error {
        Error::Conflict { .. } => true,
        Error::Invalid { message, .. } => message.to_ascii_lowercase().contains("already"),
        _ => false,
    }
}
