//! The Vercel REST simulator: deployments (create, get, list, cancel, delete) with the
//! `readyState` machine `QUEUED → BUILDING → INITIALIZING → READY | ERROR`, promote and
//! rollback, project environment variables (upsert, types, sensitive values never returned) and
//! project domains (unverified until their TXT record exists, `/verify`, DNS config).
//!
//! Errors use `{"error": {"code", "message", …}}`; every response carries `X-RateLimit-*`
//! (reset in epoch seconds). The token belongs to one team, [`TEAM_ID`] (slug [`TEAM_SLUG`]):
//! a `teamId`/`slug` naming another scope is refused with Vercel's 403, none at all is the
//! token's own scope.
//!
//! ```text
//!   routes ── auth (token, team scope, error shapes)
//!     ├── deployments  create · get · list · cancel · delete, the readyState pipeline
//!     ├── projects     create · get, promote · rollback (production aliases)
//!     ├── env          list · get · upsert (one or an array) · edit · delete
//!     └── domains      add · get · list · verify · remove, DNS config
//! ```

mod auth;
mod deployments;
mod domains;
mod env;
mod projects;
mod routes;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::extract::Query;
use chrono::Utc;
use serde_json::{Value, json};

use self::{
    deployments::{Deployment, deployment_json},
    domains::Domain,
    env::Env,
    projects::{Project, project_json_bare},
};
use super::{AppTarget, Common, Snapshot, faults::lock};
pub(crate) use routes::router;

/// The team the sandbox's token belongs to by default ([`crate::sandbox::Fixtures::vercel_team`]).
pub const TEAM_ID: &str = "team_sandbox";
/// That team's slug.
pub const TEAM_SLUG: &str = "sandbox";

#[derive(Default)]
struct Inner {
    projects: Vec<Project>,
    deployments: Vec<Deployment>,
    envs: HashMap<String, Vec<Env>>,
    domains: Vec<Domain>,
}

/// The simulator's state.
pub struct State {
    common: Common,
    /// The team the token belongs to.
    team: String,
    inner: Mutex<Inner>,
}

fn ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl State {
    pub(crate) fn new(common: Common, projects: &[String], team: &str) -> Self {
        let s = Self {
            common,
            team: team.to_owned(),
            inner: Mutex::new(Inner::default()),
        };
        for name in projects {
            let p = s.new_project(name);
            lock(&s.inner).projects.push(p);
        }
        s
    }

    fn new_project(&self, name: &str) -> Project {
        Project {
            id: self.common.id("prj_"),
            name: name.to_string(),
            account_id: self.team.clone(),
            production: None,
            auto_assign: true,
            last_alias_request: Value::Null,
            created_at: ms(),
        }
    }

    /// Resolve a hostname served by Vercel: a deployment URL, `<project>.vercel.app`, or a
    /// project domain (the last two serve the production deployment).
    pub(crate) fn app(&self, host: &str) -> Option<AppTarget> {
        let inner = lock(&self.inner);
        if let Some(d) = inner.deployments.iter().find(|d| d.url == host) {
            return Some(AppTarget {
                deployment: d.id.clone(),
                ready: d.state == "READY",
            });
        }
        let project = inner
            .projects
            .iter()
            .find(|p| format!("{}.vercel.app", p.name) == host)
            .or_else(|| {
                let d = inner.domains.iter().find(|d| d.name == host)?;
                inner.projects.iter().find(|p| p.id == d.project_id)
            })?;
        let id = project.production.clone()?;
        let ready = inner
            .deployments
            .iter()
            .any(|d| d.id == id && d.state == "READY");
        Some(AppTarget {
            deployment: id,
            ready,
        })
    }
}

impl Snapshot for State {
    fn snapshot(&self) -> Value {
        let inner = lock(&self.inner);
        json!({
            "projects": inner.projects.iter().map(project_json_bare).collect::<Vec<_>>(),
            "deployments": inner.deployments.iter().map(deployment_json).collect::<Vec<_>>(),
            "domains": inner.domains.iter().map(|d| json!({"name": d.name, "projectId": d.project_id, "verified": d.verified})).collect::<Vec<_>>(),
            "envCount": inner.envs.values().map(Vec::len).sum::<usize>(),
            // Every entry by project id, with a digest instead of the value: tests can check
            // that a sensitive value arrived without the admin API ever showing one.
            "envs": inner.envs.iter().map(|(project, list)| (project.clone(), Value::Array(list.iter().map(env::admin_json).collect()))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

type Shared = Arc<State>;
type Q = Query<HashMap<String, String>>;
