//! The Vercel REST simulator: deployments (create, get, list, cancel, delete) with the
//! `readyState` machine `QUEUED → BUILDING → INITIALIZING → READY | ERROR`, promote and
//! rollback, project environment variables (upsert, types, sensitive values never returned) and
//! project domains (unverified until their TXT record exists, `/verify`, DNS config).
//!
//! Errors use `{"error": {"code", "message", …}}`; every response carries `X-RateLimit-*`
//! (reset in epoch seconds). `teamId`/`slug` query parameters are accepted and ignored.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State as AxState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::{
    AppTarget, Common, Phase, Snapshot, World, assemble,
    faults::{Dialect, Faults, RateInfo, bearer, lock, x_ratelimit},
};

#[derive(Clone, Debug)]
struct Project {
    id: String,
    name: String,
    production: Option<String>,
    auto_assign: bool,
    last_alias_request: Value,
    created_at: i64,
}

#[derive(Clone, Debug)]
struct Deployment {
    id: String,
    url: String,
    name: String,
    project_id: String,
    target: Option<String>,
    state: &'static str,
    substate: Option<&'static str>,
    served_prod: bool,
    created_at: i64,
    building_at: Option<i64>,
    ready: Option<i64>,
    canceled_at: Option<i64>,
    meta: Value,
    git_source: Value,
    error: Option<(&'static str, &'static str, &'static str)>,
    alias: Vec<String>,
    alias_assigned: bool,
}

#[derive(Clone, Debug)]
struct Env {
    id: String,
    key: String,
    value: String,
    ciphertext: String,
    kind: String,
    target: Vec<String>,
    git_branch: Option<String>,
    comment: Option<String>,
    created_at: i64,
    updated_at: i64,
}

#[derive(Clone, Debug)]
struct Domain {
    name: String,
    apex: String,
    project_id: String,
    verified: bool,
    token: String,
    created: Instant,
    created_at: i64,
    updated_at: i64,
    redirect: Option<String>,
    redirect_status: Option<u16>,
    git_branch: Option<String>,
}

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
    inner: Mutex<Inner>,
}

fn ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl State {
    pub(crate) fn new(common: Common, projects: &[String]) -> Self {
        let s = Self {
            common,
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

    fn advance(&self, id: &str, phase: Phase) -> bool {
        let mut inner = lock(&self.inner);
        let inner = &mut *inner;
        let Some(d) = inner.deployments.iter_mut().find(|d| d.id == id) else {
            return false;
        };
        if d.state == "CANCELED" {
            return false;
        }
        let now = ms();
        match phase {
            Phase::Building => {
                d.state = "BUILDING";
                d.building_at = Some(now);
            }
            Phase::Deploying => d.state = "INITIALIZING",
            Phase::Failed => {
                d.state = "ERROR";
                d.error = Some((
                    "BUILD_FAILED",
                    "Command \"npm run build\" exited with 1",
                    "build",
                ));
            }
            Phase::Ready => {
                d.state = "READY";
                d.ready = Some(now);
                d.alias_assigned = true;
                if d.target.as_deref() == Some("production") {
                    let project_id = d.project_id.clone();
                    let id = d.id.clone();
                    let auto = inner
                        .projects
                        .iter()
                        .any(|p| p.id == project_id && p.auto_assign);
                    if auto {
                        promote_now(inner, &project_id, &id, None);
                    } else if let Some(d) = inner.deployments.iter_mut().find(|d| d.id == id) {
                        d.substate = Some("STAGED");
                    }
                }
            }
        }
        true
    }
}

/// Point the project's production at `id` (aliases move; the old one keeps its history).
fn promote_now(inner: &mut Inner, project_id: &str, id: &str, kind: Option<&str>) {
    let domains: Vec<String> = inner
        .domains
        .iter()
        .filter(|d| d.project_id == project_id && d.git_branch.is_none())
        .map(|d| d.name.clone())
        .collect();
    let Some(p) = inner.projects.iter_mut().find(|p| p.id == project_id) else {
        return;
    };
    let previous = p.production.replace(id.to_string());
    let mut alias = vec![format!("{}.vercel.app", p.name)];
    alias.extend(domains);
    match kind {
        Some("rollback") => p.auto_assign = false,
        Some(_) => p.auto_assign = true,
        None => {}
    }
    if let Some(kind) = kind {
        p.last_alias_request = json!({
            "fromDeploymentId": previous,
            "toDeploymentId": id,
            "jobStatus": "succeeded",
            "requestedAt": ms(),
            "type": kind,
        });
    }
    for d in inner.deployments.iter_mut() {
        if d.project_id != project_id {
            continue;
        }
        if d.id == id {
            d.alias = alias.clone();
            d.alias_assigned = true;
            d.served_prod = true;
            d.substate = Some("PROMOTED");
        } else if d.alias.iter().any(|a| alias.contains(a)) {
            d.alias.retain(|a| !alias.contains(a));
        }
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
        })
    }
}

