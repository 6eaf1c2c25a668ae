//! Vercel project domains: add, get, list, update, remove and verify, each unverified until
//! its `_vercel` TXT record exists in the sandbox's DNS, and the DNS configuration check
//! (`GET /v6/domains/{domain}/config`).

use std::time::Instant;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State as AxState},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use super::{
    Inner, Shared, State,
    auth::{body_json, err, err_with},
    ms,
    projects::find_project,
};
use crate::sandbox::faults::lock;

#[derive(Clone, Debug)]
pub(super) struct Domain {
    pub(super) name: String,
    pub(super) apex: String,
    pub(super) project_id: String,
    pub(super) verified: bool,
    pub(super) token: String,
    pub(super) created: Instant,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) redirect: Option<String>,
    pub(super) redirect_status: Option<u16>,
    pub(super) git_branch: Option<String>,
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

pub(super) async fn add_domain(
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

pub(super) async fn list_domains(
    AxState(s): AxState<Shared>,
    Path(project): Path<String>,
) -> Response {
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

pub(super) async fn get_domain(
    AxState(s): AxState<Shared>,
    Path((project, name)): Path<(String, String)>,
) -> Response {
    with_domain(&s, &project, &name, |s, inner, i| {
        s.refresh(&mut inner.domains[i]);
        Json(domain_json(&inner.domains[i])).into_response()
    })
}

pub(super) async fn update_domain(
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

pub(super) async fn remove_domain(
    AxState(s): AxState<Shared>,
    Path((project, name)): Path<(String, String)>,
) -> Response {
    with_domain(&s, &project, &name, |_, inner, i| {
        inner.domains.remove(i);
        Json(json!({})).into_response()
    })
}

pub(super) async fn verify_domain(
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

pub(super) async fn domain_config(
    AxState(s): AxState<Shared>,
    Path(domain): Path<String>,
) -> Response {
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
