//! Vercel deployments: create (`POST /v13/deployments`), get, list (`/v6` and `/v7`, newest
//! first, paged by `until`), cancel and delete, and the `readyState` pipeline a new
//! deployment runs through in the background.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State as AxState},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Q, Shared, State,
    auth::{body_json, err},
    ms,
    projects::promote_now,
};
use crate::sandbox::{Phase, faults::lock};

#[derive(Clone, Debug)]
pub(super) struct Deployment {
    pub(super) id: String,
    pub(super) url: String,
    pub(super) name: String,
    pub(super) project_id: String,
    pub(super) target: Option<String>,
    pub(super) state: &'static str,
    pub(super) substate: Option<&'static str>,
    pub(super) served_prod: bool,
    pub(super) created_at: i64,
    pub(super) building_at: Option<i64>,
    pub(super) ready: Option<i64>,
    pub(super) canceled_at: Option<i64>,
    pub(super) meta: Value,
    pub(super) git_source: Value,
    pub(super) error: Option<(&'static str, &'static str, &'static str)>,
    pub(super) alias: Vec<String>,
    pub(super) alias_assigned: bool,
}

impl State {
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

pub(super) fn deployment_missing() -> Response {
    err(
        StatusCode::NOT_FOUND,
        "not_found",
        "The deployment could not be found.",
    )
}

pub(super) fn deployment_json(d: &Deployment) -> Value {
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

pub(super) fn list_item(d: &Deployment) -> Value {
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

pub(super) async fn create_deployment(AxState(s): AxState<Shared>, body: Bytes) -> Response {
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
    let git_source = v
        .get("gitSource")
        .cloned()
        .or_else(|| base.as_ref().map(|b| b.git_source.clone()))
        .unwrap_or(Value::Null);
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
        meta: git_meta(
            v.get("meta")
                .cloned()
                .or_else(|| base.as_ref().map(|b| b.meta.clone()))
                .unwrap_or_else(|| json!({})),
            &git_source,
        ),
        git_source,
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

/// `meta` with the commit keys Vercel adds to deployments of a GitHub source (lists carry
/// the commit only there).
fn git_meta(mut meta: Value, git_source: &Value) -> Value {
    let field = |k: &str| {
        git_source
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if field("type").as_deref() != Some("github") {
        return meta;
    }
    if let Some(m) = meta.as_object_mut() {
        for (key, value) in [
            ("githubCommitSha", field("sha")),
            ("githubCommitRef", field("ref")),
            ("githubCommitOrg", field("org")),
            ("githubCommitRepo", field("repo")),
        ] {
            if let Some(value) = value {
                m.entry(key).or_insert(value.into());
            }
        }
        m.entry("githubDeployment").or_insert("1".into());
    }
    meta
}

pub(super) async fn get_deployment(
    AxState(s): AxState<Shared>,
    Path(id): Path<String>,
) -> Response {
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

pub(super) async fn delete_deployment(
    AxState(s): AxState<Shared>,
    Path(id): Path<String>,
) -> Response {
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

pub(super) async fn cancel_deployment(
    AxState(s): AxState<Shared>,
    Path(id): Path<String>,
) -> Response {
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

pub(super) async fn list_deployments(AxState(s): AxState<Shared>, Query(q): Q) -> Response {
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