fn err(status: StatusCode, code: &str, message: &str) -> Response {
    err_with(status, code, message, Map::new())
}

fn err_with(status: StatusCode, code: &str, message: &str, extra: Map<String, Value>) -> Response {
    let mut e = Map::new();
    e.insert("code".into(), code.into());
    e.insert("message".into(), message.into());
    e.extend(extra);
    (status, Json(json!({"error": e}))).into_response()
}

struct VercelDialect {
    token: String,
}

impl Dialect for VercelDialect {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        bearer(headers) == Some(self.token.as_str())
    }
    fn unauthorized(&self, headers: &HeaderMap) -> Response {
        let mut extra = Map::new();
        if bearer(headers).is_none() {
            extra.insert("missingToken".into(), true.into());
            err_with(
                StatusCode::FORBIDDEN,
                "forbidden",
                "The request is missing an authentication token",
                extra,
            )
        } else {
            extra.insert("invalidToken".into(), true.into());
            err_with(StatusCode::FORBIDDEN, "forbidden", "Not authorized", extra)
        }
    }
    fn server_error(&self, status: StatusCode) -> Response {
        err(
            status,
            "internal_server_error",
            "An unexpected internal error occurred",
        )
    }
    fn rate_limited(&self, info: &RateInfo) -> Response {
        let mut extra = Map::new();
        extra.insert("name".into(), "api-sandbox".into());
        extra.insert(
            "limit".into(),
            json!({
                "total": info.limit,
                "remaining": 0,
                "reset": info.reset_at,
                "resetMs": info.reset_at * 1000,
            }),
        );
        err_with(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &format!(
                "Too many requests - try again in {} seconds (more than {}, code: \"api-sandbox\").",
                info.retry_after, info.limit
            ),
            extra,
        )
    }
    fn rate_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        x_ratelimit(headers, info, info.reset_at);
    }
}

type Shared = Arc<State>;
type Q = Query<HashMap<String, String>>;

pub(crate) fn router(
    state: Shared,
    token: &str,
    faults: Arc<Faults>,
    world: &Arc<World>,
) -> Router {
    let api = Router::new()
        .route("/v13/deployments", post(create_deployment))
        .route(
            "/v13/deployments/{id}",
            get(get_deployment).delete(delete_deployment),
        )
        .route("/v6/deployments", get(list_deployments))
        .route("/v7/deployments", get(list_deployments))
        .route("/v12/deployments/{id}/cancel", patch(cancel_deployment))
        .route("/v10/projects/{project}/promote/{id}", post(promote))
        .route("/v1/projects/{project}/rollback/{id}", post(rollback))
        .route("/v11/projects", post(create_project))
        .route("/v9/projects/{project}", get(get_project))
        .route(
            "/v10/projects/{project}/env",
            get(list_env).post(create_env),
        )
        .route("/v1/projects/{project}/env/{id}", get(get_env))
        .route(
            "/v9/projects/{project}/env/{id}",
            patch(edit_env).delete(delete_env),
        )
        .route("/v10/projects/{project}/domains", post(add_domain))
        .route("/v9/projects/{project}/domains", get(list_domains))
        .route(
            "/v9/projects/{project}/domains/{domain}",
            get(get_domain).patch(update_domain).delete(remove_domain),
        )
        .route(
            "/v9/projects/{project}/domains/{domain}/verify",
            post(verify_domain),
        )
        .route("/v6/domains/{domain}/config", get(domain_config))
        .fallback(|| async {
            err(
                StatusCode::NOT_FOUND,
                "not_found",
                "The requested endpoint was not found",
            )
        })
        .with_state(state.clone());
    assemble(
        api,
        Arc::new(VercelDialect {
            token: token.to_string(),
        }),
        faults,
        world,
        state,
    )
}

fn body_json(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| {
        err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("Invalid JSON: {e}"),
        )
    })
}

