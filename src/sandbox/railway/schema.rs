//! The schema's shared pieces: the `DateTime` scalar, Relay connections, the lookup object
//! types, and the query and mutation roots merged from each concern's resolvers.

use async_graphql::{MergedObject, SimpleObject};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{
    deploy_actions::DeploymentMutations,
    deployments::{Deployment, DeploymentQueries},
    domain_types::AllDomains,
    domains::{DomainMutations, DomainQueries},
    lookup::LookupQueries,
    variables::{VariableMutations, VariableQueries},
};

/// The query root: every concern's queries under one `Query` type.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    LookupQueries,
    DeploymentQueries,
    VariableQueries,
    DomainQueries,
);

/// The mutation root.
#[derive(MergedObject, Default)]
pub struct MutationRoot(DeploymentMutations, VariableMutations, DomainMutations);

/// `DateTime`: RFC 3339.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GqlDateTime(String);
async_graphql::scalar!(GqlDateTime, "DateTime");

pub(super) fn dt(t: DateTime<Utc>) -> GqlDateTime {
    GqlDateTime(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    pub(super) has_next_page: bool,
    pub(super) has_previous_page: bool,
    pub(super) start_cursor: Option<String>,
    pub(super) end_cursor: Option<String>,
}

/// Relay-style connection types, one pair per node type (as Railway names them).
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        #[derive(SimpleObject, Clone, Debug)]
        pub struct $edge {
            cursor: String,
            node: $node,
        }
        #[derive(SimpleObject, Clone, Debug)]
        pub struct $conn {
            edges: Vec<$edge>,
            page_info: PageInfo,
        }
        impl $conn {
            pub(super) fn page(
                nodes: Vec<$node>,
                first: Option<i32>,
                after: Option<String>,
            ) -> Self {
                let start = after
                    .and_then(|a| nodes.iter().position(|n| n.id == a).map(|i| i + 1))
                    .unwrap_or(0);
                let take = first.map_or(usize::MAX, |f| usize::try_from(f).unwrap_or(0));
                let total = nodes.len();
                let edges: Vec<$edge> = nodes
                    .into_iter()
                    .skip(start)
                    .take(take)
                    .map(|node| $edge {
                        cursor: node.id.clone(),
                        node,
                    })
                    .collect();
                Self {
                    page_info: PageInfo {
                        has_next_page: start + edges.len() < total,
                        has_previous_page: start > 0,
                        start_cursor: edges.first().map(|e| e.cursor.clone()),
                        end_cursor: edges.last().map(|e| e.cursor.clone()),
                    },
                    edges,
                }
            }
        }
    };
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Environment {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) project_id: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct Service {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) project_id: String,
}

connection!(
    ProjectEnvironmentsConnection,
    ProjectEnvironmentsConnectionEdge,
    Environment
);
connection!(
    ProjectServicesConnection,
    ProjectServicesConnectionEdge,
    Service
);
connection!(
    QueryEnvironmentsConnection,
    QueryEnvironmentsConnectionEdge,
    Environment
);
connection!(
    QueryDeploymentsConnection,
    QueryDeploymentsConnectionEdge,
    Deployment
);
connection!(
    QueryProjectsConnection,
    QueryProjectsConnectionEdge,
    Project
);

#[derive(SimpleObject, Clone, Debug)]
pub struct Project {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) workspace_id: Option<String>,
    pub(super) created_at: GqlDateTime,
    pub(super) environments: ProjectEnvironmentsConnection,
    pub(super) services: ProjectServicesConnection,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ServiceSource {
    pub(super) repo: Option<String>,
    pub(super) image: Option<String>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ServiceInstance {
    pub(super) id: String,
    pub(super) service_id: String,
    pub(super) service_name: String,
    pub(super) environment_id: String,
    pub(super) source: Option<ServiceSource>,
    pub(super) latest_deployment: Option<Deployment>,
    pub(super) active_deployments: Vec<Deployment>,
    pub(super) domains: AllDomains,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct ProjectToken {
    pub(super) project_id: String,
    pub(super) environment_id: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct User {
    pub(super) id: String,
    pub(super) email: String,
    pub(super) name: Option<String>,
}
