//! Vercel projects: create and get, and the production alias: which deployment a project
//! serves, moved by auto-assignment, promote and rollback.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State as AxState},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Inner, Shared, State,
    auth::{body_json, err},
    deployments::{deployment_json, deployment_missing},
    ms,
};
use crate::sandbox::faults::lock;

#[derive(Clone, Debug)]
pub(super) struct Project {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) account_id: String,
    pub(super) production: Option<String>,
    pub(super) auto_assign: bool,
    pub(super) last_alias_request: Value,
    pub(super) created_at: i64,
}

pub(super) fn find_project<'a>(
    inner: &'a Inner,
    id_or_name: &str,
) -> Result<&'a Project, Response> {
    inner
        .projects
        .iter()
        .find(|p| p.id == id_or_name || p.name == id_or_name)
        .ok_or_else(|| err(StatusCode::NOT_FOUND, "not_found", "Project not found"))
}

/// Point the project's production at `id` (aliases move; the old one keeps its history).
pub(super) fn promote_now(inner: &mut Inner, project_id: &str, id: &str, kind: Option<&str>) {
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

pub(super) fn project_json_bare(p: &Project) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "accountId": p.account_id,
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

pub(super) async fn create_project(AxState(s): AxState<Shared>, body: Bytes) -> Response {
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

pub(super) async fn get_project(
    AxState(s): AxState<Shared>,
    Path(project): Path<String>,
) -> Response {
    let inner = lock(&s.inner);
    match find_project(&inner, &project) {
        Ok(p) => Json(project_json(&inner, p)).into_response(),
        Err(e) => e,
    }
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

pub(super) async fn promote(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    alias_change(&s, &project, &id, "promote")
}

pub(super) async fn rollback(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    alias_change(&s, &project, &id, "rollback")
}