fn find_project<'a>(inner: &'a Inner, id_or_name: &str) -> Result<&'a Project, Response> {
    inner
        .projects
        .iter()
        .find(|p| p.id == id_or_name || p.name == id_or_name)
        .ok_or_else(|| err(StatusCode::NOT_FOUND, "not_found", "Project not found"))
}

fn deployment_missing() -> Response {
    err(
        StatusCode::NOT_FOUND,
        "not_found",
        "The deployment could not be found.",
    )
}

fn deployment_json(d: &Deployment) -> Value {
    let (code, message, step) = d.error.unwrap_or_default();
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    json!({
        "id": d.id,
        "url": d.url,
        "name": d.name,
        "projectId": d.project_id,
        "readyState": d.state,
        "status": d.state,
        "readySubstate": d.substate,
        "target": d.target,
        "alias": d.alias,
        "aliasAssigned": d.alias_assigned,
        "aliasError": null,
        "aliasWarning": null,
        "errorCode": some(code),
        "errorMessage": some(message),
        "errorStep": some(step),
        "readyStateReason": null,
        "createdAt": d.created_at,
        "buildingAt": d.building_at,
        "ready": d.ready,
        "canceledAt": d.canceled_at,
        "inspectorUrl": format!("https://vercel.com/sandbox/{}/{}", d.name, d.id.trim_start_matches("dpl_")),
        "meta": d.meta,
        "gitSource": d.git_source,
        "checksState": "completed",
        "checksConclusion": "skipped",
        "type": "LAMBDAS",
    })
}

fn list_item(d: &Deployment) -> Value {
    json!({
        "uid": d.id,
        "name": d.name,
        "url": d.url,
        "created": d.created_at,
        "createdAt": d.created_at,
        "buildingAt": d.building_at,
        "ready": d.ready,
        "state": d.state,
        "readyState": d.state,
        "readySubstate": d.substate,
        "target": d.target,
        "meta": d.meta,
        "creator": {"uid": "sandbox-user", "username": "sandbox"},
        "inspectorUrl": format!("https://vercel.com/sandbox/{}/{}", d.name, d.id.trim_start_matches("dpl_")),
        "isRollbackCandidate": d.served_prod && d.state == "READY",
        "projectId": d.project_id,
        "source": if d.git_source.is_null() { "api" } else { "git" },
        "type": "LAMBDAS",
    })
}

fn project_json_bare(p: &Project) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "accountId": "team_sandbox",
        "createdAt": p.created_at,
        "updatedAt": p.created_at,
        "framework": null,
        "lastAliasRequest": p.last_alias_request,
        "autoAssignCustomDomains": p.auto_assign,
    })
}

fn project_json(inner: &Inner, p: &Project) -> Value {
    let mut v = project_json_bare(p);
    let production = p
        .production
        .as_ref()
        .and_then(|id| inner.deployments.iter().find(|d| &d.id == id))
        .map(deployment_json);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("targets".into(), json!({"production": production}));
        let latest: Vec<Value> = inner
            .deployments
            .iter()
            .rev()
            .filter(|d| d.project_id == p.id)
            .take(5)
            .map(deployment_json)
            .collect();
        obj.insert("latestDeployments".into(), latest.into());
    }
    v
}

async fn create_project(AxState(s): AxState<Shared>, body: Bytes) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let Some(name) = v.get("name").and_then(Value::as_str) else {
        return err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Invalid request: missing required property `name`.",
        );
    };
    let project = s.new_project(name);
    let mut inner = lock(&s.inner);
    if inner.projects.iter().any(|p| p.name == name) {
        return err(
            StatusCode::CONFLICT,
            "conflict",
            "A project with that name already exists.",
        );
    }
    let out = project_json(&inner, &project);
    inner.projects.push(project);
    Json(out).into_response()
}

async fn get_project(AxState(s): AxState<Shared>, Path(project): Path<String>) -> Response {
    let inner = lock(&s.inner);
    match find_project(&inner, &project) {
        Ok(p) => Json(project_json(&inner, p)).into_response(),
        Err(e) => e,
    }
}

