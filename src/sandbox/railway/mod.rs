//! The Railway public API simulator: `POST /graphql/v2`, a real GraphQL schema (async-graphql)
//! with the subset of Railway's schema in `providers.md` — project/environment/service lookup,
//! service instances, deployments with `DeploymentStatus` (`QUEUED → BUILDING → DEPLOYING →
//! SUCCESS | FAILED`; the previous `SUCCESS` becomes `REMOVED`), redeploy and rollback,
//! variables (upsert, collection upsert with `replace`, delete; writes redeploy unless
//! `skipDeploys`), service domains and custom domains with their DNS-record status.
//!
//! Auth: `Authorization: Bearer <account token>` or `Project-Access-Token: <project token>`;
//! anything else makes each root field fail with `Not Authorized` (HTTP 200, GraphQL `errors`).
//!
//! # Layout
//! - [`schema`]: scalars, shared object types and the merged query/mutation roots;
//! - [`state`]: the in-memory rows and the hostnames the apps server resolves;
//! - [`lookup`]: project, environment, service and service-instance queries;
//! - [`deployments`]: the deployment state machine, its queries and build logs;
//!   [`deploy_actions`]: the deploy, redeploy, rollback, cancel and remove mutations;
//! - [`variables`]: variable reads (with reference rendering) and writes;
//! - [`domain_types`] and [`domains`]: service and custom domains with their DNS status;
//! - [`auth`]: who is calling and scope checks; [`http`]: the axum route and error shapes.

mod auth;
mod deploy_actions;
mod deployments;
mod domain_types;
mod domains;
mod http;
mod lookup;
mod schema;
mod state;
mod variables;

pub(crate) use http::router;
pub use state::State;

type GqlResult<T> = async_graphql::Result<T>;
