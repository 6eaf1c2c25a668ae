//! The simulator's in-memory state: the fixture project with its environments and services,
//! and every deployment, variable and domain created since. Rows live here; each concern's
//! module changes its own rows under the one lock.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    deployments::{DepRow, DeploymentStatus},
    domains::{CustomDomainRow, ServiceDomainRow},
    schema::{Environment, Service},
};
use crate::sandbox::{AppTarget, Common, Fixtures, Snapshot, Tokens, faults::lock};

#[derive(Clone, Debug, Serialize)]
pub(super) struct ProjectRow {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) workspace_id: String,
    pub(super) created_at: DateTime<Utc>,
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) projects: Vec<ProjectRow>,
    pub(super) environments: Vec<Environment>,
    pub(super) services: Vec<Service>,
    pub(super) deployments: Vec<DepRow>,
    /// (environment, service or `None` for shared) → name → value.
    pub(super) variables: HashMap<(String, Option<String>), BTreeMap<String, String>>,
    /// How often each variable was written, keyed `environment/service/NAME` (`-` for
    /// shared): tests see from it which values a sync rewrote.
    pub(super) variable_writes: BTreeMap<String, u64>,
    pub(super) service_domains: Vec<ServiceDomainRow>,
    pub(super) custom_domains: Vec<CustomDomainRow>,
}

/// The simulator's state.
pub struct State {
    pub(super) common: Common,
    pub(super) tokens: Tokens,
    pub(super) inner: Mutex<Inner>,
}

impl State {
    pub(crate) fn new(common: Common, fixtures: &Fixtures, tokens: Tokens) -> Self {
        let id_of = |f: &crate::sandbox::Fixture| f.id.clone().unwrap_or_else(|| common.uuid());
        let project_id = id_of(&fixtures.railway_project);
        let mut inner = Inner {
            projects: vec![ProjectRow {
                id: project_id.clone(),
                name: fixtures.railway_project.name.clone(),
                workspace_id: common.uuid(),
                created_at: Utc::now() - ChronoDuration::days(30),
            }],
            ..Inner::default()
        };
        for f in &fixtures.railway_environments {
            inner.environments.push(Environment {
                id: id_of(f),
                name: f.name.clone(),
                project_id: project_id.clone(),
            });
        }
        for f in &fixtures.railway_services {
            inner.services.push(Service {
                id: id_of(f),
                name: f.name.clone(),
                project_id: project_id.clone(),
            });
        }
        Self {
            common,
            tokens,
            inner: Mutex::new(inner),
        }
    }

    /// Resolve a hostname served by Railway (service domain, custom domain, static URL).
    pub(crate) fn app(&self, host: &str) -> Option<AppTarget> {
        let inner = lock(&self.inner);
        if let Some(d) = inner.deployments.iter().find(|d| d.static_url == host) {
            return Some(AppTarget {
                deployment: d.id.clone(),
                ready: d.status == DeploymentStatus::Success,
            });
        }
        let (env, svc) = inner
            .service_domains
            .iter()
            .find(|d| d.domain == host)
            .map(|d| (d.env_id.clone(), d.service_id.clone()))
            .or_else(|| {
                inner
                    .custom_domains
                    .iter()
                    .find(|d| d.domain == host)
                    .map(|d| (d.env_id.clone(), d.service_id.clone()))
            })?;
        let active = inner.deployments.iter().rev().find(|d| {
            d.env_id == env && d.service_id == svc && d.status == DeploymentStatus::Success
        });
        Some(match active {
            Some(d) => AppTarget {
                deployment: d.id.clone(),
                ready: true,
            },
            None => AppTarget {
                deployment: String::new(),
                ready: false,
            },
        })
    }
}

impl Snapshot for State {
    fn snapshot(&self) -> Value {
        let inner = lock(&self.inner);
        json!({
            "projects": inner.projects,
            "environments": inner.environments.iter().map(|e| json!({"id": e.id, "name": e.name, "projectId": e.project_id})).collect::<Vec<_>>(),
            "services": inner.services.iter().map(|s| json!({"id": s.id, "name": s.name, "projectId": s.project_id})).collect::<Vec<_>>(),
            "deployments": inner.deployments,
            "serviceDomains": inner.service_domains,
            "customDomains": inner.custom_domains,
            "variableWrites": inner.variable_writes,
        })
    }
}