async fn create_deployment(AxState(s): AxState<Shared>, body: Bytes) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let str_field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let Some(name) = str_field("name") else {
        return err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Invalid request: should have required property 'name'.",
        );
    };
    if v.get("files").is_some() && v.get("gitSource").is_some() {
        return err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Invalid request: `files` and `gitSource` are mutually exclusive.",
        );
    }
    if let Some(gs) = v.get("gitSource") {
        let kinds = [
            "github",
            "github-limited",
            "gitlab",
            "bitbucket",
            "vercel",
            "cursor-origin",
        ];
        if !gs
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| kinds.contains(&t))
        {
            return err(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Invalid request: `gitSource.type` should be one of github, github-limited, gitlab, bitbucket, vercel, cursor-origin.",
            );
        }
    }
    let target = match v.get("target") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => {
            return err(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Invalid request: `target` should be a string.",
            );
        }
    };
    let project_key = str_field("project").unwrap_or_else(|| name.clone());
    let fate = s.common.faults.build_fate();
    let id = s.common.id("dpl_");
    let suffix = s.common.random(b"abcdefghijklmnopqrstuvwxyz0123456789", 9);
    let fresh_project = s.new_project(&project_key);
    let mut inner = lock(&s.inner);
    let base = match str_field("deploymentId") {
        Some(from) => match inner.deployments.iter().find(|d| d.id == from) {
            Some(d) => Some(d.clone()),
            None => return deployment_missing(),
        },
        None => None,
    };
    let project_id = match (
        &base,
        inner
            .projects
            .iter()
            .find(|p| p.id == project_key || p.name == project_key),
    ) {
        (Some(b), _) => b.project_id.clone(),
        (None, Some(p)) => p.id.clone(),
        (None, None) => {
            let pid = fresh_project.id.clone();
            inner.projects.push(fresh_project);
            pid
        }
    };
    let d = Deployment {
        id: id.clone(),
        url: format!("{name}-{suffix}-sandbox.vercel.app"),
        name: name.clone(),
        project_id,
        target,
        state: "QUEUED",
        substate: None,
        served_prod: false,
        created_at: ms(),
        building_at: None,
        ready: None,
        canceled_at: None,
        meta: v
            .get("meta")
            .cloned()
            .or_else(|| base.as_ref().map(|b| b.meta.clone()))
            .unwrap_or_else(|| json!({})),
        git_source: v
            .get("gitSource")
            .cloned()
            .or_else(|| base.as_ref().map(|b| b.git_source.clone()))
            .unwrap_or(Value::Null),
        error: None,
        alias: Vec::new(),
        alias_assigned: false,
    };
    let out = deployment_json(&d);
    inner.deployments.push(d);
    drop(inner);
    let state = s.clone();
    s.common
        .pipeline(fate, move |phase| state.advance(&id, phase));
    Json(out).into_response()
}

async fn get_deployment(AxState(s): AxState<Shared>, Path(id): Path<String>) -> Response {
    let inner = lock(&s.inner);
    let host = id.trim_start_matches("https://");
    match inner
        .deployments
        .iter()
        .find(|d| d.id == id || d.url == host)
    {
        Some(d) => Json(deployment_json(d)).into_response(),
        None => deployment_missing(),
    }
}

async fn delete_deployment(AxState(s): AxState<Shared>, Path(id): Path<String>) -> Response {
    let mut inner = lock(&s.inner);
    match inner.deployments.iter().position(|d| d.id == id) {
        Some(i) => {
            let d = inner.deployments.remove(i);
            for p in inner.projects.iter_mut() {
                if p.production.as_deref() == Some(&d.id) {
                    p.production = None;
                }
            }
            Json(json!({"uid": d.id, "state": "DELETED"})).into_response()
        }
        None => deployment_missing(),
    }
}

async fn cancel_deployment(AxState(s): AxState<Shared>, Path(id): Path<String>) -> Response {
    let mut inner = lock(&s.inner);
    let Some(d) = inner.deployments.iter_mut().find(|d| d.id == id) else {
        return deployment_missing();
    };
    if !matches!(d.state, "QUEUED" | "BUILDING" | "INITIALIZING") {
        return err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Only deployments that are queued or building can be canceled.",
        );
    }
    d.state = "CANCELED";
    d.canceled_at = Some(ms());
    Json(deployment_json(d)).into_response()
}

async fn list_deployments(AxState(s): AxState<Shared>, Query(q): Q) -> Response {
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let until: Option<i64> = q.get("until").and_then(|u| u.parse().ok());
    let since: Option<i64> = q.get("since").and_then(|u| u.parse().ok());
    let states: Option<Vec<&str>> = q.get("state").map(|s| s.split(',').collect());
    let inner = lock(&s.inner);
    let project_ids: Vec<String> = q
        .get("projectId")
        .or_else(|| q.get("app"))
        .map(|p| {
            inner
                .projects
                .iter()
                .filter(|x| &x.id == p || &x.name == p)
                .map(|x| x.id.clone())
                .collect()
        })
        .unwrap_or_default();
    let matching: Vec<&Deployment> = inner
        .deployments
        .iter()
        .rev()
        .filter(|d| {
            (!q.contains_key("projectId") && !q.contains_key("app"))
                || project_ids.contains(&d.project_id)
        })
        .filter(|d| {
            q.get("target")
                .is_none_or(|t| d.target.as_deref() == Some(t.as_str()))
        })
        .filter(|d| states.as_ref().is_none_or(|s| s.contains(&d.state)))
        .filter(|d| until.is_none_or(|u| d.created_at < u))
        .filter(|d| since.is_none_or(|u| d.created_at > u))
        .filter(|d| {
            q.get("rollbackCandidate")
                .is_none_or(|r| (r == "true") == (d.served_prod && d.state == "READY"))
        })
        .collect();
    let page: Vec<Value> = matching.iter().take(limit).map(|d| list_item(d)).collect();
    let next = (matching.len() > limit)
        .then(|| matching.get(limit - 1).map(|d| d.created_at))
        .flatten();
    Json(json!({
        "pagination": {"count": page.len(), "next": next, "prev": matching.first().map(|d| d.created_at)},
        "deployments": page,
    }))
    .into_response()
}

fn alias_change(s: &State, project: &str, id: &str, kind: &str) -> Response {
    let mut inner = lock(&s.inner);
    let project_id = match find_project(&inner, project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let Some(d) = inner
        .deployments
        .iter()
        .find(|d| d.id == id && d.project_id == project_id)
    else {
        return deployment_missing();
    };
    if d.state != "READY" {
        return err(
            StatusCode::BAD_REQUEST,
            "deployment_not_ready",
            &format!("The deployment {id} is not READY (it is {}).", d.state),
        );
    }
    if kind == "rollback" && (d.target.as_deref() != Some("production") || !d.served_prod) {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_rollback_target",
            "Only deployments that have served production traffic can be rolled back to.",
        );
    }
    promote_now(&mut inner, &project_id, id, Some(kind));
    StatusCode::CREATED.into_response()
}

async fn promote(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    alias_change(&s, &project, &id, "promote")
}

async fn rollback(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    alias_change(&s, &project, &id, "rollback")
}

const TARGETS: &[&str] = &["production", "preview", "development"];
const ENV_TYPES: &[&str] = &["system", "encrypted", "plain", "sensitive"];

fn env_json(e: &Env, decrypt: bool) -> Value {
    let (value, decrypted) = match e.kind.as_str() {
        "sensitive" => (String::new(), false),
        "encrypted" if !decrypt => (e.ciphertext.clone(), false),
        "encrypted" => (e.value.clone(), true),
        _ => (e.value.clone(), false),
    };
    json!({
        "id": e.id,
        "key": e.key,
        "value": value,
        "type": e.kind,
        "target": e.target,
        "gitBranch": e.git_branch,
        "comment": e.comment,
        "configurationId": null,
        "createdAt": e.created_at,
        "updatedAt": e.updated_at,
        "createdBy": "sandbox-user",
        "updatedBy": "sandbox-user",
        "decrypted": decrypted,
        "system": e.kind == "system",
    })
}

async fn list_env(
    AxState(s): AxState<Shared>,
    Path(project): Path<String>,
    Query(q): Q,
) -> Response {
    let inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let decrypt = q.get("decrypt").is_some_and(|d| d == "true" || d == "1");
    let envs: Vec<Value> = inner
        .envs
        .get(&pid)
        .map(|v| {
            v.iter()
                .filter(|e| {
                    q.get("gitBranch")
                        .is_none_or(|b| e.git_branch.as_deref() == Some(b.as_str()))
                })
                .map(|e| env_json(e, decrypt))
                .collect()
        })
        .unwrap_or_default();
    Json(json!({"envs": envs, "pagination": {"count": envs.len(), "next": null, "prev": null}}))
        .into_response()
}

fn env_missing() -> Response {
    err(
        StatusCode::NOT_FOUND,
        "not_found",
        "Environment Variable not found",
    )
}

async fn get_env(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    let inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    match inner
        .envs
        .get(&pid)
        .and_then(|v| v.iter().find(|e| e.id == id))
    {
        Some(e) => Json(env_json(e, true)).into_response(),
        None => env_missing(),
    }
}

/// Check one env item; `Err` is the `error` object of a `failed[]` entry.
/// One valid env item.
struct EnvItem {
    key: String,
    value: String,
    kind: String,
    target: Vec<String>,
    git_branch: Option<String>,
    comment: Option<String>,
}

fn check_env(item: &Value) -> Result<EnvItem, Value> {
    let fail = |code: &str, message: &str, key: Option<&str>| json!({"code": code, "message": message, "key": key});
    let key = item.get("key").and_then(Value::as_str);
    let Some(key) = key.filter(|k| {
        !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit())
    }) else {
        return Err(fail(
            "invalid_key",
            "The key must contain only letters, digits and underscores and must not start with a digit.",
            key,
        ));
    };
    let Some(value) = item.get("value").and_then(Value::as_str) else {
        return Err(fail(
            "invalid_value",
            "`value` must be a string.",
            Some(key),
        ));
    };
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("encrypted");
    if !ENV_TYPES.contains(&kind) {
        return Err(fail(
            "invalid_type",
            "`type` must be one of system, encrypted, plain, sensitive.",
            Some(key),
        ));
    }
    let target: Vec<String> = item
        .get("target")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if target.is_empty() || target.iter().any(|t| !TARGETS.contains(&t.as_str())) {
        return Err(fail(
            "invalid_target",
            "`target` must be a non-empty subset of production, preview, development.",
            Some(key),
        ));
    }
    if kind == "sensitive" && target.iter().any(|t| t == "development") {
        return Err(fail(
            "invalid_sensitive_target",
            "Sensitive Environment Variables cannot be created in the Development environment.",
            Some(key),
        ));
    }
    let git_branch = item
        .get("gitBranch")
        .and_then(Value::as_str)
        .map(str::to_string);
    if git_branch.is_some() && target != ["preview"] {
        return Err(fail(
            "git_branch_requires_preview",
            "`gitBranch` is only allowed with target [\"preview\"].",
            Some(key),
        ));
    }
    let comment = item
        .get("comment")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(EnvItem {
        key: key.to_string(),
        value: value.to_string(),
        kind: kind.to_string(),
        target,
        git_branch,
        comment,
    })
}

async fn create_env(
    AxState(s): AxState<Shared>,
    Path(project): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let upsert = q.get("upsert").is_some_and(|u| u == "true" || u == "1");
    let (items, single) = match v {
        Value::Array(a) => (a, false),
        obj @ Value::Object(_) => (vec![obj], true),
        _ => {
            return err(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Invalid request: body must be an object or an array.",
            );
        }
    };
    let ids: Vec<(String, String)> = items
        .iter()
        .map(|_| (s.common.id(""), format!("enc_{}", s.common.hex(48))))
        .collect();
    let mut inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let envs = inner.envs.entry(pid).or_default();
    let mut created = Vec::new();
    let mut failed = Vec::new();
    for (item, (id, cipher)) in items.iter().zip(ids) {
        let EnvItem {
            key,
            value,
            kind,
            target,
            git_branch,
            comment,
        } = match check_env(item) {
            Ok(x) => x,
            Err(e) => {
                failed.push(json!({"error": e}));
                continue;
            }
        };
        let now = ms();
        let clash = envs.iter().position(|e| {
            e.key == key
                && e.git_branch == git_branch
                && e.target.iter().any(|t| target.contains(t))
        });
        match clash {
            Some(i) if upsert => {
                let e = &mut envs[i];
                e.value = value;
                e.kind = kind;
                e.target = target;
                e.comment = comment;
                e.updated_at = now;
                created.push(env_json(e, false));
            }
            Some(i) => failed.push(json!({"error": {
                "code": "ENV_CONFLICT",
                "message": format!("A variable with the name `{key}` already exists for the target {} on branch {}", envs[i].target.join(","), git_branch.as_deref().unwrap_or("")),
                "key": key,
                "envVarId": envs[i].id,
                "envVarKey": key,
                "target": envs[i].target,
                "gitBranch": git_branch,
            }})),
            None => {
                let e = Env {
                    id,
                    key,
                    value,
                    ciphertext: cipher,
                    kind,
                    target,
                    git_branch,
                    comment,
                    created_at: now,
                    updated_at: now,
                };
                created.push(env_json(&e, false));
                envs.push(e);
            }
        }
    }
    if single {
        if let Some(f) = failed.first() {
            let e = f.get("error").cloned().unwrap_or(Value::Null);
            let code = e
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("bad_request");
            let message = e.get("message").and_then(Value::as_str).unwrap_or("");
            let extra = e.as_object().cloned().unwrap_or_default();
            return err_with(StatusCode::BAD_REQUEST, code, message, extra);
        }
        let one = created.into_iter().next().unwrap_or(Value::Null);
        return (
            StatusCode::CREATED,
            Json(json!({"created": one, "failed": []})),
        )
            .into_response();
    }
    (
        StatusCode::CREATED,
        Json(json!({"created": created, "failed": failed})),
    )
        .into_response()
}

async fn edit_env(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let Some(e) = inner
        .envs
        .get_mut(&pid)
        .and_then(|v| v.iter_mut().find(|e| e.id == id))
    else {
        return env_missing();
    };
    let mut merged = env_json(e, true);
    if e.kind == "sensitive"
        && let Some(m) = merged.as_object_mut()
    {
        m.insert("value".into(), e.value.clone().into());
    }
    if let (Some(m), Some(patch)) = (merged.as_object_mut(), v.as_object()) {
        for k in ["key", "value", "type", "target", "gitBranch", "comment"] {
            if let Some(x) = patch.get(k) {
                m.insert(k.into(), x.clone());
            }
        }
    }
    let EnvItem {
        key,
        value,
        kind,
        target,
        git_branch,
        comment,
    } = match check_env(&merged) {
        Ok(x) => x,
        Err(x) => {
            let code = x
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("bad_request");
            let message = x.get("message").and_then(Value::as_str).unwrap_or("");
            return err(StatusCode::BAD_REQUEST, code, message);
        }
    };
    e.key = key;
    e.value = value;
    e.kind = kind;
    e.target = target;
    e.git_branch = git_branch;
    e.comment = comment;
    e.updated_at = ms();
    Json(env_json(e, true)).into_response()
}

async fn delete_env(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    let mut inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let Some(v) = inner.envs.get_mut(&pid) else {
        return env_missing();
    };
    match v.iter().position(|e| e.id == id) {
        Some(i) => Json(env_json(&v.remove(i), false)).into_response(),
        None => env_missing(),
    }
}

fn apex(name: &str) -> String {
    let labels: Vec<&str> = name.split('.').collect();
    labels[labels.len().saturating_sub(2)..].join(".")
}

impl State {
    /// Re-check a domain's verification (Vercel re-checks in the background too).
    fn refresh(&self, d: &mut Domain) {
        if d.verified || self.common.faults.domains_never_verify() {
            return;
        }
        let world = &self.common.world;
        if world.exists("TXT", &format!("_vercel.{}", d.apex), &d.token)
            || world.verified_by_delay(d.created.elapsed())
        {
            d.verified = true;
            d.updated_at = ms();
        }
    }
}

fn domain_json(d: &Domain) -> Value {
    let mut v = json!({
        "name": d.name,
        "apexName": d.apex,
        "projectId": d.project_id,
        "redirect": d.redirect,
        "redirectStatusCode": d.redirect_status,
        "gitBranch": d.git_branch,
        "customEnvironmentId": null,
        "createdAt": d.created_at,
        "updatedAt": d.updated_at,
        "verified": d.verified,
    });
    if !d.verified
        && let Some(m) = v.as_object_mut()
    {
        m.insert(
            "verification".into(),
            json!([{
                "type": "TXT",
                "domain": format!("_vercel.{}", d.apex),
                "value": d.token,
                "reason": "pending_domain_verification",
            }]),
        );
    }
    v
}

fn domain_missing(name: &str) -> Response {
    err(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("The domain \"{name}\" was not found in this project."),
    )
}

async fn add_domain(
    AxState(s): AxState<Shared>,
    Path(project): Path<String>,
    body: Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let Some(name) = v
        .get("name")
        .and_then(Value::as_str)
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
        .filter(|n| n.contains('.'))
    else {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_domain",
            "Invalid request: `name` must be a valid domain.",
        );
    };
    let redirect_status = v
        .get("redirectStatusCode")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    if redirect_status.is_some_and(|c| ![301, 302, 307, 308].contains(&c)) {
        return err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Invalid request: `redirectStatusCode` should be one of 301, 302, 307, 308.",
        );
    }
    let token = format!("vc-domain-verify={name},{}", s.common.hex(20));
    let mut inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    if inner.domains.iter().any(|d| d.name == name) {
        return err(
            StatusCode::CONFLICT,
            "domain_already_in_use",
            &format!("The domain \"{name}\" is already in use by a project."),
        );
    }
    let now = ms();
    let d = Domain {
        apex: apex(&name),
        name,
        project_id: pid,
        verified: false,
        token,
        created: Instant::now(),
        created_at: now,
        updated_at: now,
        redirect: v
            .get("redirect")
            .and_then(Value::as_str)
            .map(str::to_string),
        redirect_status,
        git_branch: v
            .get("gitBranch")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let out = domain_json(&d);
    inner.domains.push(d);
    Json(out).into_response()
}

async fn list_domains(AxState(s): AxState<Shared>, Path(project): Path<String>) -> Response {
    let mut inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let mut out = Vec::new();
    for d in inner.domains.iter_mut().filter(|d| d.project_id == pid) {
        s.refresh(d);
        out.push(domain_json(d));
    }
    Json(json!({"domains": out, "pagination": {"count": out.len(), "next": null, "prev": null}}))
        .into_response()
}

fn with_domain(
    s: &State,
    project: &str,
    name: &str,
    f: impl FnOnce(&State, &mut Inner, usize) -> Response,
) -> Response {
    let mut inner = lock(&s.inner);
    let pid = match find_project(&inner, project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    match inner
        .domains
        .iter()
        .position(|d| d.project_id == pid && d.name == name)
    {
        Some(i) => f(s, &mut inner, i),
        None => domain_missing(name),
    }
}

async fn get_domain(
    AxState(s): AxState<Shared>,
    Path((project, name)): Path<(String, String)>,
) -> Response {
    with_domain(&s, &project, &name, |s, inner, i| {
        s.refresh(&mut inner.domains[i]);
        Json(domain_json(&inner.domains[i])).into_response()
    })
}

async fn update_domain(
    AxState(s): AxState<Shared>,
    Path((project, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    with_domain(&s, &project, &name, |_, inner, i| {
        let d = &mut inner.domains[i];
        if let Some(r) = v.get("redirect") {
            d.redirect = r.as_str().map(str::to_string);
        }
        if let Some(r) = v.get("redirectStatusCode") {
            d.redirect_status = r.as_u64().and_then(|c| u16::try_from(c).ok());
        }
        if let Some(b) = v.get("gitBranch") {
            d.git_branch = b.as_str().map(str::to_string);
        }
        d.updated_at = ms();
        Json(domain_json(d)).into_response()
    })
}

async fn remove_domain(
    AxState(s): AxState<Shared>,
    Path((project, name)): Path<(String, String)>,
) -> Response {
    with_domain(&s, &project, &name, |_, inner, i| {
        inner.domains.remove(i);
        Json(json!({})).into_response()
    })
}

async fn verify_domain(
    AxState(s): AxState<Shared>,
    Path((project, name)): Path<(String, String)>,
) -> Response {
    with_domain(&s, &project, &name, |s, inner, i| {
        let d = &mut inner.domains[i];
        s.refresh(d);
        if d.verified {
            Json(domain_json(d)).into_response()
        } else {
            let mut extra = Map::new();
            extra.insert("name".into(), d.name.clone().into());
            extra.insert(
                "verification".into(),
                domain_json(d)["verification"].clone(),
            );
            err_with(
                StatusCode::BAD_REQUEST,
                "missing_txt_record",
                &format!(
                    "Domain _vercel.{} is missing required TXT Record \"{}\"",
                    d.apex, d.token
                ),
                extra,
            )
        }
    })
}

/// Vercel's anycast address and CNAME target, as published in its docs.
const VERCEL_A: &str = "76.76.21.21";
const VERCEL_CNAME: &str = "cname.vercel-dns.com";

async fn domain_config(AxState(s): AxState<Shared>, Path(domain): Path<String>) -> Response {
    let world = &s.common.world;
    let configured_by = if world.exists("A", &domain, VERCEL_A) {
        Some("A")
    } else if world.exists("CNAME", &domain, VERCEL_CNAME) {
        Some("CNAME")
    } else {
        None
    };
    Json(json!({
        "configuredBy": configured_by,
        "acceptedChallenges": ["dns-01", "http-01"],
        "recommendedIPv4": [{"rank": 1, "value": [VERCEL_A]}],
        "recommendedCNAME": [{"rank": 1, "value": format!("{VERCEL_CNAME}.")}],
        "misconfigured": configured_by.is_none(),
    }))
    .into_response()
}
